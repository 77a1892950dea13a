"""Notifications' personal data: what was sent to a user and why, and its deliveries
(which hold push tokens). Old notifications are purged after the retention period."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from kernel.config import Settings
from kernel.personal_data import Row, as_row, delete_rows, register
from notifications.models import Notification


def _export(session: Session, user_id: int) -> list[Row]:
    rows = session.scalars(
        select(Notification).where(Notification.user_id == user_id).order_by(Notification.id)
    )
    return [{**as_row(n), "deliveries": [as_row(d) for d in n.deliveries]} for n in rows]


def _erase(session: Session, user_id: int) -> int:
    # Deliveries go with them (ON DELETE CASCADE).
    return delete_rows(session, delete(Notification).where(Notification.user_id == user_id))


def _purge(session: Session, now: datetime, settings: Settings) -> int:
    cutoff = now - timedelta(days=settings.notification_retention_days)
    return delete_rows(session, delete(Notification).where(Notification.created_at < cutoff))


register("notifications", export=_export, erase=_erase, purge=_purge)
register("deliveries", within="notifications")
