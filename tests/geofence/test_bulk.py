"""Geofences imported and exported as a GeoJSON FeatureCollection: matched on external_id
(importing twice changes nothing), every feature checked like a single create, nothing
written when any fails (a per-feature report says why), and the index kept current."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from geofence.bulk import MAX_FEATURES
from kernel import versions
from kernel.principal import Role
from server.runtime import Runtime
from tests.factories import PARIS, api_key, auth, new_store, offset, square

BOWTIE = {
    "type": "Polygon",
    "coordinates": [[[2.34, 48.86], [2.35, 48.87], [2.35, 48.86], [2.34, 48.87], [2.34, 48.86]]],
}


@pytest.fixture
def shop(client: TestClient, sessions: sessionmaker[Session]) -> tuple[int, str]:
    """A store placed at PARIS, and its staff key."""
    operator = api_key(sessions, Role.OPERATOR)
    body = {"name": "Rivoli", "location": {"lon": PARIS[0], "lat": PARIS[1]}}
    r = client.post("/v1/stores", json=body, headers=auth(operator))
    assert r.status_code == 201, r.text
    store_id = int(r.json()["id"])
    return store_id, api_key(sessions, Role.STORE, [store_id])


def fence(external_id: str, geometry: dict[str, Any], **props: Any) -> dict[str, Any]:
    properties = {"external_id": external_id, "name": f"Fence {external_id}", **props}
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def collection(*features: Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


def circle(east_m: float, north_m: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": list(offset(*PARIS, east_m, north_m))}


def three() -> dict[str, Any]:
    return collection(
        fence("door", square(*PARIS, 40.0), dwell_s=60, tags=["entrance"], metadata={"n": 1}),
        fence("street", circle(100.0, 0.0), radius_m=50),
        fence(
            "wings",
            {
                "type": "MultiPolygon",
                "coordinates": [
                    square(*offset(*PARIS, 0.0, 200.0), 30.0)["coordinates"],
                    square(*offset(*PARIS, 0.0, 300.0), 30.0)["coordinates"],
                ],
            },
        ),
    )


def _import(client: TestClient, shop: tuple[int, str], body: Any) -> Any:
    url = f"/v1/stores/{shop[0]}/geofences/import"
    return client.post(url, json=body, headers=auth(shop[1]))


def _export(client: TestClient, shop: tuple[int, str]) -> Any:
    r = client.get(f"/v1/stores/{shop[0]}/geofences/export", headers=auth(shop[1]))
    assert r.status_code == 200, r.text
    return r.json()


def _by_external_id(client: TestClient, shop: tuple[int, str]) -> dict[str, Any]:
    return {f["properties"]["external_id"]: f for f in _export(client, shop)["features"]}


def _version(client: TestClient) -> int:
    runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.sessions() as session:
        return versions.read(session.connection(), versions.GEOFENCES)


def _runtime(client: TestClient) -> Runtime:
    runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    return runtime


def test_an_import_creates_then_a_second_changes_nothing(
    client: TestClient, shop: tuple[int, str]
) -> None:
    r = _import(client, shop, three())
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["created"], report["updated"], report["unchanged"]) == (3, 0, 0)
    assert [g["external_id"] for g in report["geofences"]] == ["door", "street", "wings"]
    assert {g["outcome"] for g in report["geofences"]} == {"created"}
    fences = _by_external_id(client, shop)
    door = fences["door"]["properties"]
    assert (door["dwell_s"], door["tags"], door["metadata"]) == (60, ["entrance"], {"n": 1})
    assert fences["street"]["properties"]["radius_m"] == 50
    assert fences["wings"]["geometry"]["type"] == "MultiPolygon"
    # The importing process's index has them at once.
    index = _runtime(client).index
    assert all(index.get(g["id"]) is not None for g in report["geofences"])

    version = _version(client)
    again = _import(client, shop, three()).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 3)
    assert [g["id"] for g in again["geofences"]] == [g["id"] for g in report["geofences"]]
    assert _version(client) == version  # nothing written, nothing for the processes to reload


def test_a_changed_file_updates_what_changed_and_adds_what_is_new(
    client: TestClient, shop: tuple[int, str]
) -> None:
    first = {g["external_id"]: g["id"] for g in _import(client, shop, three()).json()["geofences"]}
    moved = offset(*PARIS, 50.0, 0.0)
    changed = collection(
        fence("door", square(*moved, 40.0)),  # redrawn; dwell, tags, metadata omitted: kept
        fence("street", circle(100.0, 0.0), radius_m=50, name="Renamed"),
        fence("wings", three()["features"][2]["geometry"]),
        fence("till", square(*offset(*PARIS, -100.0, 0.0), 20.0), tags=["inside"]),
    )
    report = _import(client, shop, changed).json()
    assert (report["created"], report["updated"], report["unchanged"]) == (1, 2, 1)
    outcomes = {g["external_id"]: (g["id"], g["outcome"]) for g in report["geofences"]}
    assert outcomes["door"] == (first["door"], "updated")
    assert outcomes["street"] == (first["street"], "updated")
    assert outcomes["wings"] == (first["wings"], "unchanged")
    assert outcomes["till"][1] == "created"
    fences = _by_external_id(client, shop)
    door = fences["door"]["properties"]
    assert (door["dwell_s"], door["tags"], door["metadata"]) == (60, ["entrance"], {"n": 1})
    assert fences["street"]["properties"]["name"] == "Renamed"
    # The index follows the redraw.
    index = _runtime(client).index
    inside = offset(*moved, -7.0, 0.0)
    assert [f.id for f in index.containing([inside[0]], [inside[1]])[0]] == [first["door"]]
    assert index.containing([PARIS[0]], [PARIS[1]])[0] == []


def test_the_export_imports_back_unchanged(client: TestClient, shop: tuple[int, str]) -> None:
    _import(client, shop, three())
    exported = _export(client, shop)
    assert exported["type"] == "FeatureCollection"
    assert len(exported["features"]) == 3
    report = _import(client, shop, exported).json()
    assert (report["created"], report["updated"], report["unchanged"]) == (0, 0, 3)


def test_other_geofences_of_the_store_stay(client: TestClient, shop: tuple[int, str]) -> None:
    drawn = client.post(
        f"/v1/stores/{shop[0]}/geofences",
        json={"type": "Feature", "geometry": square(*PARIS, 10.0), "properties": {"name": "x"}},
        headers=auth(shop[1]),
    )
    assert drawn.status_code == 201, drawn.text
    _import(client, shop, three())
    assert len(_export(client, shop)["features"]) == 4


def _refused(client: TestClient, shop: tuple[int, str], body: Any) -> list[dict[str, Any]]:
    before = _export(client, shop)
    version = _version(client)
    r = _import(client, shop, body)
    assert r.status_code == 422, r.text
    answer = r.json()
    assert answer["error"] == "invalid"
    assert "nothing was imported" in answer["detail"]
    assert _export(client, shop) == before
    assert _version(client) == version
    return list(answer["errors"])


@pytest.mark.parametrize(
    ("bad", "needle"),
    [
        (
            {"type": "Feature", "geometry": square(*PARIS, 5.0), "properties": {"name": "n"}},
            "external_id",
        ),
        (fence("", square(*PARIS, 5.0)), "external_id"),
        (fence("x", BOWTIE), "Self-intersection"),
        (fence("x", square(*PARIS, 5_000.0)), "km²"),
        (fence("x", square(*offset(*PARIS, 3_000.0, 0.0), 20.0)), "at most 2,000 m"),
        (fence("x", {"type": "Point", "coordinates": [2.35, 148.86]}, radius_m=50), "swapped"),
        (fence("x", {"type": "Point", "coordinates": [2.35, 48.86]}), "radius_m"),
        (
            fence("x", {"type": "LineString", "coordinates": [[2.3, 48.8], [2.4, 48.8]]}),
            "LineString",
        ),
        (fence("x", {"type": "Polygon", "coordinates": "nope"}), "invalid GeoJSON"),
        (fence("x", square(*PARIS, 5.0), colour="red"), "properties.colour"),
        (fence("x", square(*PARIS, 5.0), tags=["Not A Slug"]), "not a slug"),
        (fence("x", square(*PARIS, 5.0), metadata={"b": "x" * 5000}), "bytes as JSON"),
        (fence("x", square(*PARIS, 5.0), dwell_s=-1), "dwell_s"),
        ({"type": "Feature", "geometry": None, "properties": {"external_id": "x"}}, "geometry"),
        ({"type": "Polygon", "coordinates": []}, "expected a GeoJSON Feature"),
        ("a string", "expected a GeoJSON Feature"),
    ],
)
def test_one_bad_feature_among_many_imports_nothing_and_is_named(
    client: TestClient, shop: tuple[int, str], bad: Any, needle: str
) -> None:
    _import(client, shop, three())
    good = three()["features"]
    good[0]["properties"]["name"] = "Would be renamed"
    errors = _refused(client, shop, collection(*good[:2], bad, good[2]))
    assert len(errors) == 1, errors
    assert errors[0]["index"] == 2
    assert needle in errors[0]["error"], errors[0]["error"]


def test_every_bad_feature_is_reported_with_its_external_id(
    client: TestClient, shop: tuple[int, str]
) -> None:
    body = collection(
        fence("a", square(*PARIS, 20.0)),
        fence("b", BOWTIE),
        fence("a", square(*PARIS, 30.0)),
        fence("c", square(*offset(*PARIS, 0.0, 9_000.0), 20.0)),
    )
    errors = _refused(client, shop, body)
    assert [(e["index"], e["external_id"]) for e in errors] == [(1, "b"), (2, "a"), (3, "c")]
    assert "also feature 0's" in errors[1]["error"]


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({"type": "Feature", "features": []}, 422, "FeatureCollection"),
        ({"type": "FeatureCollection"}, 422, "features"),
        ({"type": "FeatureCollection", "features": {}}, 422, "features"),
        ([], 422, "body"),
    ],
)
def test_a_body_that_is_not_a_feature_collection_is_refused(
    client: TestClient, shop: tuple[int, str], body: Any, status: int, needle: str
) -> None:
    r = _import(client, shop, body)
    assert r.status_code == status, r.text
    assert needle in r.json()["detail"]


def test_malformed_json_is_refused(client: TestClient, shop: tuple[int, str]) -> None:
    headers = {**auth(shop[1]), "Content-Type": "application/json"}
    r = client.post(f"/v1/stores/{shop[0]}/geofences/import", content="{", headers=headers)
    assert r.status_code == 422, r.text
    assert "not valid JSON" in r.json()["detail"]


def test_too_many_features_is_a_413_before_any_is_checked(
    client: TestClient, shop: tuple[int, str]
) -> None:
    body = collection(*([{}] * (MAX_FEATURES + 1)))
    r = _import(client, shop, body)
    assert r.status_code == 413, r.text
    assert "the maximum is 1,000" in r.json()["detail"]


def test_an_empty_collection_imports_nothing(client: TestClient, shop: tuple[int, str]) -> None:
    report = _import(client, shop, collection()).json()
    assert (report["created"], report["updated"], report["unchanged"]) == (0, 0, 0)


def test_another_stores_import_and_export_are_not_found_and_tech_keys_are_forbidden(
    client: TestClient, shop: tuple[int, str], sessions: sessionmaker[Session]
) -> None:
    other = new_store(client, api_key(sessions, Role.OPERATOR), "Other")
    url = f"/v1/stores/{other}/geofences"
    assert client.post(f"{url}/import", json=three(), headers=auth(shop[1])).status_code == 404
    assert client.get(f"{url}/export", headers=auth(shop[1])).status_code == 404
    assert (
        client.post(
            "/v1/stores/999/geofences/import", json=three(), headers=auth(shop[1])
        ).status_code
        == 404
    )
    tech = api_key(sessions, Role.TECH, [shop[0]])
    mine = f"/v1/stores/{shop[0]}/geofences"
    assert client.post(f"{mine}/import", json=three(), headers=auth(tech)).status_code == 403
    assert client.get(f"{mine}/export", headers=auth(tech)).status_code == 403
    assert client.get(f"{mine}/export").status_code == 401


def test_the_same_external_id_in_two_stores_is_two_geofences(
    client: TestClient, shop: tuple[int, str], sessions: sessionmaker[Session]
) -> None:
    operator = api_key(sessions, Role.OPERATOR)
    other = new_store(client, operator, "Other")
    _import(client, shop, three())
    r = client.post(f"/v1/stores/{other}/geofences/import", json=three(), headers=auth(operator))
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 3


def test_single_geofences_carry_labels_and_refuse_a_duplicate_external_id(
    client: TestClient, shop: tuple[int, str]
) -> None:
    url = f"/v1/stores/{shop[0]}/geofences"
    body = fence("door", square(*PARIS, 40.0), tags=["entrance"], metadata={"floor": 0})
    r = client.post(url, json=body, headers=auth(shop[1]))
    assert r.status_code == 201, r.text
    fence_id = r.json()["id"]
    props = r.json()["properties"]
    assert (props["external_id"], props["tags"], props["metadata"]) == (
        "door",
        ["entrance"],
        {"floor": 0},
    )
    r = client.post(url, json=fence("door", square(*PARIS, 20.0)), headers=auth(shop[1]))
    assert r.status_code == 409, r.text
    assert (
        f"already has a geofence with external_id 'door' (geofence {fence_id})"
        in (r.json()["detail"])
    )
    # A redraw without them keeps them; a PATCH changes only what it sends.
    plain = {"type": "Feature", "geometry": square(*PARIS, 30.0), "properties": {"name": "D"}}
    r = client.put(f"/v1/geofences/{fence_id}", json=plain, headers=auth(shop[1]))
    assert r.status_code == 200, r.text
    assert r.json()["properties"]["external_id"] == "door"
    assert r.json()["properties"]["tags"] == ["entrance"]
    patch = {"properties": {"tags": ["front"], "external_id": "front-door"}}
    r = client.patch(f"/v1/geofences/{fence_id}", json=patch, headers=auth(shop[1]))
    assert r.status_code == 200, r.text
    props = r.json()["properties"]
    assert (props["external_id"], props["tags"], props["metadata"]) == (
        "front-door",
        ["front"],
        {"floor": 0},
    )
    other = client.post(url, json=fence("till", square(*PARIS, 10.0)), headers=auth(shop[1]))
    r = client.patch(
        f"/v1/geofences/{other.json()['id']}",
        json={"properties": {"external_id": "front-door"}},
        headers=auth(shop[1]),
    )
    assert r.status_code == 409, r.text
    r = client.patch(
        f"/v1/geofences/{fence_id}", json={"properties": {"tags": ["Bad"]}}, headers=auth(shop[1])
    )
    assert r.status_code == 422, r.text
