"""Rewards' personal data: a user's ledger accounts (with their lines) and the purchases
they made or earned from.

Erasure keeps the rows, pseudonymised: a store's books must still balance after a user
leaves, so the user's accounts and purchases lose their user ids (and an account its
key, which names the user) while every line stays. What the user held is forfeited back
to each store first (a ``forfeit`` transfer): nobody could spend it any more.
"""

from __future__ import annotations

from typing import Any
from typing import cast as typed

from sqlalchemy import CursorResult, String, cast, or_, select, update
from sqlalchemy.orm import Session

from kernel.db import utcnow
from kernel.personal_data import Row, as_row, register
from rewards import ledger
from rewards import ledger_core as lc
from rewards.models import LedgerAccount, LedgerTransfer, Purchase


def _export_accounts(session: Session, user_id: int) -> list[Row]:
    rows = []
    for account in session.scalars(
        select(LedgerAccount).where(LedgerAccount.user_id == user_id).order_by(LedgerAccount.id)
    ):
        lines = session.scalars(
            select(LedgerTransfer)
            .where(
                or_(
                    LedgerTransfer.source_account_id == account.id,
                    LedgerTransfer.destination_account_id == account.id,
                )
            )
            .order_by(LedgerTransfer.id)
        )
        rows.append({**as_row(account), "lines": [as_row(t) for t in lines]})
    return rows


def _updated(session: Session, statement: Any) -> int:
    return int(typed(CursorResult[Any], session.execute(statement)).rowcount)


def _forfeit(session: Session, user_id: int) -> None:
    mine = session.scalars(select(LedgerAccount).where(LedgerAccount.user_id == user_id))
    accounts = {lc.Account(lc.AccountKind(a.kind), a.store_id, user_id): a.id for a in mine}
    rows = ledger.lock(session, [*accounts, *(lc.store_liability(a.store_id) for a in accounts)])
    plan = [
        t
        for account, account_id in accounts.items()
        for t in lc.forfeit(account=account, account_id=account_id, held=rows[account].balance)
    ]
    ledger.post(session, plan, now=utcnow())


def _erase_accounts(session: Session, user_id: int) -> int:
    _forfeit(session, user_id)
    # "user_available:<store>:erased:<account id>": unique still, naming no one.
    key = (
        LedgerAccount.kind
        + ":"
        + cast(LedgerAccount.store_id, String)
        + ":erased:"
        + cast(LedgerAccount.id, String)
    )
    statement = (
        update(LedgerAccount)
        .where(LedgerAccount.user_id == user_id)
        .values(user_id=None, key=key)
        .execution_options(synchronize_session=False)
    )
    return _updated(session, statement)


_BUYERS = frozenset(
    {"buyer_id", "code_id", "store_purchase_id", "fingerprint", "amount_minor", "currency", "items"}
)
"""What a purchase says about its buyer, left out of the creator's export."""


def _export_purchases(session: Session, user_id: int) -> list[Row]:
    """As buyer: the purchase; as the look's creator: what it earned them, never who
    bought what for how much."""
    found = session.scalars(
        select(Purchase)
        .where(or_(Purchase.buyer_id == user_id, Purchase.creator_id == user_id))
        .order_by(Purchase.id)
    )
    return [as_row(p) if p.buyer_id == user_id else as_row(p, exclude=_BUYERS) for p in found]


def _erase_purchases(session: Session, user_id: int) -> int:
    buyer = update(Purchase).where(Purchase.buyer_id == user_id).values(buyer_id=None)
    creator = update(Purchase).where(Purchase.creator_id == user_id).values(creator_id=None)
    options = {"synchronize_session": False}
    return _updated(session, buyer.execution_options(**options)) + _updated(
        session, creator.execution_options(**options)
    )


register("ledger_accounts", export=_export_accounts, erase=_erase_accounts)
register("ledger_transfers", within="ledger_accounts")
register("purchases", export=_export_purchases, erase=_erase_purchases)
