"""A push after it left: the first device that accepts it (``delivered``), and the user
opening it (``opened``, the ``push.opened`` event). Both counted once per notification."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from accounts.models import User
from events.core import PUSH_OPENED
from events.service import emit
from funnel.core import DELIVERED, OPENED, Subject
from funnel.service import tally
from kernel.errors import Conflict, NotFound
from notifications.models import DEFERRED, HELD_OUT, SUPPRESSED, Delivery, Notification

_NEVER_PUSHED = {
    SUPPRESSED: "was held back by your delivery preferences and never pushed",
    HELD_OUT: "was kept back for comparison and never pushed",
    DEFERRED: "waits for the end of your quiet hours and is not pushed yet",
}


def _count(session: Session, note: Notification, metric: str, at: datetime) -> None:
    if note.store_id is None:
        return  # its store was deleted: no store reads these counts any more
    if note.offer_id is not None:
        subject, subject_id = Subject.OFFER, note.offer_id
    elif note.look_id is not None:
        subject, subject_id = Subject.LOOK, note.look_id
    else:
        return
    tally(
        session,
        store_id=note.store_id,
        subject=subject,
        subject_id=subject_id,
        metric=metric,
        at=at,
    )


def count_delivered(
    session: Session, note: Notification, deliveries: Iterable[Delivery], at: datetime
) -> None:
    """Called as a device accepts the push: counts ``delivered`` when it is the first."""
    if sum(d.status == "sent" for d in deliveries) == 1:
        _count(session, note, DELIVERED, at)


def open_notification(
    session: Session, *, user: User, notification_id: int, now: datetime
) -> Notification:
    """Mark the user's notification opened. Idempotent: the first call sets ``opened_at``,
    emits ``push.opened`` and counts ``opened``; later calls change nothing. Another user's
    notification is not found (404); one never pushed cannot be opened (409)."""
    note = session.get(Notification, notification_id)
    if note is None or note.user_id != user.id:
        raise NotFound(f"no notification {notification_id} for this user")
    if note.opened_at is not None:
        return note
    why = _NEVER_PUSHED.get(note.status)
    if why is not None:
        raise Conflict(f"notification {notification_id} cannot be opened: it {why}")
    # Guarded, so of two opens racing (a double tap) only one counts.
    mark = (
        update(Notification)
        .where(Notification.id == note.id, Notification.opened_at.is_(None))
        .values(opened_at=now)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], session.execute(mark)).rowcount != 1:
        session.refresh(note, ["opened_at"])
        return note
    set_committed_value(note, "opened_at", now)
    emit(
        session,
        name=PUSH_OPENED,
        store_id=note.store_id,
        user_id=note.user_id,
        payload={"notification_id": note.id, "offer_id": note.offer_id, "look_id": note.look_id},
        at=now,
    )
    _count(session, note, OPENED, now)
    return note
