"""The funnel's world: the redemptions' till (a store, its staff, an offer, a shopper) and
notifications of any status, written as the decision records them."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from funnel.service import tally
from kernel.db import unit_of_work
from notifications.models import Notification
from tests.redemptions.factories import Till


def notification(
    sessions: sessionmaker[Session],
    t: Till,
    *,
    status: str = "sent",
    created_at: datetime | None = None,
    user_id: int | None = None,
) -> int:
    """A notification of the till's offer; its id."""
    at = created_at or datetime.now(UTC)
    with unit_of_work(sessions) as session:
        note = Notification(
            user_id=user_id or t.user_id,
            offer_id=t.offer_id,
            store_id=t.store_id,
            zone="geofence:1",
            trigger="enter",
            reason={},
            title="-20% today",
            body="Show this at the till.",
            day=at.date(),
            status=status,
            created_at=at,
        )
        session.add(note)
        session.flush()
        return note.id


def counted(
    sessions: sessionmaker[Session], t: Till, counts: dict[str, int], *, at: datetime
) -> None:
    """Counts for the till's offer, as the decision tallies them."""
    with unit_of_work(sessions) as session:
        for metric, n in counts.items():
            tally(
                session,
                store_id=t.store_id,
                subject="offer",
                subject_id=t.offer_id,
                metric=metric,
                at=at,
                n=n,
            )
