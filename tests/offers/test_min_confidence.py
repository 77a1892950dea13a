"""An offer's ``min_confidence`` through the API (set, shown, changed, cleared, refused
when it is not low, medium or high) and its migration 0023 on SQLite and PostGIS."""

from __future__ import annotations

from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import Engine, inspect, text
from sqlalchemy.orm import Session, sessionmaker

from server.migrate import alembic_config, upgrade
from server.models import Base
from tests.factories import auth, open_shop


def _offer(client: TestClient, key: str, offer_id: int) -> dict[str, Any]:
    r = client.get(f"/v1/offers/{offer_id}", headers=auth(key))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_min_confidence_is_set_shown_changed_and_cleared(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    shop = open_shop(client, sessions, name="S", east_m=0.0, segments=["fashion"])
    assert _offer(client, shop.staff, shop.offer_id)["min_confidence"] is None  # any
    for value in ("high", "low", None):
        r = client.patch(
            f"/v1/offers/{shop.offer_id}", json={"min_confidence": value}, headers=auth(shop.staff)
        )
        assert r.status_code == 200, r.text
        assert r.json()["min_confidence"] == value
        assert _offer(client, shop.staff, shop.offer_id)["min_confidence"] == value
    other = open_shop(
        client, sessions, name="T", east_m=0.0, segments=["fashion"], min_confidence="medium"
    )
    assert _offer(client, other.staff, other.offer_id)["min_confidence"] == "medium"
    # A change of something else keeps it.
    r = client.patch(
        f"/v1/offers/{other.offer_id}", json={"priority": 5}, headers=auth(other.staff)
    )
    assert r.json()["min_confidence"] == "medium"


@pytest.mark.parametrize("value", ["certain", "HIGH", 3, "", ["high"]])
def test_an_unknown_confidence_is_422_on_create_and_update(
    client: TestClient, sessions: sessionmaker[Session], value: object
) -> None:
    shop = open_shop(client, sessions, name="S", east_m=0.0, segments=["fashion"])
    body = {"title": "t", "body": "b", "segments": ["fashion"], "min_confidence": value}
    created = client.post(f"/v1/stores/{shop.store_id}/offers", json=body, headers=auth(shop.staff))
    changed = client.patch(
        f"/v1/offers/{shop.offer_id}", json={"min_confidence": value}, headers=auth(shop.staff)
    )
    for r in (created, changed):
        assert r.status_code == 422, r.text
        assert r.json()["error"] == "invalid"
        assert [p["field"] for p in r.json()["problems"]] == ["min_confidence"]
    assert _offer(client, shop.staff, shop.offer_id)["min_confidence"] is None


def test_migration_0023_matches_the_model_keeps_offers_firing_on_any_and_goes_away(
    fresh_engine: Engine,
) -> None:
    upgrade(fresh_engine, "0022")
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
    upgrade(fresh_engine, "0023")
    with fresh_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert [d for d in diff if "min_confidence" in repr(d)] == []
        assert conn.scalar(text("SELECT min_confidence FROM offers WHERE id = 1")) is None

    with fresh_engine.begin() as conn:
        config = alembic_config()
        config.attributes["connection"] = conn
        command.downgrade(config, "0022")
    assert "min_confidence" not in {c["name"] for c in inspect(fresh_engine).get_columns("offers")}
    upgrade(fresh_engine)
