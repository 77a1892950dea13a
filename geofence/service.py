"""Geofence CRUD for store staff, and the location hot path for app users."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from shapely.geometry import Point, mapping
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from geofence import repository
from geofence.core import Fence, GeofenceIndex
from geofence.models import Geofence
from geofence.placement import check_near_location, check_near_others
from geofence.screening import Fix, Screening
from geofence.shapes import parse_shape
from geofence.tracking import Tracked, track_fixes, zone_stores
from kernel import versions
from kernel.db import Transact, after_commit
from kernel.errors import Conflict, PayloadTooLarge
from kernel.metrics import count_fixes
from kernel.principal import Staff
from presence.core import Presence, clock_offset
from presence.flow import (
    Advanced,
    Begun,
    DecideEvents,
    Stepped,
    advance_presence,
    advance_quietly,
    finish,
)
from presence.store import AsyncPresence, PresenceStore
from stores.models import Store
from stores.repository import managed_by
from stores.service import get_store


def to_fence(row: Geofence) -> Fence:
    return Fence(row.id, row.store_id, row.geometry, row.radius_m, row.dwell_s)


def fence_by_id(session: Session, fence_id: int) -> Fence | None:
    row = session.get(Geofence, fence_id)
    return None if row is None else to_fence(row)


# After commit: the geofence's id and the fence-set version the transaction bumped to.
GeofenceChanged = Callable[[int, int | None], None]


@dataclass(frozen=True, slots=True)
class Placement:
    """How far a geofence may lie from its store: ``VICINITY_STORE_MAX_SPREAD_KM`` from its
    other geofences, ``VICINITY_MAX_FENCE_DISTANCE_M`` from its location (when it has one)."""

    max_spread_km: float = 50.0
    max_distance_m: float = 2000.0


def _get_owned(session: Session, staff: Staff, geofence_id: int) -> Geofence:
    return repository.get(session, geofence_id, managed_by(staff))


def centres(session: Session, store_id: int) -> dict[int, Point]:
    """The centre of each of the store's geofences, by id (the spread check's reference)."""
    rows = session.execute(
        select(Geofence.id, Geofence.geometry).where(Geofence.store_id == store_id)
    )
    return {row.id: row.geometry.centroid for row in rows}


def check_placement(
    shape: BaseGeometry,
    radius_m: float | None,
    *,
    store: Store,
    others: Sequence[Point],
    placement: Placement,
) -> None:
    """``Invalid`` when the shape is far from the store's location or from ``others``
    (the centres of its other geofences)."""
    check_near_location(
        shape,
        radius_m,
        store_id=store.id,
        location=store.location,
        max_m=placement.max_distance_m,
    )
    check_near_others(
        shape, others, store_id=store.id, what="the geofence", max_km=placement.max_spread_km
    )


def _check_external_id(
    session: Session, store_id: int, external_id: str | None, geofence_id: int | None
) -> None:
    if external_id is None:
        return
    holder = repository.by_external_id(session, store_id, external_id)
    if holder is not None and holder.id != geofence_id:
        raise Conflict(
            f"store {store_id} already has a geofence with external_id {external_id!r} "
            f"(geofence {holder.id})"
        )


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
    placement: Placement = Placement(),
    external_id: str | None = None,
    tags: Sequence[str] = (),
    metadata: Mapping[str, Any] | None = None,
) -> Geofence:
    """422 for a bad or misplaced shape, 409 when the store already has ``external_id``."""
    store = get_store(session, staff=staff, store_id=store_id)
    shape = parse_shape(geometry, radius_m)
    others = list(centres(session, store_id).values())
    check_placement(shape, radius_m, store=store, others=others, placement=placement)
    _check_external_id(session, store_id, external_id, None)
    row = Geofence(
        store_id=store_id,
        name=name,
        geometry=shape,
        radius_m=radius_m,
        dwell_s=dwell_s,
        external_id=external_id,
        tags=list(tags),
        meta=dict(metadata or {}),
    )
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
    placement: Placement = Placement(),
    labels: Mapping[str, Any] | None = None,
) -> Geofence:
    """A redraw: every field replaced, except an omitted ``dwell_s`` (None), kept, and
    the labels (external_id, tags, metadata) absent from ``labels``, kept too."""
    row = _get_owned(session, staff, geofence_id)
    dwell_s = row.dwell_s if dwell_s is None else dwell_s
    labels = labels or {}
    shape = parse_shape(geometry, radius_m)
    others = [c for i, c in centres(session, row.store_id).items() if i != geofence_id]
    store = get_store(session, staff=staff, store_id=row.store_id)
    check_placement(shape, radius_m, store=store, others=others, placement=placement)
    if "external_id" in labels:
        _check_external_id(session, row.store_id, labels["external_id"], geofence_id)
        row.external_id = labels["external_id"]
    if "tags" in labels:
        row.tags = list(labels["tags"])
    if "metadata" in labels:
        row.meta = dict(labels["metadata"])
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
    placement: Placement = Placement(),
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
        placement=placement,
        labels={k: v for k, v in changes.items() if k in ("external_id", "tags", "metadata")},
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


def locations_step(
    fixes: Sequence[Fix], *, index: GeofenceIndex, rules: Screening, max_batch: int, now: float
) -> Callable[[Presence], Stepped[Tracked]]:
    """A batch of fixes from a phone, checked: the pure step the presence flow takes."""
    if len(fixes) > max_batch:
        raise PayloadTooLarge(f"{len(fixes)} fixes in one batch; the maximum is {max_batch}")
    shift = clock_offset((f.at for f in fixes), now=now, max_skew_s=rules.max_skew_s)
    if shift:
        fixes = [replace(f, at=f.at - shift) for f in fixes]

    def step(state: Presence) -> Stepped[Tracked]:
        tracked, after = track_fixes(state, fixes, index=index, rules=rules, now=now)
        return Stepped(tracked, after, tracked.events, save=tracked.accepted > 0)

    return step


def _located(done: Advanced[Tracked]) -> LocationOutcome:
    tracked = Tracked(done.events, done.result.accepted, done.result.ignored)
    count_fixes(tracked.accepted, tracked.ignored)
    return LocationOutcome(tracked, done.store_of, done.notification_ids)


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
    """A batch of fixes from a phone: checked, then the one presence flow."""
    step = locations_step(fixes, index=index, rules=rules, max_batch=max_batch, now=now)
    done = advance_presence(
        session,
        user_id=user_id,
        presence=presence,
        step=step,
        now=now,
        store_of=zone_stores(index),
        decide=decide,
    )
    return _located(done)


async def report_locations_async(
    *,
    user_id: int,
    fixes: Sequence[Fix],
    index: GeofenceIndex,
    presence: PresenceStore,
    fast: AsyncPresence,
    rules: Screening,
    max_batch: int,
    now: float,
    decide: DecideEvents,
    transact: Transact,
) -> LocationOutcome:
    """The same, from the event loop: a fix that changes nothing costs two awaited Redis
    round trips and no database; one that does goes on in a transaction (``transact``
    runs it in a worker thread) that takes the presence lock over."""
    step = locations_step(fixes, index=index, rules=rules, max_batch=max_batch, now=now)
    store_of = zone_stores(index)

    def decided(begun: Begun[Tracked]) -> Awaitable[Advanced[Tracked]]:
        return transact(
            lambda session: finish(
                session, begun, presence=presence, store_of=store_of, decide=decide
            )
        )

    done = await advance_quietly(fast, user_id=user_id, step=step, now=now, finish=decided)
    return _located(done)
