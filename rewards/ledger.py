"""Posting to the points ledger: the one writer of ``ledger_transfers`` and balances.

Every posting locks the accounts it touches (``SELECT … FOR UPDATE``, in id order, so two
postings never wait on each other in a circle; a caller that reads a balance first locks
every account its postings will touch in that one call, for the same reason), skips
transfers whose key is already posted (replays are no-ops), checks the plan against the
locked balances with the pure core, then writes each transfer and moves the balances by
SQL increments in the same flush. The database's CHECK refuses a user's balance below
zero even if a path forgot the lock; that refusal is a 409, like the core's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kernel.errors import Conflict
from rewards import ledger_core as lc
from rewards.models import LedgerAccount, LedgerTransfer


def _create_missing(session: Session, accounts: Iterable[lc.Account]) -> None:
    """Insert the accounts' rows if absent, in key order: two requests opening the same
    new accounts wait for each other in the same order, never in a circle."""
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert
    for account in sorted(accounts, key=lambda a: a.key):
        statement = (
            insert(LedgerAccount)
            .values(
                key=account.key,
                kind=account.kind.value,
                store_id=account.store_id,
                user_id=account.user_id,
                balance=0,
            )
            .on_conflict_do_nothing(index_elements=["key"])
        )
        session.execute(statement)


def lock(session: Session, accounts: Iterable[lc.Account]) -> dict[lc.Account, LedgerAccount]:
    """The accounts' rows, created when missing, locked until the transaction ends."""
    wanted = {a.key: a for a in accounts}
    if not wanted:
        return {}
    present = set(session.scalars(select(LedgerAccount.key).where(LedgerAccount.key.in_(wanted))))
    _create_missing(session, [a for k, a in wanted.items() if k not in present])
    rows = session.scalars(
        select(LedgerAccount)
        .where(LedgerAccount.key.in_(wanted))
        .order_by(LedgerAccount.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {wanted[row.key]: row for row in rows}


def peek(session: Session, account: lc.Account) -> int:
    """The account's balance as committed now, without locking or opening it."""
    found = session.scalar(select(LedgerAccount.balance).where(LedgerAccount.key == account.key))
    return found or 0


def balance(session: Session, account: lc.Account) -> int:
    """The account's balance, locking it (zero for an account never opened)."""
    row = lock(session, [account]).get(account)
    return 0 if row is None else row.balance


def post(
    session: Session,
    plan: Sequence[lc.Transfer],
    *,
    now: datetime,
    purchase_id: int | None = None,
    look_id: int | None = None,
    code_id: int | None = None,
) -> list[LedgerTransfer]:
    """Write the plan's transfers not posted yet; the rows written."""
    if not plan:
        return []
    rows = lock(session, lc.touched(plan))
    done = set(
        session.scalars(
            select(LedgerTransfer.key).where(LedgerTransfer.key.in_([t.key for t in plan]))
        )
    )
    fresh = [t for t in plan if t.key not in done]
    lc.apply({a: r.balance for a, r in rows.items()}, fresh)  # refuses an overdraw
    written = []
    for t in fresh:
        line = LedgerTransfer(
            kind=t.kind.value,
            store_id=t.source.store_id,
            source_account_id=rows[t.source].id,
            destination_account_id=rows[t.destination].id,
            amount=t.amount,
            key=t.key,
            purchase_id=purchase_id,
            look_id=look_id,
            code_id=code_id,
            created_at=now,
        )
        session.add(line)
        written.append(line)
        # Increments computed by the database, so the CHECK judges the stored balance.
        rows[t.source].balance = LedgerAccount.balance - t.amount
        rows[t.destination].balance = LedgerAccount.balance + t.amount
        try:
            session.flush()
        except IntegrityError as exc:
            raise Conflict(f"the ledger refused {t.key}: a balance would go below zero") from exc
    return written
