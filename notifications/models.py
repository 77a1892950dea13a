"""Notifications (what was decided for whom, and why) and their per-device deliveries."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kernel.db import Base, UTCDateTime, utcnow

HELD_OUT = "held_out"
"""Status of a decision that chose the user for an offer's control group: recorded for the
lift, never pushed, never counted against the daily cap."""

DEFERRED = "deferred"
"""Status of a push held until the user's quiet hours end (``next_attempt_at``)."""

SUPPRESSED = "suppressed"
"""Status of a decision the user's delivery preferences held back: kept in the inbox, never
pushed, never counted against the daily cap."""

CANCELLED = "cancelled"
"""Status of a deferred push the user no longer wants (consent withdrawn, store muted)."""

EXPIRED = "expired"
"""Status of a place-bound push whose visit ended before it could be delivered."""

OWED = ("pending", "retrying", "partial", DEFERRED)
"""Statuses of a notification whose delivery is not finished (``partial``: sent to some
devices, retrying others; ``deferred``: due at the end of quiet hours): the sweeper's
concern."""

_IS_SUPPRESSED = text(f"status = '{SUPPRESSED}'")
_NOT_SUPPRESSED = text(f"status <> '{SUPPRESSED}'")


class Notification(Base):
    __tablename__ = "notifications"
    # The daily cap "one push per user per offer per day" is enforced here, not in memory,
    # so concurrent API processes cannot both win. A suppressed decision does not take the
    # day's slot (the offer may still be sent once quiet hours end) and is itself recorded
    # at most once per offer and day, so a shopper pacing in and out does not fill the inbox.
    __table_args__ = (
        Index(
            "uq_notification_sent_day",
            "user_id",
            "offer_id",
            "day",
            unique=True,
            postgresql_where=_NOT_SUPPRESSED,
            sqlite_where=_NOT_SUPPRESSED,
        ),
        Index(
            "uq_notification_suppressed_day",
            "user_id",
            "offer_id",
            "day",
            unique=True,
            postgresql_where=_IS_SUPPRESSED,
            sqlite_where=_IS_SUPPRESSED,
        ),
        # The same two caps for friends' looks: one push per look per day.
        Index(
            "uq_notification_look_sent_day",
            "user_id",
            "look_id",
            "day",
            unique=True,
            postgresql_where=_NOT_SUPPRESSED,
            sqlite_where=_NOT_SUPPRESSED,
        ),
        Index(
            "uq_notification_look_suppressed_day",
            "user_id",
            "look_id",
            "day",
            unique=True,
            postgresql_where=_IS_SUPPRESSED,
            sqlite_where=_IS_SUPPRESSED,
        ),
        Index("ix_notifications_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    offer_id: Mapped[int | None] = mapped_column(
        ForeignKey("offers.id", ondelete="SET NULL"), nullable=True
    )
    # A friend's look pushed instead of an offer (offer_id is then null). The looks table
    # by name: the looks domain sits below notifications and is not imported here.
    look_id: Mapped[int | None] = mapped_column(
        ForeignKey("looks.id", ondelete="SET NULL"), nullable=True
    )
    store_id: Mapped[int | None] = mapped_column(
        ForeignKey("stores.id", ondelete="SET NULL"), nullable=True
    )
    zone: Mapped[str] = mapped_column(String(64))
    trigger: Mapped[str] = mapped_column(String(16))
    reason: Mapped[dict[str, Any]] = mapped_column(JSON)
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    deep_link: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    day: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # A place-bound push expires with the visit: at expires_at (its TTL), or at the EXIT
    # (expired_at set then, and the inbox shows it as expired).
    place_bound: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # When the sweeper should next make sure a delivery task exists for this notification:
    # its creation, then the planned retry; null once nothing is owed.
    next_attempt_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime(), default=utcnow, nullable=True
    )

    deliveries: Mapped[list[Delivery]] = relationship(
        back_populates="notification", cascade="all, delete-orphan", passive_deletes=True
    )


class Delivery(Base):
    """One notification to one device; the row is the send-once record."""

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("notification_id", "token", name="uq_delivery_token"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notification_id: Mapped[int] = mapped_column(
        ForeignKey("notifications.id", ondelete="CASCADE"), index=True
    )
    token: Mapped[str] = mapped_column(String(4096))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    message_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    notification: Mapped[Notification] = relationship(back_populates="deliveries")
