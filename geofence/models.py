"""Geofences: a store's polygon, multipolygon, or circle (a point and a radius in metres)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shapely.geometry.base import BaseGeometry
from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from kernel import versions
from kernel.db import Base, ShapeType, UTCDateTime, utcnow


class Geofence(Base):
    __tablename__ = "geofences"
    __table_args__ = (
        Index("ix_geofences_geometry", "geometry", postgresql_using="gist"),
        # An import matches rows by it; NULLs are distinct, so many fences have none.
        Index("uq_geofences_store_external_id", "store_id", "external_id", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    geometry: Mapped[BaseGeometry] = mapped_column(ShapeType())
    radius_m: Mapped[float | None] = mapped_column(Float, nullable=True)
    dwell_s: Mapped[int] = mapped_column(Integer, default=300)
    # The store's own system's key for it (stores.labels): unique within the store.
    external_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    # "metadata" is taken on declarative classes: the attribute is ``meta``.
    meta: Mapped[dict[str, Any]] = mapped_column(
        "metadata", JSON, default=dict, server_default=text("'{}'")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


# Every flush that adds, redraws or deletes a geofence bumps the fence-set version in its
# transaction, whoever flushes; the processes' indexes compare it (geofence/sync.py).
versions.watch(Geofence, versions.GEOFENCES)
