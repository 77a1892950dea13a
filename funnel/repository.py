"""Every query of the funnel: the counts' upsert and reads, the flushes applied, and the
two reads of other domains' tables (by name: those domains sit above this one)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import column, delete, desc, select, table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from funnel.core import HELD_OUT, CountKey, Subject
from funnel.models import FunnelCount, FunnelFlush
from kernel.db import UTCDateTime

_KEY_COLUMNS = ["store_id", "subject", "subject_id", "hour", "metric"]
# Rows per INSERT: well under PostgreSQL's 65,535 bind parameters and SQLite's 32,766.
_CHUNK = 1000

_offers = table("offers", column("id"), column("title"))
_notifications = table(
    "notifications",
    column("user_id"),
    column("store_id"),
    column("offer_id"),
    column("status"),
    column("created_at", UTCDateTime()),
)
_codes = table(
    "redemption_codes",
    column("id"),
    column("user_id"),
    column("store_id"),
    column("used_at", UTCDateTime()),
)


def _insert(session: Session) -> Any:
    return sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert


def claim_batch(session: Session, *, batch_id: str, now: datetime) -> bool:
    """Record the batch as applied; ``False`` when it already was (by a flush that crashed
    before forgetting it, or by a concurrent one: its insert waits for that one's commit)."""
    statement = (
        _insert(session)(FunnelFlush)
        .values(batch_id=batch_id, flushed_at=now)
        .on_conflict_do_nothing()
        .returning(FunnelFlush.batch_id)
    )
    return session.scalar(statement) is not None


def add_counts(session: Session, counts: Mapping[CountKey, int]) -> None:
    """Add the counts to their rows, creating the missing ones; in key order, so two
    flushes lock rows in the same order and cannot deadlock."""
    rows = [
        {
            "store_id": k.store_id,
            "subject": k.subject,
            "subject_id": k.subject_id,
            "hour": k.hour,
            "metric": k.metric,
            "count": n,
        }
        for k, n in sorted(counts.items())
    ]
    for start in range(0, len(rows), _CHUNK):
        statement = _insert(session)(FunnelCount).values(rows[start : start + _CHUNK])
        statement = statement.on_conflict_do_update(
            index_elements=_KEY_COLUMNS,
            set_={"count": FunnelCount.__table__.c.count + statement.excluded.count},
        )
        session.execute(statement)


def forget_flushes(session: Session, *, before: datetime) -> None:
    session.execute(delete(FunnelFlush).where(FunnelFlush.flushed_at < before))


def counts_of(
    session: Session, *, store_id: int, start: datetime, end: datetime
) -> Iterator[tuple[CountKey, int]]:
    """A store's flushed counts of the hours in ``[start, end)``."""
    statement = select(
        FunnelCount.hour,
        FunnelCount.subject,
        FunnelCount.subject_id,
        FunnelCount.metric,
        FunnelCount.count,
    ).where(FunnelCount.store_id == store_id, FunnelCount.hour >= start, FunnelCount.hour < end)
    for hour, subject, subject_id, metric, count in session.execute(statement):
        yield CountKey(hour, store_id, subject, subject_id, metric), count


def titles(session: Session, *, subject: str, ids: set[int]) -> dict[int, str]:
    """Offers' titles. A look has none to show: it is a shopper's post, not the store's."""
    if subject != Subject.OFFER or not ids:
        return {}
    rows = session.execute(select(_offers.c.id, _offers.c.title).where(_offers.c.id.in_(ids)))
    return {row[0]: row[1] for row in rows}


def last_held_out(
    session: Session, *, user_id: int, store_id: int, since: datetime
) -> tuple[int, datetime] | None:
    """The offer and time of the user's latest held-out notification at the store since
    ``since`` (the notifications' user index narrows it to one user's rows)."""
    n = _notifications.c
    statement = (
        select(n.offer_id, n.created_at)
        .where(
            n.user_id == user_id,
            n.store_id == store_id,
            # The notification's status is the metric's name (notifications.models.HELD_OUT).
            n.status == HELD_OUT,
            n.offer_id.is_not(None),
            n.created_at >= since,
        )
        .order_by(desc(n.created_at))
        .limit(1)
    )
    row = session.execute(statement).first()
    return None if row is None else (row[0], row[1])


def redeemed_between(
    session: Session, *, user_id: int, store_id: int, start: datetime, end: datetime
) -> bool:
    """Whether the user redeemed any code at the store in ``[start, end)``."""
    c = _codes.c
    statement = select(c.id).where(
        c.user_id == user_id,
        c.store_id == store_id,
        c.used_at >= start,
        c.used_at < end,
    )
    return session.scalar(statement.limit(1)) is not None
