"""The OpenAPI document as client generators read it, and docs that work offline."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient


def test_operation_ids_are_camel_case_and_unique(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    ids = [op["operationId"] for path in doc["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z][A-Za-z0-9]*", i) for i in ids), ids
    assert doc["paths"]["/v1/me/locations"]["post"]["operationId"] == "reportLocations"


def test_user_tokens_and_staff_keys_are_separate_security_schemes(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    assert {"UserToken", "StaffKey"} <= doc["components"]["securitySchemes"].keys()
    assert doc["paths"]["/v1/me/locations"]["post"]["security"] == [{"UserToken": []}]
    assert doc["paths"]["/v1/stores/{store_id}/geofences"]["post"]["security"] == [{"StaffKey": []}]


def test_geofence_geometry_is_typed_geojson(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    geometry = schemas["GeofenceFeature"]["properties"]["geometry"]
    refs = {item["$ref"].rsplit("/", 1)[1] for item in geometry["anyOf"]}
    assert {"Polygon", "MultiPolygon", "Point"} <= refs


def test_docs_are_served_without_a_cdn(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower()
    scripts = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert scripts
    for url in scripts:
        assert url.startswith("/"), url
        assert client.get(url).status_code == 200, url
