"""Rewards queries: rules, purchases, the reads attribution needs, a user's ledger.

Reads are scoped by the caller's store or user: another store's purchase is not found.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from catalogue.models import Item
from kernel.pagination import keyset
from looks.models import Look, LookOpen, LookTag
from rewards import core
from rewards.models import LedgerAccount, LedgerTransfer, Purchase, RewardRule

MAX_OPENS = 500
"""Opens looked at per purchase, most recent first: a week of a keen shopper's opens."""


def rule(session: Session, store_id: int) -> RewardRule | None:
    return session.get(RewardRule, store_id)


def purchase(
    session: Session, store_id: int, store_purchase_id: str, *, lock: bool = False
) -> Purchase | None:
    query = select(Purchase).where(
        Purchase.store_id == store_id, Purchase.store_purchase_id == store_purchase_id
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.scalars(query).first()


def purchase_of_code(session: Session, code_id: int) -> Purchase | None:
    return session.scalars(select(Purchase).where(Purchase.code_id == code_id)).first()


def items_by_sku(session: Session, store_id: int, skus: Iterable[str]) -> dict[str, Item]:
    rows = session.scalars(select(Item).where(Item.store_id == store_id, Item.sku.in_(set(skus))))
    return {i.sku: i for i in rows}


def items_by_id(session: Session, store_id: int, ids: Iterable[int]) -> dict[int, Item]:
    rows = session.scalars(select(Item).where(Item.store_id == store_id, Item.id.in_(set(ids))))
    return {i.id: i for i in rows}


def opens(session: Session, *, buyer_id: int, since: datetime, until: datetime) -> list[core.Open]:
    """The buyer's opens of looks still there in the window, with what each features."""
    rows = session.execute(
        select(LookOpen.look_id, Look.user_id, LookOpen.opened_at)
        .join(Look, Look.id == LookOpen.look_id)
        .where(
            LookOpen.user_id == buyer_id,
            LookOpen.opened_at >= since,
            LookOpen.opened_at <= until,
        )
        .order_by(LookOpen.opened_at.desc())
        .limit(MAX_OPENS)
    ).all()
    look_ids = {look_id for look_id, _, _ in rows if look_id is not None}
    items: dict[int, set[int]] = {i: set() for i in look_ids}
    brands: dict[int, set[int]] = {i: set() for i in look_ids}
    tags = session.execute(
        select(LookTag.look_id, LookTag.item_id, LookTag.brand_id).where(
            LookTag.look_id.in_(look_ids)
        )
    )
    for look_id, item_id, brand_id in tags:
        if item_id is not None:
            items[look_id].add(item_id)
        if brand_id is not None:
            brands[look_id].add(brand_id)
    return [
        core.Open(
            look_id, creator_id, opened_at, frozenset(items[look_id]), frozenset(brands[look_id])
        )
        for look_id, creator_id, opened_at in rows
        if look_id is not None
    ]


def earned(session: Session, *, creator_id: int, store_id: int, since: datetime) -> int:
    """Points awarded to the creator at the store since then, refunded or not (a refund
    does not give back room under the daily cap: buying and returning earns nothing)."""
    total = session.scalar(
        select(func.coalesce(func.sum(Purchase.points), 0)).where(
            Purchase.creator_id == creator_id,
            Purchase.store_id == store_id,
            Purchase.created_at >= since,
        )
    )
    return int(total or 0)


def due_for_release(session: Session, *, now: datetime, limit: int) -> list[Purchase]:
    """Pending awards past their return window, locked; rows another run holds are skipped."""
    query = (
        select(Purchase)
        .where(
            Purchase.status == "pending",
            Purchase.available_at <= now,
            Purchase.creator_id.is_not(None),
        )
        .order_by(Purchase.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(query))


def accounts_of_user(session: Session, user_id: int) -> list[LedgerAccount]:
    query = select(LedgerAccount).where(LedgerAccount.user_id == user_id)
    return list(session.scalars(query.order_by(LedgerAccount.id)))


def lines(
    session: Session, account_ids: Iterable[int], *, after: int, limit: int
) -> list[LedgerTransfer]:
    """Transfers in or out of the accounts, newest first."""
    ids = list(account_ids)
    query = select(LedgerTransfer).where(
        or_(
            LedgerTransfer.source_account_id.in_(ids),
            LedgerTransfer.destination_account_id.in_(ids),
        )
    )
    keyed = keyset(query, LedgerTransfer.id, after=after, limit=limit, newest_first=True)
    return list(session.scalars(keyed))


def purchases_by_id(session: Session, ids: Iterable[int]) -> dict[int, Purchase]:
    return {p.id: p for p in session.scalars(select(Purchase).where(Purchase.id.in_(set(ids))))}
