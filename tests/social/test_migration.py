"""Migration 0009 builds the social tables the models describe, on SQLite and PostGIS,
and takes them away again."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from server.migrate import alembic_config, upgrade
from server.models import Base

TABLES = {"profiles", "friend_invites", "friendships", "blocks", "favourite_stores"}


def _downgrade(engine: Engine, revision: str) -> None:
    with engine.begin() as conn:
        config = alembic_config()
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def test_the_tables_match_the_models_and_go_away_on_downgrade(fresh_engine: Engine) -> None:
    upgrade(fresh_engine, "0009")
    assert set(inspect(fresh_engine).get_table_names()) >= TABLES
    with fresh_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    ours = [d for d in diff if TABLES & {getattr(x, "name", None) for x in _tables_in(d)}]
    assert ours == []

    with fresh_engine.begin() as conn:
        conn.execute(
            text("INSERT INTO users (id, token_hash, locale, timezone, created_at) "
                 "VALUES (1, 'h', 'en', 'UTC', '2026-01-01 00:00:00+00:00')")
        )  # fmt: skip
    with pytest.raises(IntegrityError), fresh_engine.begin() as conn:
        conn.execute(
            text("INSERT INTO friendships (user_id, friend_id, created_at) "
                 "VALUES (1, 1, '2026-01-01 00:00:00+00:00')")
        )  # fmt: skip

    _downgrade(fresh_engine, "0008")
    assert not set(inspect(fresh_engine).get_table_names()) & TABLES
    upgrade(fresh_engine)


def _tables_in(diff: object) -> list[object]:
    """The table objects an autogenerate diff entry mentions (entries nest as tuples)."""
    found: list[object] = []
    stack = [diff]
    while stack:
        item = stack.pop()
        if isinstance(item, tuple | list):
            stack.extend(item)
        elif hasattr(item, "columns") and hasattr(item, "name"):
            found.append(item)
        elif hasattr(item, "table"):
            found.append(item.table)
    return found
