"""Counting the funnel (``tally``, called by notifications and redemptions) and reading it.

Metric names and the attribution rules are in ``funnel.core``. A count is registered in the
caller's transaction and reaches the counter store (``funnel.counters``) once it commits:
a rolled-back decision counts nothing. Counts wait there, outside the database, until the
next flush (``funnel.flush``, every minute): a Redis that loses its data loses them.
A count is registered when the outer transaction commits: a savepoint rolled back inside
it does not take its counts back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from funnel import counters, repository
from funnel.core import (
    HOLDOUT_WINDOW,
    REDEEMED,
    REDEEMED_HELD_OUT,
    CountKey,
    Granularity,
    Subject,
    SubjectFunnel,
    hour_of,
    hours_between,
    merged,
    range_problem,
    summarize,
)
from kernel.db import after_commit, after_rollback
from kernel.errors import Invalid
from kernel.principal import Staff
from stores.service import get_store

_PENDING = "funnel.pending"


def tally(
    session: Session,
    *,
    store_id: int,
    subject: str,
    subject_id: int,
    metric: str,
    at: datetime,
    n: int = 1,
) -> None:
    """Count ``n`` of ``metric`` for the subject (``"offer"`` or ``"look"``) in ``at``'s
    hour, once the session's transaction commits; dropped on rollback.

    The counts of one transaction reach the counter store together, in one round trip.
    """
    key = CountKey(hour_of(at), store_id, subject, subject_id, metric)
    pending: dict[CountKey, int] | None = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = {}
        after_commit(session, lambda: _send(session, pending))
        after_rollback(session, lambda: session.info.pop(_PENDING, None))
    pending[key] = pending.get(key, 0) + n


def _send(session: Session, pending: dict[CountKey, int]) -> None:
    session.info.pop(_PENDING, None)
    counters.current().add(pending)


def count_redemption(
    session: Session, *, store_id: int, user_id: int, offer_id: int | None, at: datetime
) -> None:
    """A code redeemed at the store: ``redeemed`` for its offer, and ``redeemed_held_out``
    when the user was last held out of an offer of the store (rule in ``funnel.core``)."""
    if offer_id is not None:
        tally(
            session,
            store_id=store_id,
            subject=Subject.OFFER,
            subject_id=offer_id,
            metric=REDEEMED,
            at=at,
        )
    held_out = repository.last_held_out(
        session, user_id=user_id, store_id=store_id, since=at - HOLDOUT_WINDOW
    )
    if held_out is None:
        return
    held_out_offer, held_out_at = held_out
    if repository.redeemed_between(
        session, user_id=user_id, store_id=store_id, start=held_out_at, end=at
    ):
        return  # this held-out decision already converted
    tally(
        session,
        store_id=store_id,
        subject=Subject.OFFER,
        subject_id=held_out_offer,
        metric=REDEEMED_HELD_OUT,
        at=at,
    )


@dataclass(frozen=True, slots=True)
class StoreFunnel:
    funnels: list[SubjectFunnel]
    titles: dict[int, str]


def store_stats(
    session: Session,
    *,
    staff: Staff,
    store_id: int,
    start: datetime,
    end: datetime,
    granularity: Granularity,
) -> StoreFunnel:
    """The store's funnel over the hours overlapping ``[start, end)``: the flushed counts
    plus those still in the counter store. The table is read first: a flush in between
    hides its batch from this answer for a moment rather than counting it twice."""
    get_store(session, staff=staff, store_id=store_id)
    problem = range_problem(start, end)
    if problem is not None:
        raise Invalid(problem)
    flushed = list(repository.counts_of(session, store_id=store_id, start=hour_of(start), end=end))
    hours = hours_between(start, end)
    live = counters.current().unflushed(store_id=store_id, hours=hours)
    funnels = summarize(merged(flushed, live.items()), granularity)
    offers = {f.subject_id for f in funnels if f.subject == Subject.OFFER}
    return StoreFunnel(funnels, repository.titles(session, subject=Subject.OFFER, ids=offers))
