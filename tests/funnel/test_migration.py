"""Migration 0018 creates the funnel's tables as the models describe them, on SQLite and
PostGIS, and takes them away."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from server.migrate import alembic_config, upgrade
from server.models import Base

TABLES = {"funnel_counts", "funnel_flushes"}


def _about_funnel(diff: object) -> bool:
    return "funnel_" in repr(diff)


def test_the_funnel_tables_match_the_models_and_go_away(fresh_engine: Engine) -> None:
    upgrade(fresh_engine, "0018")
    assert set(inspect(fresh_engine).get_table_names()) >= TABLES
    with fresh_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert [d for d in diff if _about_funnel(d)] == []
    columns = {c["name"] for c in inspect(fresh_engine).get_columns("funnel_counts")}
    assert not any("user" in c for c in columns), "the funnel is anonymous"

    with fresh_engine.begin() as conn:
        config = alembic_config()
        config.attributes["connection"] = conn
        command.downgrade(config, "0017")
    assert not TABLES & set(inspect(fresh_engine).get_table_names())
    upgrade(fresh_engine)
