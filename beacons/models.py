"""The beacon registry: where each beacon is, how loud it is at 1 m, how healthy it is.

A beacon's zone is ``beacon:<store_id>:<zone>`` for presence and offers. Every change is
kept in ``beacon_events``, with the API key that made it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from shapely.geometry.base import BaseGeometry
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from kernel.db import Base, ShapeType, UTCDateTime, utcnow

ZONE_MAX = 40  # so "beacon:<store id>:<zone>" fits a notification's 64-character zone


class BeaconFormat(StrEnum):
    IBEACON = "ibeacon"
    ALTBEACON = "altbeacon"
    EDDYSTONE_UID = "eddystone-uid"
    EDDYSTONE_EID = "eddystone-eid"


class BeaconStatus(StrEnum):
    """``moved`` is in service but waits for a calibration at its new place."""

    ACTIVE = "active"
    MOVED = "moved"
    RETIRED = "retired"
    MISSING = "missing"


class Beacon(Base):
    __tablename__ = "beacons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    identity: Mapped[str] = mapped_column(String(100), unique=True)
    format: Mapped[str] = mapped_column(String(16))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), index=True)
    zone: Mapped[str] = mapped_column(String(ZONE_MAX))
    point: Mapped[BaseGeometry] = mapped_column(ShapeType())
    floor: Mapped[int | None] = mapped_column(Integer, nullable=True)
    measured_power_1m: Mapped[int] = mapped_column(Integer)
    # Eddystone-EID only: the key it was provisioned with, its rotation exponent K, and
    # the unix time at which its clock read 0.
    eid_identity_key: Mapped[bytes | None] = mapped_column(LargeBinary(16), nullable=True)
    eid_rotation_exponent: Mapped[int | None] = mapped_column(Integer, nullable=True)
    eid_epoch_s: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    spoofable: Mapped[bool] = mapped_column(Boolean)
    installed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    installed_by: Mapped[int | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL"), nullable=True
    )
    status: Mapped[str] = mapped_column(String(16), default=BeaconStatus.ACTIVE.value)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    battery_mv: Mapped[int | None] = mapped_column(Integer, nullable=True)
    temperature_c: Mapped[float | None] = mapped_column(Float, nullable=True)
    telemetry_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    visited_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    needs_visit: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    visit_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class BeaconEvent(Base):
    """One change to a beacon: registered, moved, calibrated, retired, visited, missing…"""

    __tablename__ = "beacon_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    beacon_id: Mapped[int] = mapped_column(ForeignKey("beacons.id", ondelete="CASCADE"), index=True)
    change: Mapped[str] = mapped_column(String(32))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    by_key_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL"), nullable=True
    )
