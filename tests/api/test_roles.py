"""Who may do what: roles, store scoping, and users' own data only."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from kernel.config import Settings
from kernel.principal import Role
from tests.factories import (
    PARIS,
    api_key,
    auth,
    feature,
    new_geofence,
    new_offer,
    new_shopper,
    new_store,
    square,
)


def _two_stores(
    client: TestClient, sessions: sessionmaker[Session]
) -> tuple[str, int, str, int, str]:
    operator = api_key(sessions, Role.OPERATOR)
    mine = new_store(client, operator, "Mine")
    theirs = new_store(client, operator, "Theirs")
    return (
        operator,
        mine,
        api_key(sessions, Role.STORE, [mine]),
        theirs,
        api_key(sessions, Role.STORE, [theirs]),
    )


MISSING = 2_000_000_000


def _same_as_missing(
    client: TestClient,
    key: str,
    path: str,
    kind: str,
    real_id: int,
    method: str = "GET",
    body: dict[str, Any] | None = None,
) -> None:
    """``path`` (another tenant's ``real_id``) answers like the same path with a missing id."""
    theirs = client.request(method, path, json=body, headers=auth(key))
    missing_path = path.replace(f"/{real_id}", f"/{MISSING}", 1)
    missing = client.request(method, missing_path, json=body, headers=auth(key))
    assert theirs.status_code == missing.status_code == 404, (theirs.text, missing.text)
    assert theirs.json() == {"error": "not_found", "detail": f"no {kind} {real_id}"}
    assert missing.json() == {"error": "not_found", "detail": f"no {kind} {MISSING}"}
    assert "store" not in theirs.json()["detail"] or kind == "store"


def test_only_the_operator_creates_and_deletes_stores(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    _, mine, staff, _, _ = _two_stores(client, sessions)
    tech = api_key(sessions, Role.TECH)
    user = new_shopper(client, settings)
    for token in (staff, tech):
        r = client.post("/v1/stores", json={"name": "X"}, headers=auth(token))
        assert r.status_code == 403
        assert r.json()["error"] == "forbidden"
        assert client.delete(f"/v1/stores/{mine}", headers=auth(token)).status_code == 403
    r = client.post("/v1/stores", json={"name": "X"}, headers=auth(user))
    assert r.status_code == 403
    assert "API key" in r.json()["detail"]
    assert client.post("/v1/stores", json={"name": "X"}).status_code == 401
    bad = client.post("/v1/stores", json={"name": "X"}, headers=auth("vk_nope"))
    assert bad.status_code == 401


def test_store_staff_see_only_their_stores(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    operator, mine, staff, theirs, _ = _two_stores(client, sessions)
    listed = client.get("/v1/stores", headers=auth(staff)).json()["items"]
    assert [s["id"] for s in listed] == [mine]
    _same_as_missing(client, staff, f"/v1/stores/{theirs}", "store", theirs)
    everything = client.get("/v1/stores", headers=auth(operator)).json()["items"]
    assert {s["id"] for s in everything} == {mine, theirs}


def test_staff_cannot_touch_another_stores_geofence_or_offer(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    _, mine, staff, theirs, their_staff = _two_stores(client, sessions)
    fence = new_geofence(client, their_staff, theirs, square(*PARIS, 40.0))
    offer = new_offer(client, their_staff, theirs, ["fashion"])
    body = feature(square(*PARIS, 50.0))

    # Another store's resource answers exactly like a missing one: 404, no owner named.
    _same_as_missing(client, staff, f"/v1/geofences/{fence}", "geofence", fence)
    _same_as_missing(client, staff, f"/v1/geofences/{fence}", "geofence", fence, "PUT", body)
    _same_as_missing(client, staff, f"/v1/geofences/{fence}", "geofence", fence, "DELETE")
    _same_as_missing(client, staff, f"/v1/stores/{theirs}/geofences", "store", theirs, "POST", body)
    _same_as_missing(client, staff, f"/v1/stores/{theirs}/geofences", "store", theirs)
    _same_as_missing(client, staff, f"/v1/stores/{theirs}/offers", "store", theirs)
    _same_as_missing(
        client, staff, f"/v1/stores/{theirs}", "store", theirs, "PATCH", {"name": "Mine"}
    )
    _same_as_missing(client, staff, f"/v1/offers/{offer}", "offer", offer)
    _same_as_missing(
        client, staff, f"/v1/offers/{offer}", "offer", offer, "PATCH", {"title": "Mine now"}
    )
    _same_as_missing(client, staff, f"/v1/offers/{offer}", "offer", offer, "DELETE")
    # Nor attach their geofence to my offer.
    r = client.post(
        f"/v1/stores/{mine}/offers",
        json={"title": "t", "body": "b", "segments": ["fashion"], "geofence_ids": [fence]},
        headers=auth(staff),
    )
    assert r.status_code == 422
    assert f"geofence {fence}" in r.json()["detail"]
    # Their data is unchanged.
    kept = client.get(f"/v1/geofences/{fence}", headers=auth(their_staff)).json()
    assert kept["properties"]["name"] == "Shop"


def test_a_tech_key_is_refused_store_data_by_role_naming_no_store(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    _, mine, _, theirs, _ = _two_stores(client, sessions)
    tech = api_key(sessions, Role.TECH, [mine])
    for store_id in (mine, theirs, MISSING):
        r = client.get(f"/v1/stores/{store_id}/geofences", headers=auth(tech))
        assert r.status_code == 403
        assert str(store_id) not in r.json()["detail"]


def test_users_see_only_their_own_notifications_and_devices(
    client: TestClient, settings: Settings
) -> None:
    alice = new_shopper(client, settings, device="alice-phone")
    bob = new_shopper(client, settings, device="bob-phone")
    alice_device = client.get("/v1/me/devices", headers=auth(alice)).json()[0]["id"]
    r = client.delete(f"/v1/me/devices/{alice_device}", headers=auth(bob))
    assert r.status_code == 404
    assert client.get("/v1/me/notifications/1", headers=auth(bob)).status_code == 404
    assert len(client.get("/v1/me/devices", headers=auth(alice)).json()) == 1


def test_api_keys_cannot_act_as_users(client: TestClient, sessions: sessionmaker[Session]) -> None:
    operator = api_key(sessions, Role.OPERATOR)
    r = client.get("/v1/me/notifications", headers=auth(operator))
    assert r.status_code == 403


def test_outbox_is_for_the_operator(client: TestClient, sessions: sessionmaker[Session]) -> None:
    _, _, staff, _, _ = _two_stores(client, sessions)
    assert client.get("/v1/outbox", headers=auth(staff)).status_code == 403
