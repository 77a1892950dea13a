"""The funnel's counts per store, subject, UTC hour and metric, and the flushes applied.

Anonymous by construction: no user id in either table, so nothing here is personal data.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kernel.db import Base, UTCDateTime


class FunnelCount(Base):
    __tablename__ = "funnel_counts"
    __table_args__ = (
        # The flush adds into this row (ON CONFLICT … count = count + excluded.count).
        UniqueConstraint(
            "store_id", "subject", "subject_id", "hour", "metric", name="uq_funnel_counts"
        ),
        # The stats endpoint reads one store's hours.
        Index("ix_funnel_counts_store_hour", "store_id", "hour"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(8))
    # An offer's or a look's id: no foreign key, the counts outlive a deleted subject.
    subject_id: Mapped[int] = mapped_column(Integer)
    hour: Mapped[datetime] = mapped_column(UTCDateTime())
    metric: Mapped[str] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(BigInteger)


class FunnelFlush(Base):
    """A batch of counts already added to ``funnel_counts``: written in the same
    transaction, so a batch a crash left in Redis is never added twice."""

    __tablename__ = "funnel_flushes"

    batch_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    flushed_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
