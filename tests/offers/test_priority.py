"""An offer's priority: set, read back, changed; out of range or not an integer is 422."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from kernel.principal import Role
from tests.factories import api_key, auth, new_store


@pytest.fixture
def shop(client: TestClient, sessions: sessionmaker[Session]) -> tuple[int, str]:
    store_id = new_store(client, api_key(sessions, Role.OPERATOR))
    return store_id, api_key(sessions, Role.STORE, [store_id])


def _post(client: TestClient, shop: tuple[int, str], **fields: object) -> tuple[int, dict]:  # type: ignore[type-arg]
    store_id, key = shop
    body = {"title": "t", "body": "b", "segments": ["fashion"], **fields}
    r = client.post(f"/v1/stores/{store_id}/offers", json=body, headers=auth(key))
    return r.status_code, r.json()


def test_priority_defaults_to_zero_and_can_be_set_and_changed(
    client: TestClient, shop: tuple[int, str]
) -> None:
    status, plain = _post(client, shop)
    assert (status, plain["priority"]) == (201, 0)
    status, urgent = _post(client, shop, priority=100)
    assert (status, urgent["priority"]) == (201, 100)
    key = shop[1]
    r = client.patch(f"/v1/offers/{urgent['id']}", json={"priority": -100}, headers=auth(key))
    assert (r.status_code, r.json()["priority"]) == (200, -100)
    r = client.patch(f"/v1/offers/{urgent['id']}", json={"title": "u"}, headers=auth(key))
    assert (r.status_code, r.json()["priority"]) == (200, -100)  # untouched


@pytest.mark.parametrize("priority", [101, -101, 1.5, "high", True, None])
def test_a_bad_priority_is_422_and_writes_nothing(
    client: TestClient, shop: tuple[int, str], priority: object
) -> None:
    status, body = _post(client, shop, priority=priority)
    assert status == 422, body
    assert body["error"] == "invalid"
    assert "priority" in str(body["problems"])
    store_id, key = shop
    r = client.get(f"/v1/stores/{store_id}/offers", headers=auth(key))
    assert r.json()["items"] == []


@pytest.mark.parametrize("priority", [101, "high", True])
def test_a_bad_priority_in_a_patch_is_422(
    client: TestClient, shop: tuple[int, str], priority: object
) -> None:
    _, offer = _post(client, shop)
    r = client.patch(
        f"/v1/offers/{offer['id']}", json={"priority": priority}, headers=auth(shop[1])
    )
    assert r.status_code == 422, r.text
    r = client.get(f"/v1/offers/{offer['id']}", headers=auth(shop[1]))
    assert r.json()["priority"] == 0
