"""Offers: what a store pushes, to which segments, from which geofences, when."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from geofence.models import Geofence
from kernel.db import Base, UTCDateTime, utcnow
from preferences.models import Segment

offer_segments = Table(
    "offer_segments",
    Base.metadata,
    Column("offer_id", ForeignKey("offers.id", ondelete="CASCADE"), primary_key=True),
    Column("segment_id", ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True),
)

offer_geofences = Table(
    "offer_geofences",
    Base.metadata,
    Column("offer_id", ForeignKey("offers.id", ondelete="CASCADE"), primary_key=True),
    Column("geofence_id", ForeignKey("geofences.id", ondelete="CASCADE"), primary_key=True),
)


class Offer(Base):
    __tablename__ = "offers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    deep_link: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    trigger: Mapped[str] = mapped_column(String(16), default="enter")
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Beacon zone names of the store ("shoe aisle"); the offer fires in these zones too.
    zones: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    segments: Mapped[list[Segment]] = relationship(secondary=offer_segments, lazy="selectin")
    geofences: Mapped[list[Geofence]] = relationship(secondary=offer_geofences, lazy="selectin")
