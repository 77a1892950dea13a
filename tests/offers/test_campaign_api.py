"""Campaign rules through the offers API (budgets, schedule, place-bound, holdout, tap
trigger) and stores' time zones: set, read back, cleared; each bad value a clear 4xx."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from kernel.principal import Role
from tests.factories import PARIS, api_key, auth, new_geofence, new_store, square


@pytest.fixture
def shop(client: TestClient, sessions: sessionmaker[Session]) -> tuple[int, str]:
    store_id = new_store(client, api_key(sessions, Role.OPERATOR))
    return store_id, api_key(sessions, Role.STORE, [store_id])


def _post(client: TestClient, shop: tuple[int, str], **fields: Any) -> tuple[int, Any]:
    store_id, key = shop
    body = {"title": "t", "body": "b", "segments": ["fashion"], **fields}
    r = client.post(f"/v1/stores/{store_id}/offers", json=body, headers=auth(key))
    return r.status_code, r.json()


def test_the_defaults_are_place_bound_no_budget_no_schedule_no_holdout(
    client: TestClient, shop: tuple[int, str]
) -> None:
    status, offer = _post(client, shop)
    assert status == 201
    assert {k: offer[k] for k in ("place_bound", "holdout_pct", "max_sends", "schedule")} == {
        "place_bound": True,
        "holdout_pct": 0,
        "max_sends": None,
        "schedule": None,
    }


def test_rules_are_set_read_back_and_cleared(client: TestClient, shop: tuple[int, str]) -> None:
    lunch = {"days": [4, 0, 0], "start": "11:00", "end": "14:30"}
    status, offer = _post(
        client,
        shop,
        max_sends=500,
        max_sends_per_day=50,
        schedule=lunch,
        place_bound=False,
        holdout_pct=10,
        trigger="tap",
    )
    assert status == 201, offer
    assert offer["schedule"] == {"days": [0, 4], "start": "11:00", "end": "14:30"}
    assert (offer["max_sends"], offer["max_sends_per_day"], offer["trigger"]) == (500, 50, "tap")
    assert (offer["place_bound"], offer["holdout_pct"]) == (False, 10)
    key = shop[1]
    cleared = {"max_sends": None, "schedule": None, "holdout_pct": 0}
    r = client.patch(f"/v1/offers/{offer['id']}", json=cleared, headers=auth(key))
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["max_sends"], body["schedule"], body["holdout_pct"]) == (None, None, 0)
    assert body["max_sends_per_day"] == 50  # untouched


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"schedule": {"days": [7]}}, "less than or equal to 6"),
        ({"schedule": {"days": []}}, "at least 1"),
        ({"schedule": {"start": "25:00"}}, "not a time of day"),
        ({"schedule": {"end": "9:00"}}, "not a time of day"),
        ({"schedule": {"weeks": [1]}}, "Extra inputs"),
        ({"holdout_pct": 60}, "less than or equal to 50"),
        ({"holdout_pct": -1}, "greater than or equal to 0"),
        ({"max_sends": 0}, "greater than or equal to 1"),
        ({"max_sends_per_day": 1.5}, "valid integer"),
        ({"trigger": "wave"}, "enter"),
        ({"trigger": "tap", "zones": ["till"]}, "zones"),
        ({"place_bound": "sometimes"}, "valid boolean"),
    ],
)
def test_bad_rules_are_422_with_the_reason(
    client: TestClient, shop: tuple[int, str], fields: dict[str, Any], says: str
) -> None:
    status, body = _post(client, shop, **fields)
    assert status == 422, body
    assert says in str(body)


def test_a_tap_offer_cannot_name_geofences(client: TestClient, shop: tuple[int, str]) -> None:
    store_id, key = shop
    fence = new_geofence(client, key, store_id, square(*PARIS, 30.0))
    status, body = _post(client, shop, trigger="tap", geofence_ids=[fence])
    assert status == 422
    assert "NFC tags" in str(body)


def test_a_store_s_time_zone_is_set_and_checked(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    operator = api_key(sessions, Role.OPERATOR)
    r = client.post(
        "/v1/stores", json={"name": "Rivoli", "timezone": "Europe/Paris"}, headers=auth(operator)
    )
    assert (r.status_code, r.json()["timezone"]) == (201, "Europe/Paris")
    store_id = r.json()["id"]
    r = client.post(
        "/v1/stores", json={"name": "X", "timezone": "Mars/Olympus"}, headers=auth(operator)
    )
    assert r.status_code == 422
    assert "not an IANA time zone" in r.text
    r = client.patch(
        f"/v1/stores/{store_id}", json={"timezone": "America/New_York"}, headers=auth(operator)
    )
    assert (r.status_code, r.json()["timezone"]) == (200, "America/New_York")
    r = client.patch(f"/v1/stores/{store_id}", json={"timezone": "paris"}, headers=auth(operator))
    assert r.status_code == 422
    assert client.get(f"/v1/stores/{store_id}", headers=auth(operator)).json()["timezone"] == (
        "America/New_York"
    )
