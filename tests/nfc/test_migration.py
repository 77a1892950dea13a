"""Migration 0014 builds the NFC tag table the models describe, on SQLite and PostGIS,
refuses a UID registered twice on both, and takes it away."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from server.migrate import alembic_config, upgrade
from server.models import Base

TAG = (
    "INSERT INTO nfc_tags (store_id, uid, placement, created_at) "
    "VALUES (1, :uid, 'counter', '2026-01-01 00:00:00+00:00')"
)


def _mentions_ours(diff: object) -> bool:
    stack = [diff]
    while stack:
        item = stack.pop()
        if isinstance(item, tuple | list):
            stack.extend(item)
        elif getattr(item, "name", None) == "nfc_tags" or (
            getattr(getattr(item, "table", None), "name", None) == "nfc_tags"
        ):
            return True
    return False


def test_the_table_matches_the_model_and_refuses_a_uid_twice(fresh_engine: Engine) -> None:
    upgrade(fresh_engine, "0014")
    assert "nfc_tags" in inspect(fresh_engine).get_table_names()
    with fresh_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diff if _mentions_ours(d)] == []

    with fresh_engine.begin() as conn:
        conn.execute(
            text("INSERT INTO stores (id, name, created_at, updated_at) VALUES "
                 "(1, 'S', '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00')")
        )  # fmt: skip
        conn.execute(text(TAG), {"uid": "04A22B1C5D804D"})
    with pytest.raises(IntegrityError), fresh_engine.begin() as conn:
        conn.execute(text(TAG), {"uid": "04A22B1C5D804D"})

    with fresh_engine.begin() as conn:
        config = alembic_config()
        config.attributes["connection"] = conn
        command.downgrade(config, "0013")
    assert "nfc_tags" not in inspect(fresh_engine).get_table_names()
    upgrade(fresh_engine)
