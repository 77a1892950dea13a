"""Fixes → presence: the pure step of the location flow (no I/O, no clock).

Fixes are screened (``geofence.screening.screen``, then ``geofence.jumps.too_fast`` against
the last accepted fix: a teleport is ignored and moves nothing), matched in one batch
against the index, and each accepted fix is one observation at its own time, so a batch
spanning the dwell time can DWELL. Hysteresis keeps the user in a fence while a fix lies
within ``max(accuracy, exit margin)`` of it. The last accepted fix is kept in presence
for the next batch's jump check.

Each event gets its confidence (``presence.confidence``): the fix's accuracy against the
fence's size, ``high`` for an ENTER or DWELL at a store whose beacon zone (or NFC tag)
placed the user there within ``AGREEMENT_S``. Rated only when a fix makes events, so a
fix that changes nothing costs nothing more.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from geofence.core import SOURCE, Fence, GeofenceIndex
from geofence.jumps import too_fast
from geofence.screening import Fix, Rejection, Screening, observe, screen
from presence.confidence import Confidence, agreeing_stores, of_fix, raised
from presence.core import LastFix, Presence, Transition, ZoneEvent, ZoneKey, advance

# Sources whose zones at a store corroborate a fix there (their key names the store).
_CORROBORATING = frozenset({"beacon", "nfc"})


@dataclass(frozen=True, slots=True)
class Tracked:
    events: list[ZoneEvent]
    accepted: int
    ignored: dict[str, int] = field(default_factory=dict)


def track_fixes(
    state: Presence,
    fixes: Sequence[Fix],
    *,
    index: GeofenceIndex,
    rules: Screening,
    now: float,
) -> tuple[Tracked, Presence]:
    """Fixes → zone events and the presence after them, against memory only."""
    ignored: dict[str, int] = {}
    events: list[ZoneEvent] = []
    last_at = state.last_at.get(SOURCE, float("-inf"))
    last: Fix | LastFix | None = state.fix
    accepted: list[Fix] = []
    for fix in sorted(fixes, key=lambda f: f.at):
        why = screen(fix, last_at=last_at, now=now, rules=rules)
        if why is None and too_fast(fix, last, max_speed_kmh=rules.max_speed_kmh):
            why = Rejection.TELEPORT
        if why is None:
            accepted.append(fix)
            last_at = fix.at
            last = fix  # kept coarsened once, for the batch's last accepted fix
        else:
            ignored[why.value] = ignored.get(why.value, 0) + 1
    if accepted:
        hits = index.containing([f.lon for f in accepted], [f.lat for f in accepted])
        for fix, inside in zip(accepted, hits, strict=True):
            obs = observe(fix, inside, state.zones.keys(), index, rules)
            dwell = {f.zone: f.dwell_s for f in inside}
            for zone in obs.holding:
                fence = index.get(ZoneKey.parse(zone).id)
                if fence is not None:
                    dwell[zone] = fence.dwell_s
            state, new = advance(state, obs, dwell, rules.dwell_step_s)
            if new:
                events.extend(_rated(new, fix, state, inside, index))
        final = accepted[-1]
        state = replace(state, fix=LastFix.of(final.lon, final.lat, final.accuracy_m, final.at))
    return Tracked(events, len(accepted), ignored), state


def _rated(
    events: list[ZoneEvent],
    fix: Fix,
    state: Presence,
    inside: Iterable[Fence],
    index: GeofenceIndex,
) -> list[ZoneEvent]:
    """A fix's events with their confidence (see the module doc)."""
    agreed = agreeing_stores(
        state.zones, state.last_at, kinds=_CORROBORATING, at=fix.at, store_of=_named_store
    )
    fences = {f.zone: f for f in inside}
    rated = []
    for event in events:
        fence = fences.get(event.zone) or index.get(ZoneKey.parse(event.zone).id)
        if fence is None:  # an EXIT of a fence deleted since
            confidence = Confidence.LOW
        else:
            confidence = of_fix(fix.accuracy_m, fence.radius_m_equivalent())
            if event.transition is not Transition.EXIT:
                confidence = raised(confidence, fence.store_id in agreed)
        rated.append(replace(event, confidence=confidence))
    return rated


def _named_store(zone: str) -> int | None:
    key = ZoneKey.parse(zone)
    return key.id if key.name is not None else None


def zone_stores(index: GeofenceIndex) -> Callable[[str], int | None]:
    """Each zone's store: a zone named within a store (``beacon:<store>:<name>``) carries
    it; a geofence's is in the index (``None`` once the fence is gone)."""

    def store_of(zone: str) -> int | None:
        key = ZoneKey.parse(zone)
        if key.name is not None:
            return key.id
        if key.kind == SOURCE:
            fence = index.get(key.id)
            return None if fence is None else fence.store_id
        return None

    return store_of
