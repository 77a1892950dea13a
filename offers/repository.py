"""Offer reads for staff, scoped to the caller's stores (see ``stores.repository``)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.errors import NotFound
from kernel.pagination import keyset
from offers.models import Offer
from stores.repository import Scope, in_scope


def get(session: Session, offer_id: int, scope: Scope) -> Offer:
    offer = session.get(Offer, offer_id)
    if offer is None or not in_scope(offer.store_id, scope):
        raise NotFound(f"no offer {offer_id}")
    return offer


def of_store(session: Session, store_id: int, *, after: int, limit: int) -> list[Offer]:
    query = select(Offer).where(Offer.store_id == store_id)
    return list(session.scalars(keyset(query, Offer.id, after=after, limit=limit)))
