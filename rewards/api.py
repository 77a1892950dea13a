"""Rewards: stores' reward rules and purchase reports, shoppers' points and spends."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from kernel.db import utcnow
from kernel.ids import IdPath
from kernel.pagination import After, Limit
from rewards import points, service
from rewards.models import Purchase
from rewards.schemas import (
    PointsOut,
    PurchaseIn,
    PurchaseOut,
    RedemptionIn,
    RedemptionOut,
    RuleIn,
    RuleOut,
    SpendCodeOut,
    SpendIn,
    StorePurchaseIdPath,
)
from server.deps import CurrentStaff, CurrentUser, SessionDep

router = APIRouter(tags=["rewards"])


def _purchase(p: Purchase) -> PurchaseOut:
    return PurchaseOut(
        id=p.id,
        store_id=p.store_id,
        store_purchase_id=p.store_purchase_id,
        amount_minor=p.amount_minor,
        currency=p.currency,
        item_ids=list(p.items),
        attributed=p.look_id is not None or p.creator_id is not None,
        points=p.points,
        status=p.status,
        created_at=p.created_at,
        available_at=p.available_at,
        refunded_at=p.refunded_at,
    )


@router.get("/v1/stores/{store_id}/reward-rule", summary="The store's reward rule")
def get_rule(store_id: IdPath, session: SessionDep, staff: CurrentStaff) -> RuleOut:
    currency, rule, configured = service.get_rule(session, staff=staff, store_id=store_id)
    return RuleOut(
        store_id=store_id,
        currency=currency,
        points_per_unit=rule.points_per_unit,
        per_purchase_cap=rule.per_purchase_cap,
        per_creator_daily_cap=rule.per_creator_daily_cap,
        attribution_days=rule.attribution_days,
        return_days=rule.return_days,
        configured=configured,
    )


@router.put(
    "/v1/stores/{store_id}/reward-rule",
    summary="Set how the store rewards the creators of looks that bring it buyers",
    description="Applies to purchases reported from now on.",
)
def put_rule(store_id: IdPath, body: RuleIn, session: SessionDep, staff: CurrentStaff) -> RuleOut:
    service.put_rule(session, staff=staff, store_id=store_id, data=body)
    return RuleOut(store_id=store_id, configured=True, **body.model_dump())


@router.post(
    "/v1/stores/{store_id}/purchases",
    status_code=status.HTTP_201_CREATED,
    summary="Report a purchase made with a shopper's code or purchase token",
    description="Idempotent by `store_purchase_id`: the same report again answers 200 "
    "with the first result and posts nothing; other content under the same id is 409. "
    "`amount` is a decimal string in the currency's major unit. 422: an item not in the "
    "store's catalogue, a currency other than the rule's, a bad amount; 404: no such "
    "code at this store; 409: a used or expired code.",
    responses={200: {"model": PurchaseOut, "description": "Reported before: the first result."}},
)
def report_purchase(
    store_id: IdPath, body: PurchaseIn, session: SessionDep, staff: CurrentStaff, response: Response
) -> PurchaseOut:
    purchase, created = service.report_purchase(
        session, staff=staff, store_id=store_id, data=body, now=utcnow()
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return _purchase(purchase)


@router.get("/v1/stores/{store_id}/purchases/{store_purchase_id}", summary="A reported purchase")
def get_purchase(
    store_id: IdPath,
    store_purchase_id: StorePurchaseIdPath,
    session: SessionDep,
    staff: CurrentStaff,
) -> PurchaseOut:
    found = service.get_purchase(
        session, staff=staff, store_id=store_id, store_purchase_id=store_purchase_id
    )
    return _purchase(found)


@router.post(
    "/v1/stores/{store_id}/purchases/{store_purchase_id}/refund",
    summary="The purchase was returned: void or take back its points",
    description="Inside the return window the pending points are voided; after it they "
    "are taken back from the creator's available points, what was already spent being "
    "booked as the store's loss. Refunding again changes nothing.",
)
def refund_purchase(
    store_id: IdPath,
    store_purchase_id: StorePurchaseIdPath,
    session: SessionDep,
    staff: CurrentStaff,
) -> PurchaseOut:
    found = service.refund_purchase(
        session, staff=staff, store_id=store_id, store_purchase_id=store_purchase_id, now=utcnow()
    )
    return _purchase(found)


@router.get(
    "/v1/me/points",
    summary="My points: pending and available, per store, and the ledger lines",
    description="Lines go newest first (`after=0` starts at the newest). Each names its "
    "origin: the look, and the friend whose purchase earned it, by display name only.",
)
def my_points(
    session: SessionDep, user: CurrentUser, after: After = 0, limit: Limit = 50
) -> PointsOut:
    return points.my_points(session, user_id=user.id, after=after, limit=limit)


@router.post(
    "/v1/me/points/spend",
    status_code=status.HTTP_201_CREATED,
    summary="A one-time code spending points at a store",
    description="Show it at the till; the points leave the balance when the store "
    "confirms it. 422 when more than the available points at that store.",
)
def spend(body: SpendIn, session: SessionDep, user: CurrentUser) -> SpendCodeOut:
    code = points.request_spend(
        session, user_id=user.id, store_id=body.store_id, points=body.points, now=utcnow()
    )
    assert code.points is not None, "a spend code carries its points"
    return SpendCodeOut(
        code=code.code, store_id=code.store_id, points=code.points, expires_at=code.expires_at
    )


@router.post(
    "/v1/stores/{store_id}/points/redemptions",
    status_code=status.HTTP_201_CREATED,
    summary="Confirm a shopper's spend code at the till",
    description="Uses the code once and takes the points. 404: no such code here; 422: "
    "not a spend code; 409: used, expired, or the shopper no longer has the points (the "
    "code stays unused).",
)
def confirm_spend(
    store_id: IdPath, body: RedemptionIn, session: SessionDep, staff: CurrentStaff
) -> RedemptionOut:
    now = utcnow()
    code = points.confirm_spend(session, staff=staff, store_id=store_id, code=body.code, now=now)
    assert code.points is not None, "a spend code carries its points"
    return RedemptionOut(code=code.code, store_id=store_id, points=code.points, confirmed_at=now)
