"""A shopper's points: balances and ledger lines, spend codes, and the store confirming
a spend (the only way points leave a user's available balance by their choice)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from kernel.errors import Invalid, NotFound
from kernel.principal import Staff
from redemptions.core import Kind
from redemptions.models import Code
from redemptions.service import claim, issue_spend_code
from rewards import ledger, repository
from rewards import ledger_core as lc
from rewards.ledger_core import AccountKind
from rewards.models import LedgerAccount, LedgerTransfer
from rewards.schemas import LineOut, Origin, PointsOut, StoreBalance
from social.repository import display_names, store_names
from stores.models import Store
from stores.service import get_store

UNNAMED_FRIEND = "a friend"
"""Shown for a buyer who set no display name (or was erased): never their id."""


def _balances(accounts: list[LedgerAccount], names: dict[int, str]) -> list[StoreBalance]:
    per_store: dict[int, StoreBalance] = {}
    for a in accounts:
        row = per_store.setdefault(
            a.store_id,
            StoreBalance(
                store_id=a.store_id, store_name=names.get(a.store_id, ""), pending=0, available=0
            ),
        )
        if a.kind == AccountKind.USER_PENDING:
            row.pending += a.balance
        else:
            row.available += a.balance
    return [per_store[s] for s in sorted(per_store)]


def my_points(session: Session, *, user_id: int, after: int, limit: int) -> PointsOut:
    """The user's balances per store and a page of their ledger lines, newest first."""
    accounts = repository.accounts_of_user(session, user_id)
    by_id = {a.id: a for a in accounts}
    names = store_names(session, {a.store_id for a in accounts})
    stores = _balances(accounts, names)
    lines = repository.lines(session, by_id, after=after, limit=limit) if by_id else []
    purchases = repository.purchases_by_id(
        session, {t.purchase_id for t in lines if t.purchase_id is not None}
    )
    friends = display_names(session, {p.buyer_id for p in purchases.values() if p.buyer_id})
    items = []
    for t in lines:
        bought = purchases.get(t.purchase_id or 0)
        friend = None
        if bought is not None:
            friend = friends.get(bought.buyer_id or 0, UNNAMED_FRIEND)
        items.append(
            LineOut(
                id=t.id,
                kind=t.kind,
                store_id=t.store_id,
                pending_change=_change(t, by_id, AccountKind.USER_PENDING),
                available_change=_change(t, by_id, AccountKind.USER_AVAILABLE),
                created_at=t.created_at,
                origin=Origin(look_id=t.look_id, friend=friend, store_purchase=bought is not None),
            )
        )
    return PointsOut(
        pending=sum(s.pending for s in stores),
        available=sum(s.available for s in stores),
        stores=stores,
        items=items,
        next_after=items[-1].id if len(items) == limit else None,
    )


def _change(t: LedgerTransfer, mine: dict[int, LedgerAccount], kind: AccountKind) -> int:
    change = 0
    source, destination = mine.get(t.source_account_id), mine.get(t.destination_account_id)
    if source is not None and source.kind == kind:
        change -= t.amount
    if destination is not None and destination.kind == kind:
        change += t.amount
    return change


def request_spend(
    session: Session, *, user_id: int, store_id: int, points: int, now: datetime
) -> Code:
    """A one-time code spending ``points`` at the store, once it confirms it. Refused
    (422) beyond what is available there now; the confirmation checks again."""
    if session.get(Store, store_id) is None:
        raise NotFound(f"no store {store_id}")
    held = ledger.peek(session, lc.available(store_id, user_id))
    if points > held:
        raise Invalid(f"points: only {held} points are available at store {store_id}")
    return issue_spend_code(session, user_id=user_id, store_id=store_id, points=points, now=now)


def confirm_spend(
    session: Session, *, staff: Staff, store_id: int, code: str, now: datetime
) -> Code:
    """The store takes the shopper's spend code: the points move from the shopper's
    available balance to the store, once. Two confirmations of codes drawing on the
    same balance queue on its lock; the second finds what is left, and a 409 leaves
    its code unused."""
    get_store(session, staff=staff, store_id=store_id)
    used = claim(session, code=code, store_id=store_id, kinds={Kind.SPEND.value}, now=now)
    assert used.points is not None, "a spend code always carries its points"
    ledger.lock(session, [lc.store_liability(store_id), lc.available(store_id, used.user_id)])
    held = ledger.balance(session, lc.available(store_id, used.user_id))
    plan = lc.spend(
        code_id=used.id, store_id=store_id, user_id=used.user_id, points=used.points, held=held
    )
    ledger.post(session, plan, now=now, code_id=used.id)
    return used
