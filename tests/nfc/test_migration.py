"""Migration 0014 builds the NFC tag table the models describe, on SQLite and PostGIS,
refuses a UID registered twice on both, and takes it away."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, make_url, text
from sqlalchemy.exc import IntegrityError

from kernel.config import Settings
from kernel.db import make_engine
from server.migrate import alembic_config, upgrade
from server.models import Base

TAG = (
    "INSERT INTO nfc_tags (store_id, uid, placement, created_at) "
    "VALUES (1, :uid, 'counter', '2026-01-01 00:00:00+00:00')"
)


@pytest.fixture(params=["sqlite", "postgis"])
def fresh_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database of each kind (migrations must run on both)."""
    if request.param == "sqlite":
        engine = make_engine(Settings(database_url=f"sqlite:///{tmp_path}/m.db", var_dir=tmp_path))
        yield engine
        engine.dispose()
        return
    test_url = make_url(request.getfixturevalue("database_url"))
    name = f"{test_url.database}_m0014"
    admin = make_engine(Settings(database_url=test_url.render_as_string(False), var_dir=tmp_path))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = test_url.set(database=name).render_as_string(False)
    engine = make_engine(Settings(database_url=url, var_dir=tmp_path))
    yield engine
    engine.dispose()
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


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
