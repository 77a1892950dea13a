"""Stores: the operator creates them; store staff read their own."""

from __future__ import annotations

import time

from fastapi import APIRouter, status

from kernel.ids import IdPath
from kernel.pagination import After, Limit, Page, next_cursor
from server.deps import CurrentStaff, Operator, RuntimeDep, SessionDep
from stores import service
from stores.schemas import StoreCreate, StoreOut, StoreUpdate

router = APIRouter(prefix="/v1/stores", tags=["stores"])


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create a store (operator)")
def create_store(body: StoreCreate, session: SessionDep, staff: Operator) -> StoreOut:
    store = service.create_store(
        session, staff=staff, name=body.name, address=body.address, timezone=body.timezone
    )
    return StoreOut.model_validate(store)


@router.get("", summary="List the stores this key may see")
def list_stores(
    session: SessionDep, staff: CurrentStaff, after: After = 0, limit: Limit = 50
) -> Page[StoreOut]:
    rows = service.list_stores(session, staff=staff, after=after, limit=limit)
    items = [StoreOut.model_validate(r) for r in rows]
    return Page(items=items, next_after=next_cursor([r.id for r in rows], limit))


@router.get("/{store_id}", summary="Get a store")
def get_store(store_id: IdPath, session: SessionDep, staff: CurrentStaff) -> StoreOut:
    return StoreOut.model_validate(service.get_store(session, staff=staff, store_id=store_id))


@router.patch("/{store_id}", summary="Rename, re-address or set the time zone of a store")
def update_store(
    store_id: IdPath, body: StoreUpdate, session: SessionDep, staff: CurrentStaff
) -> StoreOut:
    store = service.update_store(
        session,
        staff=staff,
        store_id=store_id,
        name=body.name,
        address=body.address,
        timezone=body.timezone,
    )
    return StoreOut.model_validate(store)


@router.delete("/{store_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a store")
def delete_store(
    store_id: IdPath, session: SessionDep, staff: Operator, runtime: RuntimeDep
) -> None:
    """Its geofences, offers and beacons go with it, from every process's memory too."""

    def resync() -> None:
        runtime.index_sync.resync()
        runtime.eids.changed(time.time())

    service.delete_store(session, staff=staff, store_id=store_id, on_deleted=resync)
