"""Migration 0010 builds the looks tables the models describe, on SQLite and PostGIS,
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

TABLES = {"looks", "look_tags", "look_opens"}


def _mentions_ours(diff: object) -> bool:
    """Whether an autogenerate diff entry (entries nest as tuples) touches a looks table."""
    stack = [diff]
    while stack:
        entry = stack.pop()
        if isinstance(entry, tuple | list):
            stack.extend(entry)
        else:
            table = entry if hasattr(entry, "columns") else getattr(entry, "table", None)
            if getattr(table, "name", None) in TABLES:
                return True
    return False


def test_the_tables_match_the_models_and_go_away_on_downgrade(fresh_engine: Engine) -> None:
    upgrade(fresh_engine, "0010")
    assert set(inspect(fresh_engine).get_table_names()) >= TABLES
    with fresh_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diff if _mentions_ours(d)] == []

    at = "'2026-01-01 00:00:00+00:00'"
    with fresh_engine.begin() as conn:
        conn.execute(
            text(f"INSERT INTO users (id, token_hash, locale, timezone, created_at) "
                 f"VALUES (1, 'h', 'en', 'UTC', {at})")
        )  # fmt: skip
        conn.execute(
            text(f"INSERT INTO looks (id, user_id, caption, hashtags, created_at, updated_at) "
                 f"VALUES (1, 1, '', '[]', {at}, {at})")
        )  # fmt: skip
    with pytest.raises(IntegrityError), fresh_engine.begin() as conn:
        conn.execute(text("INSERT INTO look_tags (look_id) VALUES (1)"))  # neither item nor brand

    with fresh_engine.begin() as conn:
        config = alembic_config()
        config.attributes["connection"] = conn
        command.downgrade(config, "0009")
    assert not set(inspect(fresh_engine).get_table_names()) & TABLES
    upgrade(fresh_engine)
