"""The beacon registry: field techs register, move, calibrate, retire and visit beacons.

Who may do what: ``tech`` keys (and the operator) register, move, calibrate, retire and
visit beacons; a tech key acts on its stores only (none: on nothing), one made with
``all_stores`` on the whole fleet. Store staff read their own stores' beacons.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from shapely.geometry import Point
from sqlalchemy.orm import Session

from beacons import repository
from beacons.frames import (
    AltBeacon,
    EddystoneEid,
    EddystoneUid,
    IBeacon,
    MalformedFrame,
    eid_beacon_identity,
)
from beacons.models import Beacon, BeaconEvent, BeaconFormat, BeaconStatus
from beacons.proximity import calibration
from beacons.schemas import BeaconCreate, BeaconMove, BeaconPlacement, BeaconUpdate, VisitIn
from beacons.sync import EidDirectory
from geofence.placement import check_near_store
from kernel.db import after_commit, utcnow
from kernel.errors import Conflict, Forbidden, Invalid, NotFound
from kernel.principal import Role, Staff
from stores.models import Store

OnEidChange = Callable[[], None]

# Who may do what


def _require_tech(staff: Staff, store_id: int | None = None) -> None:
    if staff.role is Role.OPERATOR:
        return
    if staff.role is not Role.TECH:
        raise Forbidden("beacons are registered and changed with a field tech's API key")
    if store_id is not None and not staff.covers(store_id):
        # Outside the key's scope answers like a missing store: ids cannot be enumerated.
        raise NotFound(f"no store {store_id}")


def _require_reader(staff: Staff, store_id: int) -> None:
    if staff.role in (Role.TECH, Role.OPERATOR):
        _require_tech(staff, store_id)
    elif not staff.can_manage(store_id):
        raise NotFound(f"no store {store_id}")


def _store(session: Session, store_id: int) -> Store:
    store = session.get(Store, store_id)
    if store is None:
        raise NotFound(f"no store {store_id}")
    return store


def _beacon(
    session: Session, staff: Staff, beacon_id: int, check: Callable[[Staff, int], None]
) -> Beacon:
    """The beacon if ``check`` lets this key at its store; otherwise not found, like a
    missing one (a role that may not do this at all is still refused, 403)."""
    row = session.get(Beacon, beacon_id)
    if row is not None:
        try:
            check(staff, row.store_id)
        except NotFound:
            row = None
    if row is None:
        raise NotFound(f"no beacon {beacon_id}")
    return row


def record_event(
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


def _check_near_store(
    session: Session, data: BeaconPlacement, what: str, max_spread_km: float
) -> None:
    """Latitude and longitude swapped, both in range, put a Paris beacon off Somalia."""
    check_near_store(
        session,
        store_id=data.store_id,
        point_or_shape=Point(data.lon, data.lat),
        what=what,
        max_km=max_spread_km,
    )


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
    session: Session,
    *,
    staff: Staff,
    data: BeaconCreate,
    on_eid_change: OnEidChange,
    max_spread_km: float,
) -> Beacon:
    """A new beacon in service. An advertised measured power outside -100..+20 dBm is
    kept as heard but counts as no calibration (``calibration_required``): distances
    use the default until a calibration, rather than refusing a beacon a tech holds.
    A place farther than ``max_spread_km`` from the store's geofences is refused."""
    _store(session, data.store_id)
    _require_tech(staff, data.store_id)
    _check_near_store(session, data, "the beacon", max_spread_km)
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
    details = {
        **_placement(row),
        "identity": row.identity,
        "measured_power_1m": row.measured_power_1m,
    }
    if calibration(row.measured_power_1m) is None:
        details["calibration_required"] = True
    record_event(session, row, "registered", details, staff)
    if ident.eid is not None:
        after_commit(session, on_eid_change)
    return row


def get_beacon(session: Session, *, staff: Staff, beacon_id: int) -> Beacon:
    return _beacon(session, staff, beacon_id, _require_reader)


def _writable(session: Session, staff: Staff, beacon_id: int) -> Beacon:
    row = _beacon(session, staff, beacon_id, _require_tech)
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
        record_event(
            session, row, "calibrated", {"from": before, "to": row.measured_power_1m}, staff
        )
    if data.floor is not None and data.floor != row.floor:
        record_event(
            session, row, "updated", {"floor": {"from": row.floor, "to": data.floor}}, staff
        )
        row.floor = data.floor
    session.flush()
    return row


def move_beacon(
    session: Session, *, staff: Staff, beacon_id: int, data: BeaconMove, max_spread_km: float
) -> Beacon:
    """A new place: status ``moved`` until calibrated there; as at registration, not
    farther than ``max_spread_km`` from the store's geofences."""
    row = _writable(session, staff, beacon_id)
    if data.store_id != row.store_id:
        _store(session, data.store_id)
        _require_tech(staff, data.store_id)
    _check_near_store(session, data, f"beacon {beacon_id}", max_spread_km)
    before = _placement(row)
    row.store_id, row.zone, row.floor = data.store_id, data.zone, data.floor
    row.point = Point(data.lon, data.lat)
    row.status = BeaconStatus.MOVED.value
    session.flush()
    record_event(session, row, "moved", {"from": before, "to": _placement(row)}, staff)
    return row


def retire_beacon(
    session: Session, *, staff: Staff, beacon_id: int, on_eid_change: OnEidChange
) -> Beacon:
    row = _writable(session, staff, beacon_id)
    row.status = BeaconStatus.RETIRED.value
    row.needs_visit, row.visit_reason = False, None
    session.flush()
    record_event(session, row, "retired", {}, staff)
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
    record_event(session, row, "visited", details, staff)
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
    return repository.needing_visit(session, staff.scope, after=after, limit=limit)


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
    return {a: b for a, b in found.items() if staff.covers(b.store_id)}
