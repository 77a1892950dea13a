"""The stores' side of a decision, read and spent around the pure rules: schedules in each
store's time zone, budgets, and the withdrawal of place-bound pushes on the EXIT."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.orm import Session

from kernel.db import utcnow
from notifications.decide import Outcome, Skip, Skipped, Trigger
from notifications.models import HELD_OUT, SUPPRESSED, Notification
from notifications.rules import OfferView
from offers import budgets
from presence.core import Transition


def day_at(at: float, utc_offset_s: int = 0) -> date:
    """The local calendar day at ``at``: the unit of the daily caps and budgets."""
    return (datetime.fromtimestamp(at, UTC) + timedelta(seconds=utc_offset_s)).date()


def store_offsets(offers: Iterable[OfferView], at: float) -> dict[int, int]:
    """Each store's UTC offset at ``at`` (its offers' schedules and daily budgets)."""
    moment = datetime.fromtimestamp(at, UTC)
    found = {}
    for view in offers:
        if view.rule.store_id not in found and view.store_timezone != "UTC":
            offset = moment.astimezone(ZoneInfo(view.store_timezone)).utcoffset()
            found[view.rule.store_id] = int(offset.total_seconds()) if offset else 0
    return found


def budget_plans(
    offers: Iterable[OfferView], offsets: dict[int, int], at: float
) -> dict[int, budgets.Budget]:
    """The budgeted offers' limits, each on its store's calendar day."""
    return {
        o.rule.id: budgets.Budget(
            o.rule.id,
            o.max_sends,
            o.max_sends_per_day,
            day_at(at, offsets.get(o.rule.store_id, 0)),
        )
        for o in offers
        if o.rule.has_budget
    }


def spend(session: Session, outcome: Outcome, plans: dict[int, budgets.Budget]) -> None:
    """Take each budgeted push from its offer's budget; one another process spent first
    (the decision read the budget before it) becomes a budget skip instead."""
    kept = []
    for d in outcome.decisions:
        plan = plans.get(d.offer_id or 0)
        if plan is not None and d.pushed and not budgets.spend(session, plan):
            outcome.skipped.append(Skipped(d.key, d.store_id, Skip.BUDGET))
            continue
        kept.append(d)
    outcome.decisions = kept


def withdraw_on_exit(session: Session, user_id: int, triggers: Sequence[Trigger]) -> None:
    """A place-bound push expires with the visit: the EXIT from its zone withdraws it
    (the inbox shows it expired; an undelivered one is not sent)."""
    zones = {t.zone for t in triggers if t.transition is Transition.EXIT}
    if not zones:
        return
    session.execute(
        update(Notification)
        .where(
            Notification.user_id == user_id,
            Notification.zone.in_(zones),
            Notification.place_bound.is_(True),
            Notification.expired_at.is_(None),
            Notification.status.not_in((SUPPRESSED, HELD_OUT)),
        )
        .values(expired_at=utcnow()),
        execution_options={"synchronize_session": False},
    )
