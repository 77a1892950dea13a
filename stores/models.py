"""Stores: the shops that draw geofences and publish offers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from kernel.db import Base, UTCDateTime, utcnow


class Store(Base):
    __tablename__ = "stores"
    # NULLs are distinct in a unique index (PostgreSQL and SQLite): many stores have none.
    __table_args__ = (Index("uq_stores_external_id", "external_id", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(400), nullable=True)
    # IANA name: offers' schedules and daily budgets follow the store's own clock.
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    # The store's own system's key for it (stores.labels): unique across the fleet.
    external_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    # "metadata" is taken on declarative classes: the attribute is ``meta``.
    meta: Mapped[dict[str, Any]] = mapped_column(
        "metadata", JSON, default=dict, server_default=text("'{}'")
    )
    # Where the map centres and what the geofences' far-from-store check measures from.
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    @property
    def location(self) -> tuple[float, float] | None:
        """(lon, lat), or None when the store has not been placed."""
        if self.lon is None or self.lat is None:
            return None
        return self.lon, self.lat
