"""Offers in the decision's terms: the active offers of the stores an event touched."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifications.decide import OfferRule
from offers.models import Offer
from presence.core import Transition, ZoneKey


def active_offers(session: Session, *, store_ids: Iterable[int]) -> list[Offer]:
    """The active offers of these stores, with their segments and geofences loaded."""
    query = select(Offer).where(Offer.store_id.in_(list(store_ids)), Offer.active.is_(True))
    return list(session.scalars(query))


def as_rule(o: Offer) -> OfferRule:
    """An offer in the decision's terms."""
    return OfferRule(
        id=o.id,
        store_id=o.store_id,
        segments=frozenset(s.slug for s in o.segments),
        trigger=Transition(o.trigger),
        zones=frozenset(
            [str(ZoneKey("geofence", g.id)) for g in o.geofences]
            + [str(ZoneKey("beacon", o.store_id, z)) for z in o.zones]
        )
        or None,
        starts_at=o.starts_at.timestamp() if o.starts_at else None,
        ends_at=o.ends_at.timestamp() if o.ends_at else None,
    )
