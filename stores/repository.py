"""Store queries, scoped to the caller: a store outside the key's scope is not found."""

from __future__ import annotations

from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session

from kernel.errors import Forbidden, NotFound
from kernel.pagination import keyset
from kernel.principal import Role, Staff
from stores.models import Store

Scope = frozenset[int] | None
"""Store ids a caller may see; ``None`` for every store."""


def managed_by(staff: Staff) -> Scope:
    """The stores whose data (the store, its geofences and offers) this key manages.

    A tech key manages beacons, not store data: refused for its role, which names no store.
    """
    if staff.role is Role.OPERATOR:
        return None
    if staff.role is Role.STORE:
        return staff.store_ids
    raise Forbidden("store data is managed with a store or operator key, not a tech key")


def in_scope(store_id: int, scope: Scope) -> bool:
    return scope is None or store_id in scope


def get(session: Session, store_id: int, scope: Scope) -> Store:
    # Another tenant's store answers exactly like a missing one: ids cannot be enumerated.
    store = session.get(Store, store_id) if in_scope(store_id, scope) else None
    if store is None:
        raise NotFound(f"no store {store_id}")
    return store


def page(
    session: Session,
    scope: Scope,
    *,
    after: int,
    limit: int,
    tag: str | None = None,
    external_id: str | None = None,
) -> list[Store]:
    query = select(Store)
    if scope is not None:
        query = query.where(Store.id.in_(scope))
    if tag is not None:
        # Tags are slugs (no quote, no backslash, ASCII): their JSON text is '"tag"' on
        # both databases, so a substring match with the quotes is an exact tag match.
        query = query.where(cast(Store.tags, String).contains(f'"{tag}"', autoescape=True))
    if external_id is not None:
        query = query.where(Store.external_id == external_id)
    return list(session.scalars(keyset(query, Store.id, after=after, limit=limit)))


def by_external_id(session: Session, external_id: str) -> Store | None:
    """Whichever store holds this external id, in any scope (uniqueness is fleet-wide)."""
    return session.scalar(select(Store).where(Store.external_id == external_id))
