"""Migration 0016 adds the offers' priority the model describes, on SQLite and PostGIS,
defaulting existing offers to 0, and takes it away."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from server.migrate import alembic_config, upgrade
from server.models import Base


def _columns(engine: Engine) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns("offers")}


def _about_priority(diff: object) -> bool:
    return "priority" in repr(diff)


def test_priority_matches_the_model_defaults_to_zero_and_goes_away(fresh_engine: Engine) -> None:
    upgrade(fresh_engine, "0015")
    with fresh_engine.begin() as conn:
        conn.execute(
            text("INSERT INTO stores (id, name, created_at, updated_at) VALUES "
                 "(1, 'S', '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00')")
        )  # fmt: skip
        conn.execute(
            text("INSERT INTO offers (id, store_id, title, body, trigger, active, zones, "
                 "created_at, updated_at) VALUES (1, 1, 't', 'b', 'enter', true, '[]', "
                 "'2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00')")
        )  # fmt: skip
    upgrade(fresh_engine, "0016")
    assert "priority" in _columns(fresh_engine)
    with fresh_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert [d for d in diff if _about_priority(d)] == []
        assert conn.scalar(text("SELECT priority FROM offers WHERE id = 1")) == 0

    with fresh_engine.begin() as conn:
        config = alembic_config()
        config.attributes["connection"] = conn
        command.downgrade(config, "0015")
    assert "priority" not in _columns(fresh_engine)
    upgrade(fresh_engine)


CAMPAIGN = (
    "max_sends",
    "max_sends_per_day",
    "schedule",
    "dwell_minutes",
    "place_bound",
    "holdout_pct",
)
VISIT = ("place_bound", "expires_at", "expired_at", "opened_at")


def _about_campaigns(diff: object) -> bool:
    """A difference on one of the tables or columns 0017 adds."""
    first = diff[0] if isinstance(diff, list) else diff
    assert isinstance(first, tuple)
    if first[0] in ("add_table", "remove_table"):
        return bool(first[1].name == "offer_budgets")
    if first[0] in ("add_column", "remove_column"):
        return first[3].name in {*CAMPAIGN, *VISIT, "timezone"}
    return any(name in repr(first) for name in (*CAMPAIGN, *VISIT))


def test_campaign_rules_match_the_models_keep_offers_place_bound_and_go_away(
    fresh_engine: Engine,
) -> None:
    upgrade(fresh_engine, "0016")
    with fresh_engine.begin() as conn:
        conn.execute(
            text("INSERT INTO stores (id, name, created_at, updated_at) VALUES "
                 "(1, 'S', '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00')")
        )  # fmt: skip
        conn.execute(
            text("INSERT INTO offers (id, store_id, title, body, trigger, active, zones, "
                 "priority, created_at, updated_at) VALUES (1, 1, 't', 'b', 'enter', true, "
                 "'[]', 0, '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00')")
        )  # fmt: skip
    upgrade(fresh_engine, "0017")
    assert set(CAMPAIGN) <= _columns(fresh_engine)
    with fresh_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert [d for d in diff if _about_campaigns(d)] == []
        row = conn.execute(text("SELECT place_bound, holdout_pct FROM offers")).one()
        assert (bool(row.place_bound), row.holdout_pct) == (True, 0)
        assert conn.scalar(text("SELECT timezone FROM stores")) == "UTC"

    with fresh_engine.begin() as conn:
        config = alembic_config()
        config.attributes["connection"] = conn
        command.downgrade(config, "0016")
    assert not set(CAMPAIGN) & _columns(fresh_engine)
    assert "offer_budgets" not in inspect(fresh_engine).get_table_names()
    upgrade(fresh_engine)
