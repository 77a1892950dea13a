"""Stores: the operator creates them; store staff read their own."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Query, status

from kernel.ids import IdPath
from kernel.pagination import After, Limit, Page, next_cursor
from server.deps import CurrentStaff, Operator, RuntimeDep, SessionDep
from stores import service
from stores.labels import MAX_EXTERNAL_ID, MAX_TAG_LENGTH
from stores.schemas import StoreCreate, StoreOut, StoreUpdate

router = APIRouter(prefix="/v1/stores", tags=["stores"])

TagFilter = Annotated[
    str | None,
    Query(max_length=MAX_TAG_LENGTH, description="Only stores carrying this tag."),
]
ExternalIdFilter = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=MAX_EXTERNAL_ID,
        description="Only the store with this external id (the store system's key).",
    ),
]


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create a store (operator)")
def create_store(body: StoreCreate, session: SessionDep, staff: Operator) -> StoreOut:
    """409 when another store already has the `external_id`."""
    where = body.location
    store = service.create_store(
        session,
        staff=staff,
        name=body.name,
        address=body.address,
        timezone=body.timezone,
        location=None if where is None else (where.lon, where.lat),
        external_id=body.external_id,
        tags=body.tags,
        metadata=body.metadata,
    )
    return StoreOut.of(store)


@router.get("", summary="List the stores this key may see")
def list_stores(
    session: SessionDep,
    staff: CurrentStaff,
    tag: TagFilter = None,
    external_id: ExternalIdFilter = None,
    after: After = 0,
    limit: Limit = 50,
) -> Page[StoreOut]:
    rows = service.list_stores(
        session, staff=staff, after=after, limit=limit, tag=tag, external_id=external_id
    )
    items = [StoreOut.of(r) for r in rows]
    return Page(items=items, next_after=next_cursor([r.id for r in rows], limit))


@router.get("/{store_id}", summary="Get a store")
def get_store(store_id: IdPath, session: SessionDep, staff: CurrentStaff) -> StoreOut:
    return StoreOut.of(service.get_store(session, staff=staff, store_id=store_id))


@router.patch("/{store_id}", summary="Change a store (name, address, location, time zone, labels)")
def update_store(
    store_id: IdPath, body: StoreUpdate, session: SessionDep, staff: CurrentStaff
) -> StoreOut:
    """Only what is sent changes. 409 when another store already has the `external_id`."""
    store = service.update_store(session, staff=staff, store_id=store_id, changes=body.changes())
    return StoreOut.of(store)


@router.delete("/{store_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a store")
def delete_store(
    store_id: IdPath, session: SessionDep, staff: Operator, runtime: RuntimeDep
) -> None:
    """Its geofences, offers and beacons go with it, from every process's memory too."""

    def resync() -> None:
        runtime.index_sync.resync()
        runtime.eids.changed(time.time())

    service.delete_store(session, staff=staff, store_id=store_id, on_deleted=resync)
