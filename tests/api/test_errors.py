"""One error vocabulary: every error body is {"error", "detail"}, one code per status."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from kernel.config import Settings
from kernel.principal import Role
from kernel.text import known_time_zones
from server.handlers import ERROR_CODES
from tests.factories import api_key, auth, new_shopper

NOW = "2026-11-23T10:00:00Z"


def test_unknown_route_is_404_in_the_error_shape(client: TestClient) -> None:
    r = client.get("/v1/nowhere")
    assert r.status_code == 404
    assert r.json() == {"error": "not_found", "detail": "no route GET /v1/nowhere"}


def test_wrong_method_is_405_in_the_error_shape(client: TestClient) -> None:
    r = client.put("/v1/stores")
    assert r.status_code == 405
    assert r.json()["error"] == "method_not_allowed"
    assert "PUT is not allowed on /v1/stores" in r.json()["detail"]
    assert "POST" in r.headers["allow"]


def test_one_code_per_status_for_422(client: TestClient, sessions: sessionmaker[Session]) -> None:
    operator = api_key(sessions, Role.OPERATOR)
    schema = client.post("/v1/stores", json={"name": ""}, headers=auth(operator))
    service = client.get("/v1/stores?limit=0", headers=auth(operator))
    assert schema.status_code == service.status_code == 422
    assert schema.json()["error"] == service.json()["error"] == ERROR_CODES[422] == "invalid"


def test_malformed_json_names_line_and_column(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    operator = api_key(sessions, Role.OPERATOR)
    r = client.post(
        "/v1/stores",
        content=b'{\n  "name": "Shop",\n  "address": }',
        headers={**auth(operator), "Content-Type": "application/json"},
    )
    assert r.status_code == 422
    body = r.json()
    assert body["error"] == "invalid"
    assert body["detail"] == "body is not valid JSON: Expecting value at line 3 column 14"
    assert body["problems"][0]["field"] == "body"


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_named_as_such(
    client: TestClient, settings: Settings, value: str
) -> None:
    token = new_shopper(client, settings)
    fix = f'{{"lat": 48.86, "lon": 2.347, "accuracy_m": {value}, "recorded_at": "{NOW}"}}'
    body = f'{{"fixes": [{fix}]}}'
    r = client.post(
        "/v1/me/locations",
        content=body.encode(),
        headers={**auth(token), "Content-Type": "application/json"},
    )
    assert r.status_code == 422, r.text
    assert r.json()["detail"] == "fixes.0.accuracy_m: must be a finite number"


@pytest.mark.parametrize("content_type", ["text/plain", None])
def test_json_without_its_content_type_gets_a_hint(
    client: TestClient, sessions: sessionmaker[Session], content_type: str | None
) -> None:
    operator = api_key(sessions, Role.OPERATOR)
    headers = auth(operator)
    if content_type is not None:
        headers["Content-Type"] = content_type
    r = client.post("/v1/stores", content=b'{"name": "Shop"}', headers=headers)
    assert r.status_code == 422, r.text
    assert "send Content-Type: application/json" in r.json()["detail"]


def test_every_documented_error_uses_the_vocabulary(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for status, code in ERROR_CODES.items():
        if status in (400, 405):
            continue  # not documented per route: no route answers them on purpose
        responses = spec["paths"]["/v1/stores"]["post"]["responses"]
        if str(status) in responses:
            assert f"`{code}`" in responses[str(status)]["description"]
    assert "`invalid`" in spec["info"]["description"]


def test_time_zones_are_listed_once(client: TestClient) -> None:
    known_time_zones()  # primed by any earlier validation
    before = known_time_zones.cache_info()
    for _ in range(3):
        r = client.post("/v1/users", json={"locale": "fr", "timezone": "Europe/Paris"})
        assert r.status_code == 201, r.text
    r = client.post("/v1/users", json={"timezone": "Mars/Olympus"})
    assert r.status_code == 422
    assert "unknown time zone" in r.json()["detail"]
    after = known_time_zones.cache_info()
    assert after.misses == before.misses  # never listed again
    assert after.hits >= before.hits + 4
