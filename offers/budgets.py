"""An offer's budget: how many pushes it has left, in all and on the store's day.

One row per budgeted offer (``offer_budgets``). Reading what is left is a plain select (the
decision's input); spending is a conditional UPDATE that only matches while both limits
hold, so concurrent decisions in several processes never overspend: the row lock it takes
is held to the end of the deciding transaction, for budgeted offers only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from offers.models import OfferBudget


@dataclass(frozen=True, slots=True)
class Budget:
    offer_id: int
    max_sends: int | None
    max_sends_per_day: int | None
    day: date  # the store's calendar day at the event


def left(session: Session, budgets: Iterable[Budget]) -> dict[int, int]:
    """Sends left per offer: the smaller of what remains in all and on the day."""
    wanted = {b.offer_id: b for b in budgets}
    if not wanted:
        return {}
    used = {
        row.offer_id: row
        for row in session.scalars(select(OfferBudget).where(OfferBudget.offer_id.in_(wanted)))
    }
    found = {}
    for offer_id, budget in wanted.items():
        row = used.get(offer_id)
        sent = row.sent if row else 0
        today = row.day_sent if row and row.day == budget.day else 0
        limits = [
            limit - spent
            for limit, spent in ((budget.max_sends, sent), (budget.max_sends_per_day, today))
            if limit is not None
        ]
        found[offer_id] = max(0, min(limits, default=1))
    return found


def spend(session: Session, budget: Budget) -> bool:
    """Take one send from the budget; ``False`` (nothing changed) when it is spent."""
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert
    session.execute(
        insert(OfferBudget)
        .values(offer_id=budget.offer_id, sent=0, day=budget.day, day_sent=0)
        .on_conflict_do_nothing()
    )
    row = OfferBudget
    same_day = row.day == budget.day
    conditions = []
    if budget.max_sends is not None:
        conditions.append(row.sent < budget.max_sends)
    if budget.max_sends_per_day is not None:
        conditions.append(~same_day | (row.day_sent < budget.max_sends_per_day))
    spent = session.execute(
        update(row)
        .where(row.offer_id == budget.offer_id, *conditions)
        .values(
            sent=row.sent + 1,
            day_sent=case((same_day, row.day_sent + 1), else_=1),
            day=budget.day,
        )
        .returning(row.offer_id),
        execution_options={"synchronize_session": False},
    ).first()
    return spent is not None
