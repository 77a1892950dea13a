"""The beacon registry for field techs, fleet health, and the sighting hot path for app users.

Who may do what: ``tech`` keys (and the operator) register, move, calibrate, retire and
visit beacons; a tech key bound to stores acts on those stores only, one bound to none
on the whole fleet. Store staff read their own stores' beacons.

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
   the zone rules of ``beacons.core``; ENTER and DWELL go to the decision with
   purpose ``beacon_proximity``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from shapely.geometry import Point
from sqlalchemy.orm import Session

from accounts.service import Role, Staff
from beacons import repository
from beacons.core import (
    SOURCE,
    AltBeacon,
    BeaconTrack,
    EddystoneEid,
    EddystoneTlm,
    EddystoneUid,
    IBeacon,
    MalformedFrame,
    Proximity,
    Reading,
    Sighting,
    ZoneRules,
    eid_beacon_identity,
    observe_zones,
    store_of_zone,
    zone_of,
)
from beacons.models import Beacon, BeaconEvent, BeaconFormat, BeaconStatus
from beacons.schemas import BeaconCreate, BeaconMove, BeaconUpdate, VisitIn
from beacons.store import SightingStore
from beacons.sync import EidDirectory
from geofence.core import SOURCE as GEOFENCE
from geofence.core import GeofenceIndex
from geofence.service import FUTURE_SKEW_S
from kernel.config import Settings
from kernel.db import after_commit, after_rollback, hold_until_closed, utcnow
from kernel.errors import Conflict, Forbidden, Invalid, NotFound, PayloadTooLarge
from notifications.service import Enqueue, on_zone_events
from preferences.service import Purpose, consented
from presence.core import Presence, ZoneEvent, advance, is_newer
from presence.store import PresenceStore
from stores.models import Store

OnEidChange = Callable[[], None]
LAST_SEEN_EVERY = timedelta(seconds=60)


# Who may do what


def _require_tech(staff: Staff, store_id: int | None = None) -> None:
    if staff.role is Role.OPERATOR:
        return
    if staff.role is not Role.TECH:
        raise Forbidden("beacons are registered and changed with a field tech's API key")
    if store_id is not None and staff.store_ids and store_id not in staff.store_ids:
        raise Forbidden(f"this key may not manage the beacons of store {store_id}")


def _require_reader(staff: Staff, store_id: int) -> None:
    if staff.role in (Role.TECH, Role.OPERATOR):
        _require_tech(staff, store_id)
    else:
        staff.require_store(store_id)


def _store(session: Session, store_id: int) -> Store:
    store = session.get(Store, store_id)
    if store is None:
        raise NotFound(f"no store {store_id}")
    return store


def _beacon(session: Session, beacon_id: int) -> Beacon:
    row = session.get(Beacon, beacon_id)
    if row is None:
        raise NotFound(f"no beacon {beacon_id}")
    return row


def _event(
    session: Session, beacon: Beacon, change: str, details: dict[str, Any], staff: Staff | None
) -> None:
    session.add(
        BeaconEvent(
            beacon_id=beacon.id,
            change=change,
            details=details,
            by_key_id=None if staff is None else staff.key_id,
        )
    )


def _placement(row: Beacon) -> dict[str, Any]:
    point = row.point
    assert isinstance(point, Point)
    return {
        "store_id": row.store_id,
        "zone": row.zone,
        "lon": point.x,
        "lat": point.y,
        "floor": row.floor,
    }


# Registry


@dataclass(frozen=True, slots=True)
class _Identity:
    identity: str
    format: BeaconFormat
    measured_power_1m: int | None
    eid: tuple[bytes, int, int] | None = None


_FRAME_FORMATS: dict[type, BeaconFormat] = {
    IBeacon: BeaconFormat.IBEACON,
    AltBeacon: BeaconFormat.ALTBEACON,
    EddystoneUid: BeaconFormat.EDDYSTONE_UID,
}


def _identify(data: BeaconCreate) -> _Identity:
    if data.eddystone_eid is not None:
        key = bytes.fromhex(data.eddystone_eid.identity_key)
        eid = (key, data.eddystone_eid.rotation_exponent, data.eddystone_eid.epoch_s)
        return _Identity(
            eid_beacon_identity(key), BeaconFormat.EDDYSTONE_EID, data.measured_power_1m, eid
        )
    if data.advertisement is not None:
        try:
            frames = data.advertisement.frames()
        except MalformedFrame as exc:
            raise Invalid(f"advertisement: {exc}") from exc
        named = [f for f in frames if isinstance(f, IBeacon | AltBeacon | EddystoneUid)]
        if not named and any(isinstance(f, EddystoneEid) for f in frames):
            raise Invalid(
                "an Eddystone-EID beacon rotates its id: register it with its identity key "
                "(eddystone_eid), not with an advertisement"
            )
        if not named:
            raise Invalid("the advertisement has no iBeacon, AltBeacon or Eddystone-UID frame")
        frame = named[0]
        power = data.measured_power_1m
        return _Identity(
            frame.identity,
            _FRAME_FORMATS[type(frame)],
            frame.measured_power_1m if power is None else power,
        )
    fmt = (
        BeaconFormat.IBEACON
        if data.ibeacon is not None
        else BeaconFormat.EDDYSTONE_UID
        if data.eddystone_uid is not None
        else BeaconFormat.ALTBEACON
    )
    return _Identity(data.static_identity(), fmt, data.measured_power_1m)


def register_beacon(
    session: Session, *, staff: Staff, data: BeaconCreate, on_eid_change: OnEidChange
) -> Beacon:
    _store(session, data.store_id)
    _require_tech(staff, data.store_id)
    ident = _identify(data)
    if ident.measured_power_1m is None:
        raise Invalid("measured_power_1m is needed: the RSSI at 1 m (calibrate, or see the label)")
    existing = repository.by_identity(session, ident.identity)
    if existing is not None:
        raise Conflict(f"{ident.identity} is already registered as beacon {existing.id}")
    key, exponent, epoch = ident.eid if ident.eid is not None else (None, None, None)
    row = Beacon(
        identity=ident.identity,
        format=ident.format.value,
        store_id=data.store_id,
        zone=data.zone,
        point=Point(data.lon, data.lat),
        floor=data.floor,
        measured_power_1m=ident.measured_power_1m,
        eid_identity_key=key,
        eid_rotation_exponent=exponent,
        eid_epoch_s=epoch,
        spoofable=ident.format is not BeaconFormat.EDDYSTONE_EID,
        installed_by=staff.key_id,
        status=BeaconStatus.ACTIVE.value,
        needs_visit=False,
    )
    session.add(row)
    session.flush()
    _event(
        session,
        row,
        "registered",
        {**_placement(row), "identity": row.identity, "measured_power_1m": row.measured_power_1m},
        staff,
    )
    if ident.eid is not None:
        after_commit(session, on_eid_change)
    return row


def get_beacon(session: Session, *, staff: Staff, beacon_id: int) -> Beacon:
    row = _beacon(session, beacon_id)
    _require_reader(staff, row.store_id)
    return row


def _writable(session: Session, staff: Staff, beacon_id: int) -> Beacon:
    row = _beacon(session, beacon_id)
    _require_tech(staff, row.store_id)
    if row.status == BeaconStatus.RETIRED.value:
        raise Conflict(f"beacon {beacon_id} is retired")
    return row


def update_beacon(session: Session, *, staff: Staff, beacon_id: int, data: BeaconUpdate) -> Beacon:
    """Calibration (measured power) and floor; a calibration ends a move."""
    row = _writable(session, staff, beacon_id)
    if data.measured_power_1m is not None:
        before = row.measured_power_1m
        row.measured_power_1m = data.measured_power_1m
        if row.status == BeaconStatus.MOVED.value:
            row.status = BeaconStatus.ACTIVE.value
        _event(session, row, "calibrated", {"from": before, "to": row.measured_power_1m}, staff)
    if data.floor is not None and data.floor != row.floor:
        _event(session, row, "updated", {"floor": {"from": row.floor, "to": data.floor}}, staff)
        row.floor = data.floor
    session.flush()
    return row


def move_beacon(session: Session, *, staff: Staff, beacon_id: int, data: BeaconMove) -> Beacon:
    """A new place: status ``moved`` until calibrated there."""
    row = _writable(session, staff, beacon_id)
    if data.store_id != row.store_id:
        _store(session, data.store_id)
        _require_tech(staff, data.store_id)
    before = _placement(row)
    row.store_id, row.zone, row.floor = data.store_id, data.zone, data.floor
    row.point = Point(data.lon, data.lat)
    row.status = BeaconStatus.MOVED.value
    session.flush()
    _event(session, row, "moved", {"from": before, "to": _placement(row)}, staff)
    return row


def retire_beacon(
    session: Session, *, staff: Staff, beacon_id: int, on_eid_change: OnEidChange
) -> Beacon:
    row = _writable(session, staff, beacon_id)
    row.status = BeaconStatus.RETIRED.value
    row.needs_visit, row.visit_reason = False, None
    session.flush()
    _event(session, row, "retired", {}, staff)
    if row.eid_identity_key is not None:
        after_commit(session, on_eid_change)
    return row


def record_visit(session: Session, *, staff: Staff, beacon_id: int, data: VisitIn) -> Beacon:
    """A tech was there: the beacon is back in service and its silence counts from now."""
    row = _writable(session, staff, beacon_id)
    details: dict[str, Any] = {"reason": row.visit_reason}
    if data.note:
        details["note"] = data.note
    if data.battery_replaced:
        details["battery_replaced"] = True
        row.battery_mv = None  # unknown until the next telemetry
    row.visited_at = utcnow()
    row.needs_visit, row.visit_reason = False, None
    if row.status == BeaconStatus.MISSING.value:
        row.status = BeaconStatus.ACTIVE.value
    session.flush()
    _event(session, row, "visited", details, staff)
    return row


def list_store_beacons(
    session: Session, *, staff: Staff, store_id: int, after: int, limit: int
) -> list[Beacon]:
    _store(session, store_id)
    _require_reader(staff, store_id)
    return repository.of_store(session, store_id, after=after, limit=limit)


def history(
    session: Session, *, staff: Staff, beacon_id: int, after: int, limit: int
) -> list[BeaconEvent]:
    get_beacon(session, staff=staff, beacon_id=beacon_id)
    return repository.events_of(session, beacon_id, after=after, limit=limit)


def visits(session: Session, *, staff: Staff, after: int, limit: int) -> list[Beacon]:
    """Beacons a tech should visit, by store."""
    _require_tech(staff)
    scope = staff.store_ids if staff.role is Role.TECH and staff.store_ids else None
    return repository.needing_visit(session, scope, after=after, limit=limit)


def lookup(
    session: Session, *, staff: Staff, identities: Iterable[str], eids: EidDirectory, now: float
) -> dict[str, Beacon]:
    """Registered beacons by the identities a scanner heard; ephemeral EIDs are resolved."""
    _require_tech(staff)
    asked: dict[str, str] = {}
    for identity in identities:
        fmt, _, rest = identity.partition(":")
        if fmt == BeaconFormat.EDDYSTONE_EID.value:
            try:
                resolved = eids.resolve(bytes.fromhex(rest), now)
            except ValueError:
                resolved = None
            if resolved is not None:
                asked[identity] = resolved
        else:
            asked[identity] = identity
    rows = repository.by_identities(session, set(asked.values()))
    found = {a: rows[r] for a, r in asked.items() if r in rows}
    return {
        a: b
        for a, b in found.items()
        if not (staff.role is Role.TECH and staff.store_ids and b.store_id not in staff.store_ids)
    }


# Fleet health


def _assess(
    row: Beacon, *, now: datetime, silent_after: timedelta, low_battery_mv: int
) -> tuple[bool, str | None, bool]:
    """(needs a visit, why, silent)."""
    since = max(t for t in (row.last_seen_at, row.visited_at, row.installed_at) if t is not None)
    reasons = []
    silent = now - since > silent_after
    if silent:
        reasons.append(f"silent since {since:%Y-%m-%d %H:%M} UTC")
    if row.battery_mv is not None and row.battery_mv < low_battery_mv:
        reasons.append(f"battery low ({row.battery_mv} mV)")
    return bool(reasons), "; ".join(reasons) or None, silent


@dataclass(frozen=True, slots=True)
class HealthCheck:
    checked: int
    needing_visit: int
    newly_flagged: int


def check_health(
    session: Session, *, now: datetime, silent_after_s: float, low_battery_mv: int
) -> HealthCheck:
    """Mark beacons silent for too long (``missing``) or with a low battery as needing a visit.

    Idempotent: a beacon already flagged for the same reason is left as it is.
    """
    silent_after = timedelta(seconds=silent_after_s)
    checked = needing = flagged = 0
    for row in list(repository.in_service(session)):
        checked += 1
        needs, reason, silent = _assess(
            row, now=now, silent_after=silent_after, low_battery_mv=low_battery_mv
        )
        if silent and row.status != BeaconStatus.MISSING.value:
            row.status = BeaconStatus.MISSING.value
            _event(session, row, "missing", {"last_seen_at": _iso(row.last_seen_at)}, None)
        if needs and not row.needs_visit:
            flagged += 1
            _event(session, row, "needs_visit", {"reason": reason}, None)
        row.needs_visit, row.visit_reason = needs, reason
        needing += needs
    session.flush()
    return HealthCheck(checked, needing, flagged)


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


# Sightings


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
            row.needs_visit, row.visit_reason, _ = _assess(
                row,
                now=now_dt,
                silent_after=timedelta(seconds=rules.silent_after_s),
                low_battery_mv=rules.low_battery_mv,
            )
            _event(session, row, "found", {"heard_at": heard.isoformat()}, None)
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
