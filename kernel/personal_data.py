"""Where each domain declares the personal data it keeps, so export and erasure are complete.

A domain that stores rows about a user registers each of its tables here, keyed by table
name, with how to export the user's rows and how to erase them (and, if the data ages
out, how to purge it). Per-user Redis keys register their key patterns. A test walks
every table of ``server.models.Base.metadata``: a table that points at a user, directly
or through another personal table, and is not registered fails it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from shapely.geometry.base import BaseGeometry
from sqlalchemy import CursorResult, Delete, inspect
from sqlalchemy.orm import Session

from kernel.config import Settings

Row = dict[str, Any]
Exporter = Callable[[Session, int], list[Row]]
Eraser = Callable[[Session, int], int]
Purger = Callable[[Session, datetime, Settings], int]


@dataclass(frozen=True, slots=True)
class PersonalTable:
    """``within``: exported and erased as part of another table's rows (deliveries with
    their notification), so it has no functions of its own."""

    table: str
    export: Exporter | None
    erase: Eraser | None
    within: str | None
    purge: Purger | None


@dataclass(frozen=True, slots=True)
class RedisKeys:
    """Key patterns with a ``{user_id}`` placeholder; ``*`` globs are matched with SCAN."""

    owner: str
    patterns: tuple[str, ...]


_tables: dict[str, PersonalTable] = {}
_redis: dict[str, RedisKeys] = {}


def register(
    table: str,
    *,
    export: Exporter | None = None,
    erase: Eraser | None = None,
    within: str | None = None,
    purge: Purger | None = None,
) -> None:
    if (export is None or erase is None) == (within is None):
        raise ValueError(f"{table}: give export and erase, or within, not both")
    if table in _tables:
        raise ValueError(f"{table} is registered twice")
    _tables[table] = PersonalTable(table, export, erase, within, purge)


def register_redis(owner: str, *patterns: str) -> None:
    if any("{user_id}" not in p for p in patterns):
        raise ValueError(f"{owner}: every pattern needs a {{user_id}} placeholder")
    _redis[owner] = RedisKeys(owner, patterns)


def tables() -> dict[str, PersonalTable]:
    return dict(_tables)


def redis_keys() -> list[RedisKeys]:
    return list(_redis.values())


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, BaseGeometry):
        return value.wkt
    return value


def as_row(obj: object, *, exclude: frozenset[str] = frozenset()) -> Row:
    """A mapped object's columns as JSON-ready values."""
    return {
        attr.key: _plain(getattr(obj, attr.key))
        for attr in inspect(obj).mapper.column_attrs
        if attr.key not in exclude
    }


def delete_rows(session: Session, statement: Delete) -> int:
    """Run a DELETE; how many rows it removed."""
    return int(cast(CursorResult[Any], session.execute(statement)).rowcount)
