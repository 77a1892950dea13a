"""Stores: created by the operator, read by their own staff."""

from __future__ import annotations

from sqlalchemy.orm import Session

from kernel import versions
from kernel.db import AfterCommit, after_commit
from kernel.errors import Forbidden, NotFound
from kernel.principal import Role, Staff
from stores import repository
from stores.models import Store


def create_store(
    session: Session, *, staff: Staff, name: str, address: str | None, timezone: str = "UTC"
) -> Store:
    if staff.role is not Role.OPERATOR:
        raise Forbidden("only the operator creates stores")
    store = Store(name=name, address=address, timezone=timezone)
    session.add(store)
    session.flush()
    return store


def get_store(session: Session, *, staff: Staff, store_id: int) -> Store:
    """A store this key manages; another tenant's store is not found, like a missing one."""
    return repository.get(session, store_id, repository.managed_by(staff))


def list_stores(session: Session, *, staff: Staff, after: int, limit: int) -> list[Store]:
    return repository.page(session, staff.scope, after=after, limit=limit)


def update_store(
    session: Session,
    *,
    staff: Staff,
    store_id: int,
    name: str | None,
    address: str | None,
    timezone: str | None = None,
) -> Store:
    store = get_store(session, staff=staff, store_id=store_id)
    if name is not None:
        store.name = name
    if address is not None:
        store.address = address
    if timezone is not None:
        store.timezone = timezone
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
