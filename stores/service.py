"""Stores: created by the operator, read by their own staff."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from kernel import versions
from kernel.db import AfterCommit, after_commit
from kernel.errors import Conflict, Forbidden, NotFound
from kernel.principal import Role, Staff
from stores import repository
from stores.models import Store


def create_store(
    session: Session,
    *,
    staff: Staff,
    name: str,
    address: str | None,
    timezone: str = "UTC",
    location: tuple[float, float] | None = None,
    external_id: str | None = None,
    tags: Sequence[str] = (),
    metadata: Mapping[str, Any] | None = None,
) -> Store:
    """A new store; 409 when another store already uses ``external_id``."""
    if staff.role is not Role.OPERATOR:
        raise Forbidden("only the operator creates stores")
    _check_external_id(session, staff, external_id, store_id=None)
    lon, lat = location if location is not None else (None, None)
    store = Store(
        name=name,
        address=address,
        timezone=timezone,
        lon=lon,
        lat=lat,
        external_id=external_id,
        tags=list(tags),
        meta=dict(metadata or {}),
    )
    session.add(store)
    session.flush()
    return store


def _check_external_id(
    session: Session, staff: Staff, external_id: str | None, *, store_id: int | None
) -> None:
    if external_id is None:
        return
    holder = repository.by_external_id(session, external_id)
    if holder is None or holder.id == store_id:
        return
    # Only the operator, who sees every store, is told which one: a store key must not
    # learn another tenant's store ids.
    whose = f"store {holder.id}" if staff.role is Role.OPERATOR else "another store"
    raise Conflict(f"external_id {external_id!r} is already used by {whose}")


def get_store(session: Session, *, staff: Staff, store_id: int) -> Store:
    """A store this key manages; another tenant's store is not found, like a missing one."""
    return repository.get(session, store_id, repository.managed_by(staff))


def list_stores(
    session: Session,
    *,
    staff: Staff,
    after: int,
    limit: int,
    tag: str | None = None,
    external_id: str | None = None,
) -> list[Store]:
    return repository.page(
        session, staff.scope, after=after, limit=limit, tag=tag, external_id=external_id
    )


def update_store(
    session: Session, *, staff: Staff, store_id: int, changes: Mapping[str, Any]
) -> Store:
    """Set the fields in ``changes`` (name, address, timezone, location as (lon, lat) or
    None, external_id or None, tags, metadata); the others stay."""
    store = get_store(session, staff=staff, store_id=store_id)
    if "external_id" in changes:
        _check_external_id(session, staff, changes["external_id"], store_id=store.id)
        store.external_id = changes["external_id"]
    for name in ("name", "address", "timezone"):
        if name in changes:
            setattr(store, name, changes[name])
    if "location" in changes:
        store.lon, store.lat = changes["location"] or (None, None)
    if "tags" in changes:
        store.tags = list(changes["tags"])
    if "metadata" in changes:
        store.meta = dict(changes["metadata"])
    session.flush()
    return store


def delete_store(session: Session, *, staff: Staff, store_id: int, on_deleted: AfterCommit) -> None:
    """The database cascades the store's geofences and beacons away, past the ORM's
    change tracking, so both in-memory versions are bumped here and ``on_deleted`` (the
    processes' resync) runs after commit."""
    if staff.role is not Role.OPERATOR:
        raise Forbidden("only the operator deletes stores")
    store = session.get(Store, store_id)
    if store is None:
        raise NotFound(f"no store {store_id}")
    session.delete(store)
    session.flush()
    for name in (versions.EIDS, versions.GEOFENCES):  # the order every bump takes
        versions.bump_in(session, name)
    after_commit(session, on_deleted)
