"""Redemption codes: a shopper's codes and QR images, purchase tokens, and store staff
confirming an offer's code at the till."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from kernel.db import utcnow
from kernel.ids import IdPath
from kernel.pagination import After, Limit, Page, next_cursor
from redemptions import qr, service
from redemptions.core import Kind
from redemptions.repository import Listed
from redemptions.schemas import (
    CodeOut,
    PurchaseTokenCreate,
    RedemptionCodePath,
    RedemptionCreate,
    RedemptionOut,
)
from server.deps import CurrentStaff, CurrentUser, RuntimeDep, SessionDep

router = APIRouter(tags=["redemptions"])


def _out(listed: Listed, runtime: RuntimeDep) -> CodeOut:
    code = listed.code
    link = None
    if code.kind == Kind.OFFER.value and code.offer_id is not None:
        link = service.buy_now_link(runtime.settings, offer_id=code.offer_id, code=code.code)
    return CodeOut.of(listed, buy_now_link=link)


@router.get(
    "/v1/me/codes",
    summary="My redemption codes that have not expired",
    description="Offer codes (one per pushed offer), spend codes and purchase tokens, "
    "oldest first; a used code stays listed, with `used_at`, until it expires.",
)
def list_my_codes(
    session: SessionDep, user: CurrentUser, runtime: RuntimeDep, after: After = 0, limit: Limit = 50
) -> Page[CodeOut]:
    rows = service.my_codes(session, user_id=user.id, now=utcnow(), after=after, limit=limit)
    return Page(
        items=[_out(r, runtime) for r in rows],
        next_after=next_cursor([r.code.id for r in rows], limit),
    )


@router.get(
    "/v1/me/codes/{code}/qr.png",
    summary="One of my codes as a QR image",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "A PNG image."}},
)
def my_code_qr(code: RedemptionCodePath, session: SessionDep, user: CurrentUser) -> Response:
    mine = service.my_code(session, user_id=user.id, code=code)
    return Response(qr.png(mine.code), media_type="image/png")


@router.post(
    "/v1/me/purchase-tokens",
    status_code=status.HTTP_201_CREATED,
    summary="A one-time token to show at a store's till when buying",
    description="The store reports the purchase with it; it expires after 15 minutes.",
)
def create_purchase_token(
    body: PurchaseTokenCreate, session: SessionDep, user: CurrentUser, runtime: RuntimeDep
) -> CodeOut:
    token = service.request_purchase_token(
        session, user_id=user.id, store_id=body.store_id, now=utcnow()
    )
    return _out(token, runtime)


@router.post(
    "/v1/stores/{store_id}/redemptions",
    summary="Confirm an offer's redemption code at the till",
    description="Uses the code once. 404: no such code at this store (another store's "
    "code answers the same); 422: not an offer's code (spend codes are confirmed at "
    "`/v1/stores/{store_id}/points/redemptions`); 409: already redeemed (with when), "
    "expired (with when), or its offer was deleted. The store learns nothing about the "
    "shopper.",
)
def redeem_offer_code(
    store_id: IdPath, body: RedemptionCreate, session: SessionDep, staff: CurrentStaff
) -> RedemptionOut:
    code, offer = service.redeem_offer(
        session, staff=staff, store_id=store_id, code=body.code, now=utcnow()
    )
    return RedemptionOut.of(code, offer)
