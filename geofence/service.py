"""Geofence CRUD for store staff, and the location hot path for app users."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from shapely.geometry import mapping
from sqlalchemy.orm import Session

from geofence import repository
from geofence.core import Fence, Fix, GeofenceIndex, Screening
from geofence.models import Geofence
from geofence.placement import check_near_store
from geofence.shapes import parse_shape
from geofence.tracking import Tracked, track_fixes, zone_stores
from kernel import versions
from kernel.db import after_commit
from kernel.errors import PayloadTooLarge
from kernel.metrics import count_fixes
from kernel.principal import Staff
from presence.core import Presence, clock_offset
from presence.flow import DecideEvents, Stepped, advance_presence
from presence.store import PresenceStore
from stores.repository import managed_by
from stores.service import get_store


def to_fence(row: Geofence) -> Fence:
    return Fence(row.id, row.store_id, row.geometry, row.radius_m, row.dwell_s)


def fence_by_id(session: Session, fence_id: int) -> Fence | None:
    row = session.get(Geofence, fence_id)
    return None if row is None else to_fence(row)


# After commit: the geofence's id and the fence-set version the transaction bumped to.
GeofenceChanged = Callable[[int, int | None], None]
DEFAULT_MAX_SPREAD_KM = 50.0


def _get_owned(session: Session, staff: Staff, geofence_id: int) -> Geofence:
    return repository.get(session, geofence_id, managed_by(staff))


def create_geofence(
    session: Session,
    *,
    staff: Staff,
    store_id: int,
    name: str,
    geometry: dict[str, Any],
    radius_m: float | None,
    dwell_s: int,
    on_change: GeofenceChanged,
    max_spread_km: float = DEFAULT_MAX_SPREAD_KM,
) -> Geofence:
    get_store(session, staff=staff, store_id=store_id)
    shape = parse_shape(geometry, radius_m)
    check_near_store(
        session, store_id=store_id, point_or_shape=shape, what="the geofence", max_km=max_spread_km
    )
    row = Geofence(store_id=store_id, name=name, geometry=shape, radius_m=radius_m, dwell_s=dwell_s)
    session.add(row)
    session.flush()
    _after_change(session, row.id, on_change)
    return row


def _after_change(session: Session, geofence_id: int, on_change: GeofenceChanged) -> None:
    version = versions.bumped(session, versions.GEOFENCES)
    after_commit(session, lambda: on_change(geofence_id, version))


def get_geofence(session: Session, *, staff: Staff, geofence_id: int) -> Geofence:
    return _get_owned(session, staff, geofence_id)


def list_geofences(
    session: Session, *, staff: Staff, store_id: int, after: int, limit: int
) -> list[Geofence]:
    get_store(session, staff=staff, store_id=store_id)
    return repository.of_store(session, store_id, after=after, limit=limit)


def replace_geofence(
    session: Session,
    *,
    staff: Staff,
    geofence_id: int,
    name: str,
    geometry: dict[str, Any],
    radius_m: float | None,
    dwell_s: int | None,
    on_change: GeofenceChanged,
    max_spread_km: float = DEFAULT_MAX_SPREAD_KM,
) -> Geofence:
    """A redraw: every field replaced, except an omitted ``dwell_s`` (None), kept."""
    row = _get_owned(session, staff, geofence_id)
    dwell_s = row.dwell_s if dwell_s is None else dwell_s
    shape = parse_shape(geometry, radius_m)
    check_near_store(
        session,
        store_id=row.store_id,
        point_or_shape=shape,
        what="the geofence",
        max_km=max_spread_km,
        exclude_id=geofence_id,
    )
    row.name, row.geometry, row.radius_m, row.dwell_s = name, shape, radius_m, dwell_s
    session.flush()
    _after_change(session, geofence_id, on_change)
    return row


def update_geofence(
    session: Session,
    *,
    staff: Staff,
    geofence_id: int,
    changes: dict[str, Any],
    on_change: GeofenceChanged,
    max_spread_km: float = DEFAULT_MAX_SPREAD_KM,
) -> Geofence:
    """A partial change (PATCH): the fields in ``changes`` replace, the rest stay."""
    row = _get_owned(session, staff, geofence_id)
    return replace_geofence(
        session,
        staff=staff,
        geofence_id=geofence_id,
        name=changes.get("name", row.name),
        geometry=changes.get("geometry", dict(mapping(row.geometry))),
        radius_m=changes.get("radius_m", row.radius_m),
        dwell_s=changes.get("dwell_s", row.dwell_s),
        on_change=on_change,
        max_spread_km=max_spread_km,
    )


def delete_geofence(
    session: Session, *, staff: Staff, geofence_id: int, on_change: GeofenceChanged
) -> None:
    """Offers limited to this geofence alone are deactivated in the same flush, with a
    reason (``offers.models``): they must not widen to every fence of the store."""
    row = _get_owned(session, staff, geofence_id)
    session.delete(row)
    session.flush()
    _after_change(session, geofence_id, on_change)


@dataclass(frozen=True, slots=True)
class LocationOutcome:
    tracked: Tracked
    store_of: dict[str, int]
    notification_ids: list[int]


def report_locations(
    session: Session,
    *,
    user_id: int,
    fixes: Sequence[Fix],
    index: GeofenceIndex,
    presence: PresenceStore,
    rules: Screening,
    max_batch: int,
    now: float,
    decide: DecideEvents,
) -> LocationOutcome:
    """A batch of fixes from a phone: checked here, then the one presence flow."""
    if len(fixes) > max_batch:
        raise PayloadTooLarge(f"{len(fixes)} fixes in one batch; the maximum is {max_batch}")
    shift = clock_offset((f.at for f in fixes), now=now, max_skew_s=rules.max_skew_s)
    if shift:
        fixes = [replace(f, at=f.at - shift) for f in fixes]

    def step(state: Presence) -> Stepped[Tracked]:
        tracked, after = track_fixes(state, fixes, index=index, rules=rules, now=now)
        return Stepped(tracked, after, tracked.events, save=tracked.accepted > 0)

    done = advance_presence(
        session,
        user_id=user_id,
        presence=presence,
        step=step,
        now=now,
        store_of=zone_stores(index),
        decide=decide,
    )
    tracked = Tracked(done.events, done.result.accepted, done.result.ignored)
    count_fixes(tracked.accepted, tracked.ignored)
    return LocationOutcome(tracked, done.store_of, done.notification_ids)
