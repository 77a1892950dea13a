"""Migration 0012 builds the rewards tables the models describe, on SQLite and PostGIS,
with the CHECK that refuses a user's negative balance on both, and takes them away."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from server.migrate import alembic_config, upgrade
from server.models import Base

TABLES = {"reward_rules", "ledger_accounts", "ledger_transfers", "purchases"}
ACCOUNT = (
    "INSERT INTO ledger_accounts (key, kind, store_id, balance, created_at) "
    "VALUES (:key, :kind, 1, :balance, '2026-01-01 00:00:00+00:00')"
)


def _mentions_ours(diff: object) -> bool:
    stack = [diff]
    while stack:
        item = stack.pop()
        if isinstance(item, tuple | list):
            stack.extend(item)
        elif (getattr(item, "name", None) in TABLES and hasattr(item, "columns")) or getattr(
            getattr(item, "table", None), "name", None
        ) in TABLES:
            return True
    return False


def test_the_tables_match_the_models_and_refuse_a_negative_user_balance(
    fresh_engine: Engine,
) -> None:
    upgrade(fresh_engine, "0012")
    assert set(inspect(fresh_engine).get_table_names()) >= TABLES
    with fresh_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diff if _mentions_ours(d)] == []

    with fresh_engine.begin() as conn:
        conn.execute(
            text("INSERT INTO stores (id, name, created_at, updated_at) VALUES "
                 "(1, 'S', '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00')")
        )  # fmt: skip
        conn.execute(text(ACCOUNT), {"key": "l", "kind": "store_liability", "balance": -5})
    with pytest.raises(IntegrityError), fresh_engine.begin() as conn:
        conn.execute(text(ACCOUNT), {"key": "u", "kind": "user_available", "balance": -1})

    with fresh_engine.begin() as conn:
        config = alembic_config()
        config.attributes["connection"] = conn
        command.downgrade(config, "0011")
    assert not set(inspect(fresh_engine).get_table_names()) & TABLES
    upgrade(fresh_engine)
