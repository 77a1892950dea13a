"""Fixes → presence: the pure step of the location flow (no I/O, no clock).

Fixes are screened (``geofence.core.screen``), matched in one batch against the index,
and each accepted fix is one observation at its own time, so a batch spanning the
dwell time can DWELL. Hysteresis keeps the user in a fence while a fix lies within
``max(accuracy, exit margin)`` of it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from geofence.core import SOURCE, Fix, GeofenceIndex, Screening, observe, screen
from presence.core import Presence, ZoneEvent, ZoneKey, advance


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
    accepted: list[Fix] = []
    for fix in sorted(fixes, key=lambda f: f.at):
        why = screen(fix, last_at=last_at, now=now, rules=rules)
        if why is None:
            accepted.append(fix)
            last_at = fix.at
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
            events.extend(new)
    return Tracked(events, len(accepted), ignored), state


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
