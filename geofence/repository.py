"""Geofence reads for staff, scoped to the caller's stores (see ``stores.repository``)."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from geofence.models import Geofence
from kernel.errors import NotFound
from kernel.pagination import keyset
from stores.repository import Scope, in_scope


def get(session: Session, geofence_id: int, scope: Scope) -> Geofence:
    row = session.get(Geofence, geofence_id)
    if row is None or not in_scope(row.store_id, scope):
        raise NotFound(f"no geofence {geofence_id}")
    return row


def of_store(session: Session, store_id: int, *, after: int, limit: int) -> list[Geofence]:
    query = select(Geofence).where(Geofence.store_id == store_id)
    return list(session.scalars(keyset(query, Geofence.id, after=after, limit=limit)))


def of_store_by_ids(session: Session, store_id: int, ids: Collection[int]) -> list[Geofence]:
    """These geofences of this store; ids of other stores' geofences are left out."""
    query = select(Geofence).where(Geofence.store_id == store_id, Geofence.id.in_(list(ids)))
    return list(session.scalars(query))


def by_external_id(session: Session, store_id: int, external_id: str) -> Geofence | None:
    query = select(Geofence).where(
        Geofence.store_id == store_id, Geofence.external_id == external_id
    )
    return session.scalar(query)


def by_external_ids(
    session: Session, store_id: int, external_ids: Collection[str]
) -> dict[str, Geofence]:
    """The store's geofences with these external ids, by external id."""
    query = select(Geofence).where(
        Geofence.store_id == store_id, Geofence.external_id.in_(list(external_ids))
    )
    return {row.external_id: row for row in session.scalars(query) if row.external_id}


def all_of_store(session: Session, store_id: int) -> list[Geofence]:
    """Every geofence of the store, oldest first (an export)."""
    query = select(Geofence).where(Geofence.store_id == store_id).order_by(Geofence.id)
    return list(session.scalars(query))
