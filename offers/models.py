"""Offers: what a store pushes, to which segments, from which geofences, when."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    event,
    select,
    true,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from geofence.models import Geofence
from kernel import versions
from kernel.db import Base, UTCDateTime, utcnow
from preferences.models import Segment
from stores.models import Store

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
    # Which offer takes the last push of the user's daily cap: higher first.
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Budget: at most this many pushes in all, and per day of the store's calendar; null
    # is no limit. The counts live in offer_budgets, one row per offer (claimed atomically).
    max_sends: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_sends_per_day: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # When in the store's week it may fire: {"days": [0..6, Monday = 0], "start": "HH:MM",
    # "end": "HH:MM"} in the store's time zone; null is any time.
    schedule: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # A DWELL offer's "dwell ≥ N minutes" (null: at the zone's own DWELL).
    dwell_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Only useful while the shopper is there: expires with the visit, withdrawn on EXIT,
    # dropped (not deferred) in quiet hours.
    place_bound: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Percent of eligible users kept as a control group (never pushed), for the lift.
    holdout_pct: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Fires only on presence events at least this sure: low, medium or high
    # (presence.confidence); null is any.
    min_confidence: Mapped[str | None] = mapped_column(String(8), nullable=True)
    # Why the system turned the offer off (its last geofence deleted); None when the store
    # did, or while active.
    inactive_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # Beacon zone names of the store ("shoe aisle"); the offer fires in these zones too.
    zones: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    segments: Mapped[list[Segment]] = relationship(secondary=offer_segments, lazy="selectin")
    geofences: Mapped[list[Geofence]] = relationship(secondary=offer_geofences, lazy="selectin")


class OfferBudget(Base):
    """How much of its budget an offer has used: one row per budgeted offer, updated with
    a conditional UPDATE so concurrent decisions never overspend."""

    __tablename__ = "offer_budgets"

    offer_id: Mapped[int] = mapped_column(
        ForeignKey("offers.id", ondelete="CASCADE"), primary_key=True
    )
    sent: Mapped[int] = mapped_column(Integer, default=0)
    day: Mapped[date | None] = mapped_column(Date, nullable=True)  # the store's day of day_sent
    day_sent: Mapped[int] = mapped_column(Integer, default=0)


# Processes keep the active offers per store, with the labels and store names a
# notification's reason quotes (notifications/rules.py): every flush that changes any of
# them bumps the ``offers`` counter, so each process drops its copy at the next decision.
OFFERS = "offers"
versions.watch(Offer, OFFERS)
versions.watch(Geofence, OFFERS)
versions.watch(Segment, OFFERS)
versions.watch(Store, OFFERS, columns=["name", "timezone"])


@event.listens_for(Session, "before_flush")
def _stop_offers_losing_their_last_geofence(session: Session, _ctx: Any, _inst: Any) -> None:
    """An offer with no geofence and no zone fires at every fence of its store, so one
    whose last named geofence is deleted would widen instead of stopping: deactivate it,
    with the reason shown to the store (in the deleting flush, whatever path deletes)."""
    gone = {g.id: g for g in session.deleted if isinstance(g, Geofence)}
    if not gone:
        return
    linked = select(offer_geofences.c.offer_id).where(offer_geofences.c.geofence_id.in_(gone))
    for offer in session.scalars(select(Offer).where(Offer.id.in_(linked))):
        if offer.zones or any(g.id not in gone for g in offer.geofences) or not offer.active:
            continue
        names = ", ".join(f"{g.id} ({g.name})" for g in offer.geofences if g.id in gone)
        offer.active = False
        offer.inactive_reason = f"its last geofence {names} was deleted"[:200]
