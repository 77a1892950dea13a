"""Geofences (store staff) and location reports (app users)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, status

from geofence import bulk, service
from geofence.bulk import (
    FeatureCollectionIn,
    FeatureCollectionOut,
    ImportRefusedOut,
    ImportReportOut,
)
from geofence.schemas import (
    GeofenceCollection,
    GeofenceFeature,
    GeofenceFeatureIn,
    GeofencePatch,
    LocationBatch,
    LocationReport,
    ZoneEventOut,
)
from geofence.screening import Fix
from kernel.db import unit_of_work
from kernel.ids import IdPath
from kernel.pagination import After, Limit, next_cursor
from server.deps import CurrentAppUser, CurrentStaff, RuntimeDep, SessionDep, decision
from server.runtime import Runtime

router = APIRouter(tags=["geofences"])
me_router = APIRouter(prefix="/v1/me", tags=["me"])


def _placement(runtime: Runtime) -> service.Placement:
    settings = runtime.settings
    return service.Placement(settings.store_max_spread_km, settings.max_fence_distance_m)


@router.post(
    "/v1/stores/{store_id}/geofences",
    status_code=status.HTTP_201_CREATED,
    summary="Draw a geofence for a store",
)
def create_geofence(
    store_id: IdPath,
    body: GeofenceFeatureIn,
    session: SessionDep,
    staff: CurrentStaff,
    runtime: RuntimeDep,
) -> GeofenceFeature:
    """422 when the shape lies farther than `VICINITY_MAX_FENCE_DISTANCE_M` from the
    store's location (when it has one), or farther than `VICINITY_STORE_MAX_SPREAD_KM`
    from the store's other geofences (usually latitude and longitude swapped); 409 when
    the store already has a geofence with this `external_id`."""
    row = service.create_geofence(
        session,
        staff=staff,
        store_id=store_id,
        name=body.properties.name,
        geometry=body.geometry_dict(),
        radius_m=body.properties.radius_m,
        dwell_s=body.properties.dwell_s,
        on_change=runtime.index_sync.changed,
        placement=_placement(runtime),
        external_id=body.properties.external_id,
        tags=body.properties.tags,
        metadata=body.properties.metadata,
    )
    return GeofenceFeature.of(row)


@router.get("/v1/stores/{store_id}/geofences", summary="A store's geofences, as GeoJSON")
def list_geofences(
    store_id: IdPath, session: SessionDep, staff: CurrentStaff, after: After = 0, limit: Limit = 50
) -> GeofenceCollection:
    rows = service.list_geofences(session, staff=staff, store_id=store_id, after=after, limit=limit)
    return GeofenceCollection(
        features=[GeofenceFeature.of(r) for r in rows],
        next_after=next_cursor([r.id for r in rows], limit),
    )


@router.post(
    "/v1/stores/{store_id}/geofences/import",
    summary="Import a store's geofences from a GeoJSON FeatureCollection",
    responses={422: {"model": ImportRefusedOut, "description": "`invalid`: nothing imported"}},
)
def import_geofences(
    store_id: IdPath,
    body: FeatureCollectionIn,
    session: SessionDep,
    staff: CurrentStaff,
    runtime: RuntimeDep,
) -> ImportReportOut:
    """Matched on each feature's `properties.external_id` (required): new ones created,
    changed ones updated, identical ones left untouched, so the same file sent twice
    changes nothing; the store's other geofences stay. Each feature is checked like a
    single geofence (shape, size, distance from the store); if any fails, nothing is
    imported and `errors` names each failing feature by `index` (from 0). At most
    1,000 features (413)."""
    report = bulk.import_geofences(
        session,
        staff=staff,
        store_id=store_id,
        features=body.features,
        placement=_placement(runtime),
        on_imported=runtime.index_sync.resync,
    )
    return ImportReportOut.of(report)


@router.get(
    "/v1/stores/{store_id}/geofences/export",
    summary="Export a store's geofences as a GeoJSON FeatureCollection",
)
def export_geofences(
    store_id: IdPath, session: SessionDep, staff: CurrentStaff
) -> FeatureCollectionOut:
    """Every geofence of the store, with the properties an import reads: importing the
    export back changes nothing (geofences without an `external_id` cannot be imported
    until given one)."""
    rows = bulk.export_geofences(session, staff=staff, store_id=store_id)
    return FeatureCollectionOut(features=[GeofenceFeature.of(r) for r in rows])


@router.get("/v1/geofences/{geofence_id}", summary="One geofence")
def get_geofence(geofence_id: IdPath, session: SessionDep, staff: CurrentStaff) -> GeofenceFeature:
    return GeofenceFeature.of(service.get_geofence(session, staff=staff, geofence_id=geofence_id))


@router.put(
    "/v1/geofences/{geofence_id}",
    summary="Redraw a geofence",
    description="Replaces the geofence; an omitted `properties.dwell_s`, `external_id`, "
    "`tags` or `metadata` keeps its current value.",
)
def replace_geofence(
    geofence_id: IdPath,
    body: GeofenceFeatureIn,
    session: SessionDep,
    staff: CurrentStaff,
    runtime: RuntimeDep,
) -> GeofenceFeature:
    row = service.replace_geofence(
        session,
        staff=staff,
        geofence_id=geofence_id,
        name=body.properties.name,
        geometry=body.geometry_dict(),
        radius_m=body.properties.radius_m,
        dwell_s=body.dwell_if_sent(),
        on_change=runtime.index_sync.changed,
        placement=_placement(runtime),
        labels=body.labels_if_sent(),
    )
    return GeofenceFeature.of(row)


@router.patch("/v1/geofences/{geofence_id}", summary="Change part of a geofence")
def update_geofence(
    geofence_id: IdPath,
    body: GeofencePatch,
    session: SessionDep,
    staff: CurrentStaff,
    runtime: RuntimeDep,
) -> GeofenceFeature:
    """Send only what changes, e.g. `{"properties": {"dwell_s": 60}}`."""
    row = service.update_geofence(
        session,
        staff=staff,
        geofence_id=geofence_id,
        changes=body.changes(),
        on_change=runtime.index_sync.changed,
        placement=_placement(runtime),
    )
    return GeofenceFeature.of(row)


@router.delete(
    "/v1/geofences/{geofence_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a geofence",
)
def delete_geofence(
    geofence_id: IdPath, session: SessionDep, staff: CurrentStaff, runtime: RuntimeDep
) -> None:
    """An offer limited to this geofence alone (no other geofence, no beacon zone) is
    deactivated, with `inactive_reason` saying so: it does not widen to every fence of
    the store. Re-activating it (`PATCH active=true`) is the store's explicit choice."""
    service.delete_geofence(
        session, staff=staff, geofence_id=geofence_id, on_change=runtime.index_sync.changed
    )


@me_router.post("/locations", summary="Report a batch of location fixes")
async def report_locations(
    body: LocationBatch, caller: CurrentAppUser, runtime: RuntimeDep
) -> LocationReport:
    """Fixes are matched in memory against every geofence; only the resulting presence
    (which zones you are in) is kept, for minutes. Raw fixes are not stored."""
    fixes = [Fix(f.lon, f.lat, f.accuracy_m, f.recorded_at.timestamp()) for f in body.fixes]
    now = datetime.now(UTC).timestamp()
    settings, fast = runtime.settings, runtime.presence_async
    if fast is not None and caller.cached_id is not None:
        # The common case: the token is known here, presence is in Redis.
        outcome = await service.report_locations_async(
            user_id=caller.cached_id,
            fixes=fixes,
            index=runtime.index,
            presence=runtime.presence,
            fast=fast,
            rules=runtime.screening,
            max_batch=settings.max_batch,
            now=now,
            decide=decision(runtime),
            transact=runtime.transact,
        )
    else:

        def report() -> service.LocationOutcome:
            # One hop to the hot threads for all the blocking work (the token, Redis, then
            # PostgreSQL if something changed: the session connects on its first statement).
            with unit_of_work(runtime.sessions) as session:
                return service.report_locations(
                    session,
                    user_id=caller.user_id(session),
                    fixes=fixes,
                    index=runtime.index,
                    presence=runtime.presence,
                    rules=runtime.screening,
                    max_batch=settings.max_batch,
                    now=now,
                    decide=decision(runtime),
                )

        outcome = await runtime.blocking(report)
    events = [
        ZoneEventOut(
            zone=e.zone,
            store_id=outcome.store_of.get(e.zone),
            transition=e.transition.value,
            at=datetime.fromtimestamp(e.at, UTC),
            confidence=e.confidence,
        )
        for e in outcome.tracked.events
        if not e.checkpoint  # a dwell checkpoint is the decision's, not a transition
    ]
    return LocationReport(
        accepted=outcome.tracked.accepted,
        ignored=outcome.tracked.ignored,
        events=events,
        notifications=outcome.notification_ids,
    )
