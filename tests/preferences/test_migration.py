"""Migration 0020 adds the id_shares table the model describes, on SQLite and PostGIS, and
takes it away."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from server.migrate import alembic_config, upgrade
from server.models import Base


def test_id_shares_match_the_model_and_go_away(fresh_engine: Engine) -> None:
    upgrade(fresh_engine, "0020")
    assert "id_shares" in inspect(fresh_engine).get_table_names()
    with fresh_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert [d for d in diff if "id_shares" in repr(d)] == []
    with fresh_engine.begin() as conn:
        config = alembic_config()
        config.attributes["connection"] = conn
        command.downgrade(config, "0019")
    assert "id_shares" not in inspect(fresh_engine).get_table_names()
    upgrade(fresh_engine)
