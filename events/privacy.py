"""The event log's personal data: events naming a user. Erasure pseudonymises them (the
user id goes, the store's visit counts stay); the purge drops them after the
notifications' retention. Deliveries carry no user id of their own and build their body
from the event at send time, so they follow it."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from events.models import Event
from kernel.config import Settings
from kernel.personal_data import Row, as_row, delete_rows, register


def _export(session: Session, user_id: int) -> list[Row]:
    rows = session.scalars(select(Event).where(Event.user_id == user_id).order_by(Event.id))
    return [as_row(e) for e in rows]


def _purge(session: Session, now: datetime, settings: Settings) -> int:
    # Kept as long as the notifications they mostly describe; their deliveries go with them.
    cutoff = now - timedelta(days=settings.notification_retention_days)
    return delete_rows(session, delete(Event).where(Event.at < cutoff))


def _erase(session: Session, user_id: int) -> int:
    result = session.execute(update(Event).where(Event.user_id == user_id).values(user_id=None))
    return int(getattr(result, "rowcount", 0) or 0)


register("events", export=_export, erase=_erase, purge=_purge)
register("webhook_deliveries", within="events")
