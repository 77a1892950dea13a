"""Each process holds the stores' active offers (notifications/rules.py): any change to
them, their segments' labels or their store's name applies to the very next decision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from kernel.config import Settings
from kernel.principal import Role
from tests.factories import (
    PARIS,
    api_key,
    auth,
    fix,
    new_geofence,
    new_offer,
    new_shopper,
    new_store,
    square,
)


def _enter(client: TestClient, settings: Settings) -> dict[str, Any] | None:
    """A new shopper (no daily cap in the way) walks in; their notification, if any."""
    token = new_shopper(client, settings, interests=["fashion"])
    at = datetime.now(UTC) - timedelta(seconds=1)
    r = client.post("/v1/me/locations", json={"fixes": [fix(*PARIS, at)]}, headers=auth(token))
    assert r.status_code == 200, r.text
    if not r.json()["notifications"]:
        return None
    notes = client.get("/v1/me/notifications", headers=auth(token)).json()
    note: dict[str, Any] = notes["items"][0] if "items" in notes else notes[0]
    return note


def test_changes_to_cached_offers_apply_to_the_next_decision(
    client: TestClient, settings: Settings, sessions: sessionmaker[Session]
) -> None:
    operator = api_key(sessions, Role.OPERATOR)
    store = new_store(client, operator, name="Boutique")
    new_geofence(client, operator, store, square(*PARIS, 60), dwell_s=3600)
    offer = new_offer(client, operator, store, ["fashion"])
    first = _enter(client, settings)
    assert first is not None
    assert (first["title"], first["reason"]["store"]) == ("-20% today", "Boutique")

    r = client.patch(f"/v1/offers/{offer}", json={"title": "-30%"}, headers=auth(operator))
    assert r.status_code == 200, r.text
    retitled = _enter(client, settings)
    assert retitled is not None
    assert retitled["title"] == "-30%"

    r = client.patch(f"/v1/stores/{store}", json={"name": "Atelier"}, headers=auth(operator))
    assert r.status_code == 200, r.text
    r = client.patch("/v1/segments/fashion", json={"label_en": "Clothes"}, headers=auth(operator))
    assert r.status_code == 200, r.text
    relabelled = _enter(client, settings)
    assert relabelled is not None
    assert relabelled["reason"]["store"] == "Atelier"
    assert relabelled["reason"]["labels"]["fashion"]["en"] == "Clothes"

    r = client.patch(f"/v1/offers/{offer}", json={"active": False}, headers=auth(operator))
    assert r.status_code == 200, r.text
    assert _enter(client, settings) is None
    # The taxonomy outlives each test (tests/conftest.py keeps it): put the label back.
    r = client.patch("/v1/segments/fashion", json={"label_en": "Fashion"}, headers=auth(operator))
    assert r.status_code == 200, r.text
