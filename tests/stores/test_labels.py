"""Stores carry an external id (unique across the fleet), tags, metadata and a location;
bad values are 4xx naming the problem, and a store key never learns another store's id."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from kernel.principal import Role
from stores.labels import MAX_METADATA_BYTES, MAX_METADATA_KEYS, MAX_TAGS
from tests.factories import api_key, auth

RIVOLI = {"lon": 2.3470, "lat": 48.8603}


@pytest.fixture
def operator(sessions: sessionmaker[Session]) -> str:
    return api_key(sessions, Role.OPERATOR)


def _create(client: TestClient, operator: str, **fields: Any) -> Any:
    return client.post("/v1/stores", json={"name": "Rivoli", **fields}, headers=auth(operator))


def test_a_store_keeps_its_labels_and_location(client: TestClient, operator: str) -> None:
    r = _create(
        client,
        operator,
        address="1 rue de Rivoli",
        location=RIVOLI,
        external_id="RIV-001",
        tags=["flagship", "paris-centre", "flagship"],
        metadata={"region": "IDF", "floor_m2": 120, "open": {"sun": False}},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["location"] == RIVOLI
    assert body["external_id"] == "RIV-001"
    assert body["tags"] == ["flagship", "paris-centre"]  # a repeat counts once
    assert body["metadata"] == {"region": "IDF", "floor_m2": 120, "open": {"sun": False}}
    got = client.get(f"/v1/stores/{body['id']}", headers=auth(operator)).json()
    assert got == body


def test_a_store_without_labels_has_empty_ones(client: TestClient, operator: str) -> None:
    body = _create(client, operator).json()
    assert (body["location"], body["external_id"], body["tags"], body["metadata"]) == (
        None,
        None,
        [],
        {},
    )


def test_patch_changes_only_what_is_sent_and_null_clears(client: TestClient, operator: str) -> None:
    store = _create(client, operator, location=RIVOLI, external_id="RIV-001", tags=["a"]).json()
    url = f"/v1/stores/{store['id']}"
    r = client.patch(url, json={"tags": ["b"], "metadata": {"k": 1}}, headers=auth(operator))
    assert r.status_code == 200, r.text
    assert (r.json()["tags"], r.json()["metadata"], r.json()["location"]) == (
        ["b"],
        {"k": 1},
        RIVOLI,
    )
    r = client.patch(url, json={"location": None, "external_id": None}, headers=auth(operator))
    assert (r.json()["location"], r.json()["external_id"], r.json()["tags"]) == (None, None, ["b"])
    moved = {"lon": 2.35, "lat": 48.86}
    r = client.patch(
        url, json={"location": moved, "timezone": "Europe/Paris"}, headers=auth(operator)
    )
    assert (r.json()["location"], r.json()["timezone"]) == (moved, "Europe/Paris")


def test_a_duplicate_external_id_is_a_409_naming_the_store_to_the_operator_only(
    client: TestClient, operator: str, sessions: sessionmaker[Session]
) -> None:
    first = _create(client, operator, external_id="RIV-001").json()["id"]
    r = _create(client, operator, external_id="RIV-001")
    assert r.status_code == 409, r.text
    assert r.json()["error"] == "conflict"
    assert f"already used by store {first}" in r.json()["detail"]

    second = _create(client, operator, external_id="RIV-002").json()["id"]
    staff = api_key(sessions, Role.STORE, [second])
    r = client.patch(f"/v1/stores/{second}", json={"external_id": "RIV-001"}, headers=auth(staff))
    assert r.status_code == 409, r.text
    assert "another store" in r.json()["detail"]
    assert f"store {first}" not in r.json()["detail"]
    # Its own external id again is no conflict.
    r = client.patch(f"/v1/stores/{second}", json={"external_id": "RIV-002"}, headers=auth(staff))
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"external_id": ""}, "external_id"),
        ({"external_id": "x" * 129}, "external_id"),
        ({"external_id": " RIV-001"}, "spaces"),
        ({"external_id": "RIV\u0000001"}, "control characters"),
        ({"tags": ["Flagship"]}, "not a slug"),
        ({"tags": ["a b"]}, "not a slug"),
        ({"tags": ["x" * 41]}, "not a slug"),
        ({"tags": [f"t{i}" for i in range(MAX_TAGS + 1)]}, "tags"),
        ({"tags": "flagship"}, "tags"),
        ({"metadata": {f"k{i}": i for i in range(MAX_METADATA_KEYS + 1)}}, "51 keys"),
        ({"metadata": {"blob": "x" * MAX_METADATA_BYTES}}, "bytes as JSON"),
        ({"metadata": ["not", "an", "object"]}, "metadata"),
        ({"location": {"lon": 2.35, "lat": 148.86}}, "swapped"),
        ({"location": {"lon": 2.35, "lat": -91}}, "lat -91"),
        ({"location": {"lon": 200, "lat": 48.86}}, "lon 200"),
        ({"location": {"lon": 2.35}}, "location.lat"),
        ({"location": {"lon": 2.35, "lat": 48.86, "alt": 30}}, "location.alt"),
        ({"location": [2.35, 48.86]}, "location"),
    ],
)
def test_bad_labels_or_locations_are_422_naming_the_problem(
    client: TestClient, operator: str, fields: dict[str, Any], needle: str
) -> None:
    r = _create(client, operator, **fields)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "invalid"
    assert needle in r.json()["detail"], r.json()["detail"]
    stores = client.get("/v1/stores", headers=auth(operator)).json()["items"]
    assert stores == []


def test_nan_in_metadata_is_refused(client: TestClient, operator: str) -> None:
    body = '{"name": "Rivoli", "metadata": {"x": NaN}}'
    headers = {**auth(operator), "Content-Type": "application/json"}
    r = client.post("/v1/stores", content=body, headers=headers)
    assert r.status_code == 422, r.text


def test_stores_are_listed_by_tag_and_found_by_external_id(
    client: TestClient, operator: str, sessions: sessionmaker[Session]
) -> None:
    a = _create(client, operator, external_id="A", tags=["paris", "flagship"]).json()["id"]
    b = _create(client, operator, external_id="B", tags=["paris"]).json()["id"]
    c = _create(client, operator, external_id="C", tags=["paris_1"]).json()["id"]

    def ids(query: str, key: str = operator) -> list[int]:
        r = client.get(f"/v1/stores?{query}", headers=auth(key))
        assert r.status_code == 200, r.text
        return [s["id"] for s in r.json()["items"]]

    assert ids("tag=paris") == [a, b]  # an exact tag, not a prefix
    assert ids("tag=paris_1") == [c]
    assert ids("tag=paris%1") == []  # LIKE's wildcards are matched literally
    assert ids("tag=flagship") == [a]
    assert ids("external_id=B") == [b]
    assert ids("external_id=Z") == []
    # A store key finds only its own stores, whatever it asks.
    staff = api_key(sessions, Role.STORE, [a])
    assert ids("external_id=B", staff) == []
    assert ids("tag=paris", staff) == [a]


def test_labels_are_set_by_the_operator_or_the_stores_own_key_only(
    client: TestClient, operator: str, sessions: sessionmaker[Session]
) -> None:
    mine = _create(client, operator).json()["id"]
    other = _create(client, operator).json()["id"]
    staff = api_key(sessions, Role.STORE, [mine])
    r = client.patch(f"/v1/stores/{other}", json={"tags": ["x"]}, headers=auth(staff))
    assert r.status_code == 404, r.text
    tech = api_key(sessions, Role.TECH, [mine])
    r = client.patch(f"/v1/stores/{mine}", json={"tags": ["x"]}, headers=auth(tech))
    assert r.status_code == 403, r.text
    r = client.post("/v1/stores", json={"name": "S", "tags": ["x"]}, headers=auth(staff))
    assert r.status_code == 403, r.text


@pytest.mark.parametrize("query", ["tag=" + "x" * 41, "external_id=", "external_id=" + "x" * 129])
def test_bad_list_filters_are_422(client: TestClient, operator: str, query: str) -> None:
    r = client.get(f"/v1/stores?{query}", headers=auth(operator))
    assert r.status_code == 422, r.text
    assert query.split("=")[0] in r.json()["detail"]
