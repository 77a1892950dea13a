"""Offers that could never fire are refused; exit offers fire; deleting an offer's last
geofence stops it instead of widening it to every fence of the store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
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
    offset,
    square,
)
from tests.fcm_standin import FcmStandIn


class Shop:
    def __init__(self, client: TestClient, sessions: sessionmaker[Session]) -> None:
        self.store_id = new_store(client, api_key(sessions, Role.OPERATOR))
        self.staff = api_key(sessions, Role.STORE, [self.store_id])
        self.tech = api_key(sessions, Role.TECH, [self.store_id])


@pytest.fixture
def shop(client: TestClient, sessions: sessionmaker[Session]) -> Shop:
    return Shop(client, sessions)


def _post_offer(client: TestClient, shop: Shop, **fields: object) -> tuple[int, str]:
    body = {"title": "t", "body": "b", "segments": ["fashion"], **fields}
    r = client.post(f"/v1/stores/{shop.store_id}/offers", json=body, headers=auth(shop.staff))
    return r.status_code, r.text


def _offer(client: TestClient, shop: Shop, offer_id: int) -> dict[str, object]:
    r = client.get(f"/v1/offers/{offer_id}", headers=auth(shop.staff))
    assert r.status_code == 200
    body: dict[str, object] = r.json()
    return body


# --- Never-firing offers are refused, naming the field --------------------------------


def test_zones_the_store_has_no_beacon_in_are_refused(client: TestClient, shop: Shop) -> None:
    status, text = _post_offer(client, shop, zones=["shoe aisle"])
    assert status == 422
    assert "zones" in text
    assert "shoe aisle" in text

    r = client.post(
        "/v1/beacons",
        json={
            "store_id": shop.store_id,
            "zone": "shoe aisle",
            "lon": PARIS[0],
            "lat": PARIS[1],
            "ibeacon": {"uuid": "f7826da6-4fa2-4e98-8024-bc5b71e0893e", "major": 1, "minor": 1},
            "measured_power_1m": -59,
        },
        headers=auth(shop.tech),
    )
    assert r.status_code == 201, r.text
    status, text = _post_offer(client, shop, zones=["shoe aisle"])
    assert status == 201, text
    offer_id = int(
        client.get(f"/v1/stores/{shop.store_id}/offers", headers=auth(shop.staff)).json()["items"][
            0
        ]["id"]
    )
    r = client.patch(f"/v1/offers/{offer_id}", json={"zones": ["till"]}, headers=auth(shop.staff))
    assert r.status_code == 422
    assert "zones" in r.json()["detail"]
    assert "till" in r.json()["detail"]


def test_an_end_date_in_the_past_is_refused(client: TestClient, shop: Shop) -> None:
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    status, text = _post_offer(client, shop, ends_at=past)
    assert status == 422
    assert "ends_at" in text

    offer_id = new_offer(client, shop.staff, shop.store_id, ["fashion"])
    r = client.patch(f"/v1/offers/{offer_id}", json={"ends_at": past}, headers=auth(shop.staff))
    assert r.status_code == 422
    assert "ends_at" in r.json()["detail"]
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    r = client.patch(f"/v1/offers/{offer_id}", json={"ends_at": future}, headers=auth(shop.staff))
    assert r.status_code == 200


# --- Exit offers work -----------------------------------------------------------------


def test_an_exit_offer_is_pushed_once_on_leaving(
    client: TestClient, shop: Shop, settings: Settings, fcm_standin: FcmStandIn
) -> None:
    new_geofence(client, shop.staff, shop.store_id, square(*PARIS, 40.0))
    offer_id = new_offer(
        client, shop.staff, shop.store_id, ["fashion"], title="Come back soon", trigger="exit"
    )
    token = new_shopper(client, settings, interests=["fashion"])
    now = datetime.now(UTC) - timedelta(seconds=30)

    r = client.post("/v1/me/locations", json={"fixes": [fix(*PARIS, now)]}, headers=auth(token))
    assert [e["transition"] for e in r.json()["events"]] == ["enter"]
    assert r.json()["notifications"] == []

    away = offset(*PARIS, 500.0, 0.0)
    later = now + timedelta(seconds=20)
    r = client.post("/v1/me/locations", json={"fixes": [fix(*away, later)]}, headers=auth(token))
    assert [e["transition"] for e in r.json()["events"]] == ["exit"]
    assert len(r.json()["notifications"]) == 1
    fcm_standin.wait_for(1, timeout=10)
    assert fcm_standin.requests_count == 1
    assert fcm_standin.messages[0]["data"]["offer_id"] == str(offer_id)
    inbox = client.get("/v1/me/notifications", headers=auth(token)).json()["items"]
    assert "left" in inbox[0]["why"]


# --- Deleting an offer's last geofence ------------------------------------------------


def test_deleting_the_last_named_geofence_deactivates_the_offer_with_a_reason(
    client: TestClient, shop: Shop, settings: Settings, fcm_standin: FcmStandIn
) -> None:
    named = new_geofence(client, shop.staff, shop.store_id, square(*PARIS, 40.0), name="Door")
    other_spot = offset(*PARIS, 300.0, 0.0)
    new_geofence(client, shop.staff, shop.store_id, square(*other_spot, 40.0))
    two = new_geofence(client, shop.staff, shop.store_id, square(*offset(*PARIS, 0, 300), 40))
    limited = new_offer(client, shop.staff, shop.store_id, ["fashion"], geofence_ids=[named])
    still_named = new_offer(client, shop.staff, shop.store_id, ["sport"], geofence_ids=[named, two])

    r = client.delete(f"/v1/geofences/{named}", headers=auth(shop.staff))
    assert r.status_code == 204

    offer = _offer(client, shop, limited)
    assert offer["active"] is False
    assert offer["geofence_ids"] == []
    assert offer["inactive_reason"] == f"its last geofence {named} (Door) was deleted"
    kept = _offer(client, shop, still_named)
    assert kept["active"] is True
    assert kept["geofence_ids"] == [two]
    assert kept["inactive_reason"] is None

    # A shopper at the store's other fence is not pushed the deactivated offer.
    token = new_shopper(client, settings, interests=["fashion"])
    at = datetime.now(UTC)
    r = client.post("/v1/me/locations", json={"fixes": [fix(*other_spot, at)]}, headers=auth(token))
    assert [e["transition"] for e in r.json()["events"]] == ["enter"]
    assert r.json()["notifications"] == []
    assert fcm_standin.requests_count == 0

    # Turning it back on is the store's explicit choice, and clears the reason.
    r = client.patch(f"/v1/offers/{limited}", json={"active": True}, headers=auth(shop.staff))
    assert r.json()["active"] is True
    assert r.json()["inactive_reason"] is None
