"""Version counters of what processes hold in memory (the geofence index, the EID table).

Pub/sub is at most once: a message lost in a Redis blip, or a change made between a
process's first load and its subscription, would leave that process stale for good. So
every change to such a set also bumps a counter, in the same transaction, and each
process compares the counter with the one its copy reflects (at start, on every
(re)subscription, and on a slow periodic check), reloading when they differ.

Bumps are made by session events on the watched models, so every ORM path that changes
them (services, retention, cascades declared in the ORM) bumps without remembering to:

* a flush that adds, changes or deletes a watched instance;
* a bulk ``delete()`` statement on a watched model, or a bulk ``update()`` on one
  watched on every column.

A change that bypasses the ORM (a foreign-key cascade in the database, raw SQL, a data
migration) must call :func:`bump` itself; store deletion does, for its geofences.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Connection, Integer, String, Table, event, insert, inspect, select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import ORMExecuteState, Session

from kernel.db import Base

GEOFENCES = "geofences"
EIDS = "eids"

index_versions = Table(
    "index_versions",
    Base.metadata,
    Column("name", String(32), primary_key=True),
    Column("version", Integer, nullable=False, default=0),
)


def bump(connection: Connection, name: str) -> int:
    """Add one to ``name``'s counter in the connection's transaction; returns the new value.

    The row stays locked until the transaction ends, so fence edits commit one at a time
    and the counters' order is the commits' order.
    """
    column = index_versions.c.version
    row = connection.execute(
        sql_update(index_versions)
        .where(index_versions.c.name == name)
        .values(version=column + 1)
        .returning(column)
    ).first()
    if row is not None:
        return int(row[0])
    # The row is seeded by the migration; an emptied table (tests) starts again at 1.
    connection.execute(insert(index_versions).values(name=name, version=1))
    return 1


def read(connection: Connection, name: str) -> int:
    """The committed counter (0 when never bumped)."""
    value = connection.scalar(select(index_versions.c.version).where(index_versions.c.name == name))
    return 0 if value is None else int(value)


def bumped(session: Session, name: str) -> int | None:
    """The value this session's transaction bumped ``name`` to, if it did."""
    values: dict[str, int] = session.info.get("versions", {})
    return values.get(name)


def bump_in(session: Session, name: str) -> int:
    """Bump ``name`` in the session's transaction and remember the value for the caller."""
    value = bump(session.connection(), name)
    session.info.setdefault("versions", {})[name] = value
    return value


@dataclass(frozen=True, slots=True)
class _Watch:
    model: type[Any]
    names: tuple[str, ...]
    counts: Callable[[Any], bool]  # whether a new or deleted instance matters
    columns: frozenset[str] | None  # the columns whose change matters; None: any


_watches: list[_Watch] = []


def watch(
    model: type[Any],
    *names: str,
    counts: Callable[[Any], bool] = lambda _obj: True,
    columns: Iterable[str] | None = None,
) -> None:
    """Bump ``names`` whenever a flush or bulk statement changes ``model`` (idempotent)."""
    entry = _Watch(model, names, counts, None if columns is None else frozenset(columns))
    if entry not in _watches:
        _watches.append(entry)


def _changed(obj: Any, w: _Watch) -> bool:
    state = inspect(obj)
    attrs = state.attrs if w.columns is None else [state.attrs[c] for c in w.columns]
    return any(a.history.has_changes() for a in attrs)


@event.listens_for(Session, "before_flush")
def _on_flush(session: Session, _context: Any, _instances: Any) -> None:
    names: set[str] = set()
    for w in _watches:
        for obj in session.new | session.deleted:
            if isinstance(obj, w.model) and w.counts(obj):
                names.update(w.names)
        for obj in session.dirty:
            if isinstance(obj, w.model) and w.counts(obj) and _changed(obj, w):
                names.update(w.names)
    for name in sorted(names):  # a fixed order, so two transactions never deadlock
        bump_in(session, name)


@event.listens_for(Session, "do_orm_execute")
def _on_bulk(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete):
        return
    mapper = state.bind_mapper
    if mapper is None:
        return
    # A bulk update names no instance: it counts only for a model watched on any column
    # (a beacon's telemetry is updated in bulk and must not bump the EID table).
    names = {
        n
        for w in _watches
        if issubclass(mapper.class_, w.model) and (state.is_delete or w.columns is None)
        for n in w.names
    }
    for name in sorted(names):
        bump_in(state.session, name)


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop("versions", None)
