"""Offers: store staff publish them for their stores."""

from __future__ import annotations

from fastapi import APIRouter, status

from kernel.ids import IdPath
from kernel.pagination import After, Limit, Page, next_cursor
from offers import service
from offers.schemas import OfferCreate, OfferOut, OfferUpdate
from server.deps import CurrentStaff, SessionDep

router = APIRouter(tags=["offers"])


@router.post(
    "/v1/stores/{store_id}/offers",
    status_code=status.HTTP_201_CREATED,
    summary="Publish an offer for a store",
)
def create_offer(
    store_id: IdPath, body: OfferCreate, session: SessionDep, staff: CurrentStaff
) -> OfferOut:
    return OfferOut.of(service.create_offer(session, staff=staff, store_id=store_id, data=body))


@router.get("/v1/stores/{store_id}/offers", summary="A store's offers")
def list_offers(
    store_id: IdPath, session: SessionDep, staff: CurrentStaff, after: After = 0, limit: Limit = 50
) -> Page[OfferOut]:
    rows = service.list_offers(session, staff=staff, store_id=store_id, after=after, limit=limit)
    return Page(
        items=[OfferOut.of(r) for r in rows], next_after=next_cursor([r.id for r in rows], limit)
    )


@router.get("/v1/offers/{offer_id}", summary="One offer")
def get_offer(offer_id: IdPath, session: SessionDep, staff: CurrentStaff) -> OfferOut:
    return OfferOut.of(service.get_offer(session, staff=staff, offer_id=offer_id))


@router.patch("/v1/offers/{offer_id}", summary="Change an offer")
def update_offer(
    offer_id: IdPath, body: OfferUpdate, session: SessionDep, staff: CurrentStaff
) -> OfferOut:
    return OfferOut.of(service.update_offer(session, staff=staff, offer_id=offer_id, data=body))


@router.delete(
    "/v1/offers/{offer_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete an offer"
)
def delete_offer(offer_id: IdPath, session: SessionDep, staff: CurrentStaff) -> None:
    service.delete_offer(session, staff=staff, offer_id=offer_id)
