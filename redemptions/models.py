"""Redemption codes: one-time codes a shopper shows at a store (see ``redemptions.core``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from kernel.db import Base, UTCDateTime, utcnow

KIND_CHECK = "kind IN ('offer', 'spend', 'purchase')"
SPEND_POINTS_CHECK = "kind <> 'spend' OR (points IS NOT NULL AND points > 0)"
_HAS_NOTIFICATION = text("notification_id IS NOT NULL")


class Code(Base):
    """A one-time code, bound to one user and one store (and, for an offer's code, to the
    offer and the notification that carried it); ``used_at`` is set once, by a claim."""

    __tablename__ = "redemption_codes"
    __table_args__ = (
        CheckConstraint(KIND_CHECK, name="ck_redemption_codes_kind"),
        CheckConstraint(SPEND_POINTS_CHECK, name="ck_redemption_codes_spend_points"),
        # One code per pushed offer, however many times a delivery retry asks for it.
        Index(
            "uq_redemption_codes_notification",
            "notification_id",
            unique=True,
            postgresql_where=_HAS_NOTIFICATION,
            sqlite_where=_HAS_NOTIFICATION,
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), index=True)
    offer_id: Mapped[int | None] = mapped_column(
        ForeignKey("offers.id", ondelete="SET NULL"), nullable=True, index=True
    )
    # A string reference: notifications sit above this domain and are never imported here.
    notification_id: Mapped[int | None] = mapped_column(
        ForeignKey("notifications.id", ondelete="SET NULL"), nullable=True
    )
    points: Mapped[int | None] = mapped_column(Integer, nullable=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
