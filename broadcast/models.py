"""Broadcasts: a store's flash offer to the users present near it now, and its progress.

Counts only, never who: the notifications themselves (one per user, in their inbox) are
where a person appears, and those are covered by the notifications' privacy rules.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kernel.db import Base, UTCDateTime, utcnow


class BroadcastStatus(StrEnum):
    QUEUED = "queued"  # created; the fan-out has not listed the audience yet
    RUNNING = "running"  # the audience is split into chunks, being decided
    DONE = "done"  # every chunk decided
    FAILED = "failed"  # a chunk or the fan-out hit an error that a retry cannot fix


class Broadcast(Base):
    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), index=True)
    # Kept when the store deletes the flash offer: the counts stay, the chunks left decide
    # nothing (no active offer).
    offer_id: Mapped[int | None] = mapped_column(
        ForeignKey("offers.id", ondelete="SET NULL"), nullable=True
    )
    radius_m: Mapped[int] = mapped_column(Integer)
    # The centroid of the store's geofences when it was sent: stores have no point yet.
    centre_lon: Mapped[float] = mapped_column(Float)
    centre_lat: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default=BroadcastStatus.QUEUED.value)
    targeted: Mapped[int] = mapped_column(Integer, default=0)
    sent: Mapped[int] = mapped_column(Integer, default=0)
    suppressed: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    chunks_total: Mapped[int] = mapped_column(Integer, default=0)
    chunks_done: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class BroadcastChunk(Base):
    """One decided chunk: its row is inserted first in the chunk's transaction, so a chunk
    run twice (a redelivered task) finds it and adds nothing to the counts."""

    __tablename__ = "broadcast_chunks"

    broadcast_id: Mapped[int] = mapped_column(
        ForeignKey("broadcasts.id", ondelete="CASCADE"), primary_key=True
    )
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    users: Mapped[int] = mapped_column(Integer)
    sent: Mapped[int] = mapped_column(Integer, default=0)
    suppressed: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    done_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
