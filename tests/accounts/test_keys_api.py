"""The operator's API keys: listed, created with an explicit scope, rotated and revoked."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from beacons.models import Beacon
from kernel.db import unit_of_work
from kernel.principal import Role
from tests.beacons.factories import ibeacon, new_beacon
from tests.factories import PARIS, api_key, auth, new_store


def _create(client: TestClient, operator: str, **body: object) -> dict[str, object]:
    r = client.post("/v1/keys", json={"name": "Ana", **body}, headers=auth(operator))
    assert r.status_code == 201, r.text
    created: dict[str, object] = r.json()
    return created


def test_operator_lists_rotates_and_revokes_keys(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    operator = api_key(sessions, Role.OPERATOR)
    store_id = new_store(client, operator)
    created = _create(client, operator, role="store", store_ids=[store_id])
    old = str(created["secret"])
    assert old.startswith("vk_")
    assert client.get(f"/v1/stores/{store_id}", headers=auth(old)).status_code == 200

    first = client.get("/v1/keys", params={"limit": 1}, headers=auth(operator)).json()
    assert [k["role"] for k in first["items"]] == ["operator"]
    rest = client.get(
        "/v1/keys", params={"after": first["next_after"]}, headers=auth(operator)
    ).json()
    [listed] = rest["items"]
    assert rest["next_after"] is None
    assert listed["id"] == created["id"]
    assert (listed["store_ids"], listed["all_stores"], listed["revoked_at"]) == (
        [store_id],
        False,
        None,
    )
    assert "secret" not in listed

    r = client.post(f"/v1/keys/{created['id']}/rotate", headers=auth(operator))
    assert r.status_code == 200, r.text
    new = r.json()["secret"]
    assert (r.json()["id"], r.json()["store_ids"]) == (created["id"], [store_id])
    assert r.json()["rotated_at"] is not None
    assert client.get(f"/v1/stores/{store_id}", headers=auth(old)).status_code == 401
    assert client.get(f"/v1/stores/{store_id}", headers=auth(new)).status_code == 200

    r = client.delete(f"/v1/keys/{created['id']}", headers=auth(operator))
    assert r.status_code == 204, r.text
    assert client.get(f"/v1/stores/{store_id}", headers=auth(new)).status_code == 401
    [_, revoked] = client.get("/v1/keys", headers=auth(operator)).json()["items"]
    assert revoked["revoked_at"] is not None
    # Idempotent revocation; a revoked key is not brought back by a rotation.
    assert client.delete(f"/v1/keys/{created['id']}", headers=auth(operator)).status_code == 204
    r = client.post(f"/v1/keys/{created['id']}/rotate", headers=auth(operator))
    assert r.status_code == 409, r.text


def test_unknown_keys_are_404_and_only_the_operator_manages_keys(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    operator = api_key(sessions, Role.OPERATOR)
    store_id = new_store(client, operator)
    for method, path in (("POST", "/v1/keys/999/rotate"), ("DELETE", "/v1/keys/999")):
        r = client.request(method, path, headers=auth(operator))
        assert r.status_code == 404, r.text
        assert r.json()["detail"] == "no API key 999"
    staff = api_key(sessions, Role.STORE, [store_id])
    assert client.get("/v1/keys", headers=auth(staff)).status_code == 403
    body = {"name": "me too", "role": "operator"}
    assert client.post("/v1/keys", json=body, headers=auth(staff)).status_code == 403


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"role": "tech"}, "a tech key needs an explicit scope"),
        ({"role": "tech", "store_ids": [1], "all_stores": True}, "not both"),
        ({"role": "store"}, "a store key needs at least one store"),
        ({"role": "store", "all_stores": True}, "all stores is for field-tech keys"),
        ({"role": "operator", "store_ids": [1]}, "an operator key acts on every store"),
    ],
)
def test_a_key_scope_is_explicit(
    client: TestClient, sessions: sessionmaker[Session], body: dict[str, object], detail: str
) -> None:
    operator = api_key(sessions, Role.OPERATOR)
    new_store(client, operator)
    r = client.post("/v1/keys", json={"name": "x", **body}, headers=auth(operator))
    assert r.status_code == 422, r.text
    assert detail in r.json()["detail"]


def test_a_tech_key_whose_stores_are_gone_acts_on_nothing(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    operator = api_key(sessions, Role.OPERATOR)
    closing, other = new_store(client, operator, "Closing"), new_store(client, operator, "Other")
    local = str(_create(client, operator, role="tech", store_ids=[closing])["secret"])
    fleet = str(_create(client, operator, role="tech", all_stores=True)["secret"])
    beacon = new_beacon(client, fleet, other)
    with unit_of_work(sessions) as session:
        row = session.get(Beacon, beacon["id"])
        assert row is not None
        row.needs_visit, row.visit_reason = True, "battery low (2100 mV)"

    assert client.delete(f"/v1/stores/{closing}", headers=auth(operator)).status_code == 204
    # The key's store rows cascaded away: "no stores" must not turn into "every store".
    visits = client.get("/v1/beacons/visits", headers=auth(local))
    assert visits.status_code == 200, visits.text
    assert visits.json()["items"] == []
    body = {"store_id": other, "zone": "door", "lon": PARIS[0], "lat": PARIS[1]}
    body |= {"measured_power_1m": -59, "ibeacon": ibeacon(minor=7)}
    assert client.post("/v1/beacons", json=body, headers=auth(local)).status_code in (403, 404)
    [listed] = [k for k in client.get("/v1/keys", headers=auth(operator)).json()["items"]
                if k["name"] == "Ana" and not k["all_stores"]]  # fmt: skip
    assert listed["store_ids"] == []

    # The fleet-wide key still sees and acts on every store.
    seen = client.get("/v1/beacons/visits", headers=auth(fleet)).json()["items"]
    assert [b["id"] for b in seen] == [beacon["id"]]
    assert client.post("/v1/beacons", json=body, headers=auth(fleet)).status_code == 201
