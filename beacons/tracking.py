"""Sightings → presence: the pure step of the sighting flow (no I/O, no clock).

Each sighting counts at its own time, like a fix: the readings of a batch are taken in
time order, one observation per distinct ``recorded_at`` (a phone's scan reports the
beacons it heard together), so a batch spanning the dwell time can DWELL and a zone
silent for ``exit_after_s`` within the batch exits there.

Each event gets its confidence (``presence.confidence``): the zone's proximity in that
scan, ``high`` for an ENTER or DWELL at a store whose geofence (or NFC tag) placed the
user there within ``AGREEMENT_S``.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from beacons.proximity import Proximity
from beacons.zones import SOURCE, BeaconTrack, Reading, Sighting, ZoneRules, observe_zones
from geofence.core import SOURCE as GEOFENCE
from geofence.core import GeofenceIndex
from kernel.config import Settings
from presence.confidence import agreeing_stores, of_proximity, raised
from presence.core import Presence, Transition, ZoneEvent, ZoneKey, advance, kind_of


@dataclass(frozen=True, slots=True)
class SightingRules:
    zones: ZoneRules
    dwell_s: float
    max_age_s: float
    max_fix_distance_m: float
    track_ttl_s: float
    silent_after_s: float
    low_battery_mv: int
    max_skew_s: float = 30.0
    dwell_step_s: float | None = None  # DWELL checkpoints after the DWELL (presence.core)

    @classmethod
    def of(cls, settings: Settings) -> SightingRules:
        return cls(
            zones=ZoneRules(
                path_loss_exponent=settings.beacon_path_loss_exponent,
                exit_distance_m=settings.beacon_exit_distance_m,
                exit_after_s=settings.beacon_exit_after_s,
            ),
            dwell_s=settings.beacon_dwell_s,
            max_age_s=settings.max_fix_age_s,
            max_fix_distance_m=settings.beacon_max_fix_distance_m,
            track_ttl_s=settings.beacon_track_ttl_s,
            silent_after_s=settings.beacon_silent_hours * 3600,
            low_battery_mv=settings.beacon_low_battery_mv,
            max_skew_s=settings.max_clock_skew_s,
            dwell_step_s=settings.dwell_step_s,
        )


@dataclass(frozen=True, slots=True)
class Placed:
    """Where a registered beacon is, as the hot path needs it."""

    beacon_id: int
    store_id: int
    zone: str
    measured_power_1m: int
    lon: float
    lat: float


@dataclass(frozen=True, slots=True)
class TrackedSightings:
    events: list[ZoneEvent]
    accepted: int
    ignored: dict[str, int] = field(default_factory=dict)
    proximity: dict[str, Proximity] = field(default_factory=dict)


def far_from_location(
    state: Presence, placed: Iterable[Placed], index: GeofenceIndex, max_m: float
) -> set[int]:
    """Beacons farther than ``max_m`` from every store geofence the user is in."""
    fences = [
        fence
        for zone in state.zones
        if kind_of(zone) == GEOFENCE and (fence := index.get(ZoneKey.parse(zone).id)) is not None
    ]
    if not fences:
        return set()
    far: set[int] = set()
    for p in placed:
        if p.beacon_id in far or any(f.store_id == p.store_id for f in fences):
            continue
        if min(f.metres_outside(p.lon, p.lat) for f in fences) > max_m:
            far.add(p.beacon_id)
    return far


def track_sightings(
    state: Presence,
    known: Mapping[int, BeaconTrack],
    sightings: Sequence[tuple[Sighting, Placed]],
    *,
    index: GeofenceIndex,
    rules: SightingRules,
    now: float,
) -> tuple[TrackedSightings, Presence, dict[int, BeaconTrack] | None]:
    """Resolved sightings → zone events, the presence after them and the RSSI tracks to
    keep (None: leave them as they are)."""
    ignored: Counter[str] = Counter()
    fresh = [(s, p) for s, p in sightings if s.at_s >= now - rules.max_age_s]
    if len(fresh) < len(sightings):
        ignored["stale"] = len(sightings) - len(fresh)
    far = far_from_location(state, (p for _, p in fresh), index, rules.max_fix_distance_m)
    readings = [
        Reading(p.beacon_id, p.zone, p.measured_power_1m, s.rssi, s.at_s)
        for s, p in fresh
        if p.beacon_id not in far
    ]
    if len(readings) < len(fresh):
        ignored["far_from_location"] = len(fresh) - len(readings)
    # Not newer than the last accepted reading: a replay or a late batch, as for fixes.
    last_at = state.last_at.get(SOURCE, float("-inf"))
    newer = sorted((r for r in readings if r.at_s > last_at), key=lambda r: r.at_s)
    if len(newer) < len(readings):
        ignored["out_of_order"] = len(readings) - len(newer)
    if not newer:
        return TrackedSightings([], 0, dict(ignored)), state, None
    tracks = {b: t for b, t in known.items() if t.rssi.at_s >= now - rules.track_ttl_s}
    events: list[ZoneEvent] = []
    proximity: dict[str, Proximity] = {}
    for _, together in itertools.groupby(newer, key=lambda r: r.at_s):
        report = observe_zones(tracks, together, state.zones.keys(), rules.zones)
        tracks = report.tracks
        proximity.update(report.proximity)
        obs = report.observation
        assert obs is not None  # a group has at least one reading
        dwell = dict.fromkeys(obs.inside | obs.holding, rules.dwell_s)
        state, new = advance(state, obs, dwell, rules.dwell_step_s)
        if new:
            events.extend(_rated(new, state, report.proximity, obs.at, index))
    return TrackedSightings(events, len(newer), dict(ignored), proximity), state, tracks


_CORROBORATING = frozenset({GEOFENCE, "nfc"})


def _rated(
    events: list[ZoneEvent],
    state: Presence,
    heard: Mapping[str, Proximity],
    at: float,
    index: GeofenceIndex,
) -> list[ZoneEvent]:
    """A scan's events with their confidence (see the module doc)."""

    def store_of(zone: str) -> int | None:
        key = ZoneKey.parse(zone)
        if key.name is not None:
            return key.id
        fence = index.get(key.id)
        return None if fence is None else fence.store_id

    agreed = agreeing_stores(
        state.zones, state.last_at, kinds=_CORROBORATING, at=at, store_of=store_of
    )
    rated = []
    for event in events:
        proximity = heard.get(event.zone)
        confidence = of_proximity(None if proximity is None else proximity.value)
        if event.transition is not Transition.EXIT:
            confidence = raised(confidence, ZoneKey.parse(event.zone).id in agreed)
        rated.append(replace(event, confidence=confidence))
    return rated
