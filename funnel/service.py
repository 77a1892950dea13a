"""Counting the funnel (``tally``, called by notifications and redemptions) and reading it.

Metric names and the attribution rules are in ``funnel.core``. A count is registered in the
caller's transaction and reaches the counter store (``funnel.counters``) once it commits:
a rolled-back decision counts nothing. Counts wait there, outside the database, until the
next flush (``funnel.flush``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from funnel import counters
from funnel.core import CountKey, hour_of
from kernel.db import after_commit, after_rollback

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
