"""The beacon registry (field techs, store staff) and sighting reports (app users)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from fastapi import APIRouter, status

from beacons import registry, sightings
from beacons.schemas import (
    BeaconCreate,
    BeaconEventOut,
    BeaconMove,
    BeaconOut,
    BeaconUpdate,
    LookupIn,
    LookupOut,
    VisitIn,
)
from beacons.sighting_schemas import SightingBatch, SightingReport, to_sightings
from geofence.schemas import ZoneEventOut
from kernel.db import unit_of_work
from kernel.ids import IdPath
from kernel.pagination import After, Limit, Page, next_cursor
from server.deps import CurrentAppUser, CurrentStaff, RuntimeDep, SessionDep, decision
from server.runtime import Runtime

router = APIRouter(tags=["beacons"])
me_router = APIRouter(prefix="/v1/me", tags=["me"])


def _eids_changed(runtime: Runtime) -> registry.OnEidChange:
    return lambda: runtime.eids.changed(time.time())


@router.post(
    "/v1/beacons", status_code=status.HTTP_201_CREATED, summary="Register a beacon (field tech)"
)
def register_beacon(
    body: BeaconCreate, session: SessionDep, staff: CurrentStaff, runtime: RuntimeDep
) -> BeaconOut:
    """One identity: iBeacon, Eddystone-UID, AltBeacon, the raw advertisement of one of
    those, or an Eddystone-EID beacon's identity key. 409 when it is already registered;
    422 when placed far from the store's geofences (latitude and longitude swapped?)."""
    row = registry.register_beacon(
        session,
        staff=staff,
        data=body,
        on_eid_change=_eids_changed(runtime),
        max_spread_km=runtime.settings.store_max_spread_km,
    )
    return BeaconOut.of(row)


@router.post("/v1/beacons/lookup", summary="Which of these identities are registered, and where")
def lookup_beacons(
    body: LookupIn, session: SessionDep, staff: CurrentStaff, runtime: RuntimeDep
) -> LookupOut:
    found = registry.lookup(
        session, staff=staff, identities=body.identities, eids=runtime.eids, now=time.time()
    )
    return LookupOut(found={k: BeaconOut.of(b) for k, b in found.items()})


@router.get("/v1/beacons/visits", summary="Beacons that need a field visit (field tech)")
def beacon_visits(
    session: SessionDep, staff: CurrentStaff, after: After = 0, limit: Limit = 50
) -> Page[BeaconOut]:
    rows = registry.visits(session, staff=staff, after=after, limit=limit)
    return Page(
        items=[BeaconOut.of(r) for r in rows], next_after=next_cursor([r.id for r in rows], limit)
    )


@router.get("/v1/beacons/{beacon_id}", summary="One beacon, with its health")
def get_beacon(beacon_id: IdPath, session: SessionDep, staff: CurrentStaff) -> BeaconOut:
    return BeaconOut.of(registry.get_beacon(session, staff=staff, beacon_id=beacon_id))


@router.patch("/v1/beacons/{beacon_id}", summary="Calibrate a beacon or change its floor")
def update_beacon(
    beacon_id: IdPath, body: BeaconUpdate, session: SessionDep, staff: CurrentStaff
) -> BeaconOut:
    row = registry.update_beacon(session, staff=staff, beacon_id=beacon_id, data=body)
    return BeaconOut.of(row)


@router.post("/v1/beacons/{beacon_id}/move", summary="Move a beacon to another place")
def move_beacon(
    beacon_id: IdPath,
    body: BeaconMove,
    session: SessionDep,
    staff: CurrentStaff,
    runtime: RuntimeDep,
) -> BeaconOut:
    """422 when the new place is far from the store's geofences (lat/lon swapped?)."""
    row = registry.move_beacon(
        session,
        staff=staff,
        beacon_id=beacon_id,
        data=body,
        max_spread_km=runtime.settings.store_max_spread_km,
    )
    return BeaconOut.of(row)


@router.post("/v1/beacons/{beacon_id}/retire", summary="Take a beacon out of service")
def retire_beacon(
    beacon_id: IdPath, session: SessionDep, staff: CurrentStaff, runtime: RuntimeDep
) -> BeaconOut:
    row = registry.retire_beacon(
        session, staff=staff, beacon_id=beacon_id, on_eid_change=_eids_changed(runtime)
    )
    return BeaconOut.of(row)


@router.post("/v1/beacons/{beacon_id}/visit", summary="Record a field visit")
def record_visit(
    beacon_id: IdPath, session: SessionDep, staff: CurrentStaff, body: VisitIn | None = None
) -> BeaconOut:
    row = registry.record_visit(session, staff=staff, beacon_id=beacon_id, data=body or VisitIn())
    return BeaconOut.of(row)


@router.get("/v1/beacons/{beacon_id}/history", summary="Every change to a beacon, oldest first")
def beacon_history(
    beacon_id: IdPath, session: SessionDep, staff: CurrentStaff, after: After = 0, limit: Limit = 50
) -> Page[BeaconEventOut]:
    rows = registry.history(session, staff=staff, beacon_id=beacon_id, after=after, limit=limit)
    return Page(
        items=[BeaconEventOut.of(r) for r in rows],
        next_after=next_cursor([r.id for r in rows], limit),
    )


@router.get("/v1/stores/{store_id}/beacons", summary="A store's beacons, with their health")
def list_store_beacons(
    store_id: IdPath, session: SessionDep, staff: CurrentStaff, after: After = 0, limit: Limit = 50
) -> Page[BeaconOut]:
    rows = registry.list_store_beacons(
        session, staff=staff, store_id=store_id, after=after, limit=limit
    )
    return Page(
        items=[BeaconOut.of(r) for r in rows], next_after=next_cursor([r.id for r in rows], limit)
    )


@me_router.post("/sightings", summary="Report a batch of beacon sightings")
async def report_sightings(
    body: SightingBatch, caller: CurrentAppUser, runtime: RuntimeDep
) -> SightingReport:
    """Each sighting names a beacon (or carries its raw advertisement), its RSSI and when.
    Only presence in store zones is kept, for minutes, and only with `beacon_proximity`
    consent; beacons' last-seen time and telemetry are kept for the fleet."""
    settings = runtime.settings
    sightings.check_batch(len(body.sightings), settings.max_batch)  # before reading any frame
    heard = to_sightings(body.sightings)

    def report() -> sightings.SightingOutcome:
        # One hop to the hot threads for the blocking work (registry, Redis, the decision).
        with unit_of_work(runtime.sessions) as session:
            return sightings.report_sightings(
                session,
                user_id=caller.user_id(session),
                sightings=heard,
                eids=runtime.eids,
                index=runtime.index,
                presence=runtime.presence,
                tracks=runtime.sightings,
                rules=sightings.SightingRules.of(settings),
                max_batch=settings.max_batch,
                policy_version=settings.policy_version,
                now=time.time(),
                decide=decision(runtime),
            )

    outcome = await runtime.blocking(report)
    tracked = outcome.tracked
    return SightingReport(
        accepted=tracked.accepted,
        ignored=tracked.ignored,
        proximity={zone: p.value for zone, p in tracked.proximity.items()},
        events=[
            ZoneEventOut(
                zone=e.zone,
                store_id=outcome.store_of.get(e.zone),
                transition=e.transition.value,
                at=datetime.fromtimestamp(e.at, UTC),
                confidence=e.confidence,
            )
            for e in tracked.events
            if not e.checkpoint  # a dwell checkpoint is the decision's, not a transition
        ],
        notifications=outcome.notification_ids,
    )
