"""Migration 0021 adds the stores' and geofences' external ids, tags, metadata and the
stores' location the models describe, on SQLite and PostGIS, keeps existing rows (with
no labels), enforces the uniqueness, and takes it all away."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from server.migrate import alembic_config, upgrade
from server.models import Base

STORE_COLUMNS = {"external_id", "tags", "metadata", "lon", "lat"}
FENCE_COLUMNS = {"external_id", "tags", "metadata"}
NEW_INDEXES = ("uq_stores_external_id", "uq_geofences_store_external_id")


def _columns(engine: Engine, table: str) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns(table)}


def _about_bulk_data(diff: object) -> bool:
    first = diff[0] if isinstance(diff, list) else diff
    assert isinstance(first, tuple)
    if first[0] in ("add_column", "remove_column"):
        return first[2] in ("stores", "geofences") and first[3].name in STORE_COLUMNS
    if first[0] in ("add_index", "remove_index"):
        return first[1].name in NEW_INDEXES
    return any(name in repr(first) for name in (*STORE_COLUMNS, *NEW_INDEXES))


def test_labels_and_location_match_the_models_keep_rows_and_go_away(
    fresh_engine: Engine,
) -> None:
    upgrade(fresh_engine, "0020")
    with fresh_engine.begin() as conn:
        conn.execute(
            text("INSERT INTO stores (id, name, timezone, created_at, updated_at) VALUES "
                 "(1, 'S', 'UTC', '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00')")
        )  # fmt: skip
    upgrade(fresh_engine, "0021")
    assert _columns(fresh_engine, "stores") >= STORE_COLUMNS
    assert _columns(fresh_engine, "geofences") >= FENCE_COLUMNS
    with fresh_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert [d for d in diff if _about_bulk_data(d)] == []
        row = conn.execute(text("SELECT external_id, tags, metadata, lon, lat FROM stores")).one()
        assert (row.external_id, row.lon, row.lat) == (None, None, None)
        assert row.tags in ("[]", [])
        assert row.metadata in ("{}", {})

    # Many stores without an external id; two with the same one are refused.
    with fresh_engine.begin() as conn:
        conn.execute(
            text("INSERT INTO stores (id, name, timezone, created_at, updated_at) VALUES "
                 "(2, 'T', 'UTC', '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00')")
        )  # fmt: skip
        conn.execute(text("UPDATE stores SET external_id = 'A' WHERE id = 1"))
    with pytest.raises(IntegrityError), fresh_engine.begin() as conn:
        conn.execute(text("UPDATE stores SET external_id = 'A' WHERE id = 2"))

    with fresh_engine.begin() as conn:
        config = alembic_config()
        config.attributes["connection"] = conn
        command.downgrade(config, "0020")
    assert not STORE_COLUMNS & _columns(fresh_engine, "stores")
    assert not FENCE_COLUMNS & _columns(fresh_engine, "geofences")
    upgrade(fresh_engine)
