"""Rewards for stores: reward rules, reported purchases (attribution and the award),
refunds, and the release of matured points (the ``rewards.release_pending`` job)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, time, timedelta

from sqlalchemy.orm import Session

from catalogue.models import Item
from events.core import POINTS_EARNED
from events.service import emit
from kernel.errors import Conflict, Invalid, NotFound
from kernel.principal import Staff
from redemptions import repository as codes
from redemptions.core import Kind, parse_code
from redemptions.models import Code
from redemptions.service import claim
from rewards import core, ledger, repository
from rewards import ledger_core as lc
from rewards.models import Purchase, RewardRule
from rewards.schemas import ItemRef, PurchaseIn, RuleIn
from social.repository import blocked_ids
from stores.service import get_store

DEFAULT_CURRENCY = "EUR"
DEFAULT_RULE = core.Rule(
    points_per_unit=0,
    per_purchase_cap=0,
    per_creator_daily_cap=0,
    attribution_days=7,
    return_days=14,
)
"""A store that never set a rule awards nothing (its purchases are still recorded)."""


def _as_core(rule: RewardRule | None) -> core.Rule:
    if rule is None:
        return DEFAULT_RULE
    return core.Rule(
        points_per_unit=rule.points_per_unit,
        per_purchase_cap=rule.per_purchase_cap,
        per_creator_daily_cap=rule.per_creator_daily_cap,
        attribution_days=rule.attribution_days,
        return_days=rule.return_days,
    )


def get_rule(session: Session, *, staff: Staff, store_id: int) -> tuple[str, core.Rule, bool]:
    """The store's currency and rule, and whether the store set it."""
    get_store(session, staff=staff, store_id=store_id)
    rule = repository.rule(session, store_id)
    currency = DEFAULT_CURRENCY if rule is None else rule.currency
    return currency, _as_core(rule), rule is not None


def put_rule(session: Session, *, staff: Staff, store_id: int, data: RuleIn) -> RewardRule:
    """Set the store's rule; it applies to purchases reported from now on."""
    get_store(session, staff=staff, store_id=store_id)
    core.exponent(data.currency)  # refuses a code that is not a currency
    rule = repository.rule(session, store_id) or RewardRule(store_id=store_id)
    for name, value in data.model_dump().items():
        setattr(rule, name, value)
    session.add(rule)
    session.flush()
    return rule


def _fingerprint(data: PurchaseIn, amount_minor: int) -> str:
    content = {
        "code": parse_code(data.code) if _parses(data.code) else data.code,
        "amount_minor": amount_minor,
        "currency": data.currency,
        "items": sorted([i.sku or "", i.item_id or 0] for i in data.items),
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _parses(code: str) -> bool:
    try:
        parse_code(code)
    except ValueError:
        return False
    return True


def _replay(found: Purchase, fingerprint: str) -> Purchase:
    if found.fingerprint != fingerprint:
        raise Conflict(
            f"purchase {found.store_purchase_id!r} was already reported with other content"
        )
    return found


def _items(session: Session, store_id: int, refs: list[ItemRef]) -> list[Item]:
    """The catalogue items bought, each one of the store's own."""
    by_sku = repository.items_by_sku(session, store_id, [r.sku for r in refs if r.sku])
    by_id = repository.items_by_id(session, store_id, [r.item_id for r in refs if r.item_id])
    items = []
    for n, ref in enumerate(refs):
        item = by_sku.get(ref.sku) if ref.sku is not None else by_id.get(ref.item_id or 0)
        if item is None:
            what = f"sku {ref.sku!r}" if ref.sku is not None else f"item {ref.item_id}"
            raise Invalid(f"items[{n}]: store {store_id} has no {what} in its catalogue")
        items.append(item)
    return items


def _claim_buyer_code(session: Session, *, code: str, store_id: int, now: datetime) -> Code:
    """The shopper's purchase token, or an offer code (used once for one purchase, even
    when the till already confirmed the offer with it)."""
    try:
        return claim(
            session,
            code=code,
            store_id=store_id,
            kinds={Kind.PURCHASE.value, Kind.OFFER.value},
            now=now,
        )
    except Conflict:
        used = _redeemed_offer_code(session, code=code, store_id=store_id)
        if used is None:
            raise
        return used


def _redeemed_offer_code(session: Session, *, code: str, store_id: int) -> Code | None:
    found = codes.for_claim(session, code=parse_code(code), store_id=store_id)
    if found is None or found.kind != Kind.OFFER.value or found.used_at is None:
        return None
    return None if repository.purchase_of_code(session, found.id) is not None else found


def report_purchase(
    session: Session, *, staff: Staff, store_id: int, data: PurchaseIn, now: datetime
) -> tuple[Purchase, bool]:
    """Record a purchase the store reports and award the creator of the look it is
    attributed to; the same ``store_purchase_id`` again returns the first (``False``)."""
    get_store(session, staff=staff, store_id=store_id)
    rule_row = repository.rule(session, store_id)
    amount_minor = core.to_minor(data.amount, data.currency)
    fingerprint = _fingerprint(data, amount_minor)
    found = repository.purchase(session, store_id, data.store_purchase_id)
    if found is not None:
        return _replay(found, fingerprint), False
    if rule_row is not None and data.currency != rule_row.currency:
        raise Invalid(f"currency: store {store_id} rewards purchases in {rule_row.currency}")
    items = _items(session, store_id, data.items)
    try:
        code = _claim_buyer_code(session, code=data.code, store_id=store_id, now=now)
    except Conflict:
        # The same report racing itself: the first one committed meanwhile.
        found = repository.purchase(session, store_id, data.store_purchase_id)
        if found is None:
            raise
        return _replay(found, fingerprint), False
    rule = _as_core(rule_row)
    purchase = Purchase(
        store_id=store_id,
        store_purchase_id=data.store_purchase_id,
        fingerprint=fingerprint,
        buyer_id=code.user_id,
        code_id=code.id,
        amount_minor=amount_minor,
        currency=data.currency,
        items=[i.id for i in items],
        points=0,
        status="none",
        created_at=now,
        available_at=now + timedelta(days=rule.return_days),
    )
    session.add(purchase)
    session.flush()
    if rule.points_per_unit:
        _award(session, purchase, items, rule, now=now)
    return purchase, True


def _award(
    session: Session, purchase: Purchase, items: list[Item], rule: core.Rule, *, now: datetime
) -> None:
    buyer = purchase.buyer_id
    assert buyer is not None, "a purchase just reported has its buyer"
    basket = core.Basket(
        buyer_id=buyer,
        item_ids=frozenset(i.id for i in items),
        brand_ids=frozenset(i.brand_id for i in items if i.brand_id is not None),
        bought_at=now,
    )
    since = now - timedelta(days=rule.attribution_days)
    seen = repository.opens(session, buyer_id=buyer, since=since, until=now)
    chosen = core.attribute(
        seen,
        basket,
        window_days=rule.attribution_days,
        blocked=frozenset(blocked_ids(session, buyer)),
    )
    if chosen is None:
        return
    purchase.look_id, purchase.creator_id = chosen.look_id, chosen.creator_id
    # Every account the award moves is locked (in one statement, in id order) before the
    # day's total is read: two purchases at once cannot both fit under the daily cap.
    store_id = purchase.store_id
    ledger.lock(session, [lc.store_liability(store_id), lc.pending(store_id, chosen.creator_id)])
    day = datetime.combine(now.date(), time(), tzinfo=now.tzinfo)
    earned = repository.earned(
        session, creator_id=chosen.creator_id, store_id=purchase.store_id, since=day
    )
    points = core.award(
        amount_minor=purchase.amount_minor,
        currency=purchase.currency,
        rule=rule,
        earned_today=earned,
    )
    purchase.points = points
    purchase.status = "pending" if points else "none"
    session.flush()
    plan = lc.earn(
        purchase_id=purchase.id,
        store_id=purchase.store_id,
        creator_id=chosen.creator_id,
        points=points,
    )
    ledger.post(session, plan, now=now, purchase_id=purchase.id, look_id=chosen.look_id)
    if points:
        payload = {"purchase_id": purchase.id, "look_id": chosen.look_id, "points": points}
        emit(
            session,
            name=POINTS_EARNED,
            store_id=store_id,
            user_id=chosen.creator_id,
            payload=payload,
            at=now,
        )


def get_purchase(
    session: Session, *, staff: Staff, store_id: int, store_purchase_id: str
) -> Purchase:
    get_store(session, staff=staff, store_id=store_id)
    found = repository.purchase(session, store_id, store_purchase_id)
    if found is None:
        raise NotFound(f"no purchase {store_purchase_id!r} at store {store_id}")
    return found


def refund_purchase(
    session: Session, *, staff: Staff, store_id: int, store_purchase_id: str, now: datetime
) -> Purchase:
    """The whole purchase was returned: inside the return window its pending points are
    voided; after it they are taken back, the part already spent booked as the store's
    loss. Refunding again changes nothing."""
    get_store(session, staff=staff, store_id=store_id)
    found = repository.purchase(session, store_id, store_purchase_id, lock=True)
    if found is None:
        raise NotFound(f"no purchase {store_purchase_id!r} at store {store_id}")
    if found.refunded_at is not None:
        return found
    found.refunded_at = now
    creator = found.creator_id
    if creator is None or found.status == "none":
        session.flush()  # nothing earned, or its earner erased: nothing to take back
        return found
    # Every account a refund may move, locked at once in id order (no lock taken later
    # could wait on a poster holding another of them).
    ledger.lock(
        session,
        [
            lc.store_liability(store_id),
            lc.store_loss(store_id),
            lc.pending(store_id, creator),
            lc.available(store_id, creator),
        ],
    )
    args = {"purchase_id": found.id, "store_id": store_id, "creator_id": creator}

    def post(plan: list[lc.Transfer]) -> None:
        ledger.post(session, plan, now=now, purchase_id=found.id, look_id=found.look_id)

    if found.status == "pending" and now < found.available_at:
        post(lc.void(**args, points=found.points))
        found.status = "voided"
    else:
        if found.status == "pending":  # past its window, before the job released it
            post(lc.release(**args, points=found.points))
        held = ledger.balance(session, lc.available(store_id, creator))
        post(lc.reverse(**args, points=found.points, held=held))
        found.status = "reversed"
    session.flush()
    return found


def release_pending(session: Session, *, now: datetime, limit: int = 500) -> int:
    """Make the points of purchases past their return window available; how many."""
    due = repository.due_for_release(session, now=now, limit=limit)
    for p in due:
        assert p.creator_id is not None, "only purchases with a creator are due"
        plan = lc.release(
            purchase_id=p.id, store_id=p.store_id, creator_id=p.creator_id, points=p.points
        )
        ledger.post(session, plan, now=now, purchase_id=p.id, look_id=p.look_id)
        p.status = "available"
    session.flush()
    return len(due)
