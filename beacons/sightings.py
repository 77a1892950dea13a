"""The sighting hot path for app users.

Sightings (``report_sightings``), in order:

1. a batch over ``max_batch`` is refused (413), a sighting from the future too (422);
2. identities resolve to registered beacons (EIDs through the process's EID table);
   unknown and retired beacons are counted and skipped;
3. a sighting already reported (same user, beacon and ``recorded_at``) is ignored;
4. fleet health learns from every sighting left, consented or not, since it names no
   one: last seen (to the minute) and Eddystone-TLM battery and temperature;
5. without the user's ``beacon_proximity`` consent nothing else is kept about them;
6. sightings older than ``max_fix_age_s`` are too late to trigger anything;
7. a beacon more than ``beacon_max_fix_distance_m`` from every store geofence the user
   is in right now (and of another store) is flagged ``far_from_location`` and does
   not feed presence: a cloned static id heard across town must not push an offer.
   Raw fixes are not kept, so the user's current geofence presence stands for "the
   last fix"; a user in no geofence is not checked;
8. the rest update the user's smoothed RSSI tracks and the one presence machine, with
   the zone rules of ``beacons.zones``; ENTER and DWELL go to the decision with
   purpose ``beacon_proximity``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial

from shapely.geometry import Point
from sqlalchemy.orm import Session

from beacons import repository
from beacons.frames import EddystoneTlm
from beacons.health import assess
from beacons.models import Beacon, BeaconStatus
from beacons.proximity import Proximity
from beacons.registry import record_event
from beacons.store import SightingStore
from beacons.sync import EidDirectory
from beacons.zones import (
    SOURCE,
    BeaconTrack,
    Reading,
    Sighting,
    ZoneRules,
    observe_zones,
    store_of_zone,
    zone_of,
)
from geofence.core import SOURCE as GEOFENCE
from geofence.core import GeofenceIndex
from geofence.service import FUTURE_SKEW_S
from kernel.config import Settings
from kernel.db import after_commit, after_rollback, hold_until_closed
from kernel.errors import Invalid, PayloadTooLarge
from notifications.service import Enqueue, on_zone_events
from preferences.service import Purpose, consented
from presence.core import Presence, ZoneEvent, advance, is_newer
from presence.store import PresenceStore

LAST_SEEN_EVERY = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class SightingRules:
    zones: ZoneRules
    dwell_s: float
    max_age_s: float
    max_fix_distance_m: float
    track_ttl_s: float
    silent_after_s: float
    low_battery_mv: int

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
        )


def replay_window_s(settings: Settings) -> int:
    """How long a sighting's replay key must live: older sightings are stale anyway."""
    return int(settings.max_fix_age_s + FUTURE_SKEW_S)


@dataclass(frozen=True, slots=True)
class Placed:
    """Where a registered beacon is, as the hot path needs it."""

    beacon_id: int
    store_id: int
    zone: str
    measured_power_1m: int
    lon: float
    lat: float

    @classmethod
    def of(cls, row: Beacon) -> Placed:
        point = row.point
        assert isinstance(point, Point)
        return cls(
            row.id, row.store_id, zone_of(row.store_id, row.zone), row.measured_power_1m,
            point.x, point.y,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class TrackedSightings:
    events: list[ZoneEvent]
    accepted: int
    ignored: dict[str, int] = field(default_factory=dict)
    proximity: dict[str, Proximity] = field(default_factory=dict)


def _far_from_location(
    state: Presence, placed: Iterable[Placed], index: GeofenceIndex, max_m: float
) -> set[int]:
    """Beacons farther than ``max_m`` from every store geofence the user is in."""
    prefix = GEOFENCE + ":"
    fences = [
        fence
        for zone in state.zones
        if zone.startswith(prefix) and (fence := index.get(int(zone[len(prefix) :]))) is not None
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
    keep (None: leave them as they are), against memory only: no I/O."""
    ignored: Counter[str] = Counter()
    fresh = [(s, p) for s, p in sightings if s.at_s >= now - rules.max_age_s]
    if len(fresh) < len(sightings):
        ignored["stale"] = len(sightings) - len(fresh)
    if not fresh:
        return TrackedSightings([], 0, dict(ignored)), state, None
    far = _far_from_location(state, (p for _, p in fresh), index, rules.max_fix_distance_m)
    readings = [
        Reading(p.beacon_id, p.zone, p.measured_power_1m, s.rssi, s.at_s)
        for s, p in fresh
        if p.beacon_id not in far
    ]
    if len(readings) < len(fresh):
        ignored["far_from_location"] = len(fresh) - len(readings)
    if not readings:
        return TrackedSightings([], 0, dict(ignored)), state, None
    live = {b: t for b, t in known.items() if t.rssi.at_s >= now - rules.track_ttl_s}
    report = observe_zones(live, readings, state.zones.keys(), rules.zones)
    tracks = dict(report.tracks)
    obs = report.observation
    if obs is None or not is_newer(state, SOURCE, obs.at):
        ignored["out_of_order"] += len(readings)
        return TrackedSightings([], 0, dict(ignored), report.proximity), state, tracks
    dwell = dict.fromkeys(obs.inside | obs.holding, rules.dwell_s)
    state, events = advance(state, obs, dwell)
    return TrackedSightings(events, len(readings), dict(ignored), report.proximity), state, tracks


def _note_seen(
    session: Session, seen: Sequence[tuple[Sighting, Beacon]], rules: SightingRules, now: float
) -> None:
    """Fleet health from anyone's sightings: last seen, telemetry, missing beacons found."""
    latest: dict[int, tuple[Beacon, float, EddystoneTlm | None, float]] = {}
    for s, row in seen:
        _, at, tlm, tlm_at = latest.get(row.id, (row, float("-inf"), None, float("-inf")))
        at = max(at, s.at_s)
        if s.tlm is not None and s.at_s >= tlm_at:
            tlm, tlm_at = s.tlm, s.at_s
        latest[row.id] = (row, at, tlm, tlm_at)
    now_dt = datetime.fromtimestamp(now, UTC)
    for row, at, tlm, tlm_at in latest.values():
        heard = datetime.fromtimestamp(min(at, now), UTC)
        if row.last_seen_at is None or heard - row.last_seen_at >= LAST_SEEN_EVERY:
            row.last_seen_at = heard
        if tlm is not None:
            told = datetime.fromtimestamp(min(tlm_at, now), UTC)
            if row.telemetry_at is None or told > row.telemetry_at:
                row.battery_mv, row.temperature_c, row.telemetry_at = (
                    tlm.battery_mv,
                    tlm.temperature_c,
                    told,
                )
        if row.status == BeaconStatus.MISSING.value:
            row.last_seen_at = max(row.last_seen_at or heard, heard)
            row.status = BeaconStatus.ACTIVE.value
            row.needs_visit, row.visit_reason, _ = assess(
                row,
                now=now_dt,
                silent_after=timedelta(seconds=rules.silent_after_s),
                low_battery_mv=rules.low_battery_mv,
            )
            record_event(session, row, "found", {"heard_at": heard.isoformat()}, None)
    session.flush()


def check_batch(count: int, max_batch: int) -> None:
    if count > max_batch:
        raise PayloadTooLarge(f"{count} sightings in one batch; the maximum is {max_batch}")


@dataclass(frozen=True, slots=True)
class SightingOutcome:
    tracked: TrackedSightings
    store_of: dict[str, int]
    notification_ids: list[int]


def report_sightings(
    session: Session,
    *,
    user_id: int,
    sightings: Sequence[Sighting],
    eids: EidDirectory,
    index: GeofenceIndex,
    presence: PresenceStore,
    tracks: SightingStore,
    rules: SightingRules,
    max_batch: int,
    policy_version: str,
    now: float,
    enqueue: Enqueue,
) -> SightingOutcome:
    """A batch of sightings from a phone: fleet health, presence, then the decision."""
    check_batch(len(sightings), max_batch)
    for s in sightings:
        if s.at_s > now + FUTURE_SKEW_S:
            raise Invalid("a sighting's recorded_at is in the future; check the phone's clock")
    ignored: Counter[str] = Counter()
    named: list[tuple[Sighting, str]] = []
    for s in sightings:
        identity = s.identity if s.eid is None else eids.resolve(s.eid, now)
        if identity is None:
            ignored["unknown"] += 1
        else:
            named.append((s, identity))
    rows = repository.by_identities(session, {identity for _, identity in named})
    resolved: list[tuple[Sighting, Beacon]] = []
    for s, identity in named:
        row = rows.get(identity)
        if row is None:
            ignored["unknown"] += 1
        elif row.status == BeaconStatus.RETIRED.value:
            ignored["retired"] += 1
        else:
            resolved.append((s, row))
    keys = [f"{user_id}:{b.id}:{round(s.at_s * 1000)}" for s, b in resolved]
    firsts = tracks.first_seen(keys)
    # Marked now so a concurrent resend is caught; unmarked if this transaction fails, so
    # the phone's retry is not taken for a replay.
    marked = [k for k, ok in zip(keys, firsts, strict=True) if ok]
    after_rollback(session, partial(tracks.forget_seen, marked))
    first = [pair for pair, ok in zip(resolved, firsts, strict=True) if ok]
    if len(first) < len(resolved):
        ignored["replayed"] = len(resolved) - len(first)
    _note_seen(session, first, rules, now)

    tracked = TrackedSightings([], 0)
    if first and not consented(
        session, user_id=user_id, purpose=Purpose.BEACON_PROXIMITY, default_policy=policy_version
    ):
        ignored["no_consent"] = len(first)
    elif first:
        # As for fixes: presence locked until the transaction ends, written after commit.
        hold_until_closed(session, presence.locked(user_id))
        tracked, state, kept = track_sightings(
            presence.load(user_id),
            tracks.load_tracks(user_id),
            [(s, Placed.of(row)) for s, row in first],
            index=index,
            rules=rules,
            now=now,
        )
        if kept is not None:
            after_commit(session, partial(tracks.save_tracks, user_id, kept))
        if tracked.accepted:
            after_commit(session, partial(presence.save, user_id, state))
    ignored.update(tracked.ignored)
    tracked = TrackedSightings(tracked.events, tracked.accepted, dict(ignored), tracked.proximity)

    stores, notes = on_zone_events(
        session,
        user_id=user_id,
        events=tracked.events,
        store_of=store_of_zone,
        purpose=Purpose.BEACON_PROXIMITY,
        policy_version=policy_version,
        enqueue=enqueue,
    )
    return SightingOutcome(tracked, stores, [n.id for n in notes])
