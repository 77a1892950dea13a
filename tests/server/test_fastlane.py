"""The hot paths' fast lane answers what the regular route would, and hands it the rest."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from kernel.config import Settings
from server.fastlane import HOT, FastLane
from server.handlers import JSON_HINT
from tests.factories import PARIS, auth, fix, new_shopper


def test_the_lane_stands_in_front_of_the_router_for_each_hot_path(client: TestClient) -> None:
    lanes = [m for m in client.app.user_middleware if m.cls is FastLane]  # type: ignore[attr-defined]
    assert len(lanes) == 1
    assert sorted(lanes[0].kwargs["lanes"]) == sorted(HOT)
    # The docs still describe the regular operations, once each.
    paths = client.get("/openapi.json").json()["paths"]
    assert paths["/v1/me/locations"]["post"]["operationId"] == "reportLocations"


def test_the_lanes_requests_are_counted_with_every_routes(
    client: TestClient, settings: Settings
) -> None:
    token = new_shopper(client, settings, interests=["fashion"])
    body = {"fixes": [fix(*PARIS, datetime.now(UTC) - timedelta(seconds=1))]}

    def counted() -> float:
        text = client.get("/metrics").text
        line = 'http_requests_total{handler="/v1/me/locations",method="POST",status="2xx"}'
        return sum(float(x.split()[-1]) for x in text.splitlines() if x.startswith(line))

    before = counted()
    assert client.post("/v1/me/locations", json=body, headers=auth(token)).status_code == 200
    assert counted() == before + 1


def test_a_well_formed_report_is_answered_with_the_regular_schema(
    client: TestClient, settings: Settings
) -> None:
    token = new_shopper(client, settings, interests=["fashion"])
    body = {"fixes": [fix(*PARIS, datetime.now(UTC) - timedelta(seconds=1))]}
    r = client.post("/v1/me/locations", json=body, headers=auth(token))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    assert set(r.json()) == {"accepted", "ignored", "events", "notifications"}
    assert r.json()["accepted"] == 1


def test_what_the_lane_does_not_expect_gets_the_regular_routes_errors(
    client: TestClient, settings: Settings
) -> None:
    token = new_shopper(client, settings, interests=["fashion"])
    now = datetime.now(UTC)
    good = {"fixes": [fix(*PARIS, now)]}
    # A body the schema refuses: the regular route names the field.
    bad = {"fixes": [{**fix(*PARIS, now), "lat": 123}]}
    r = client.post("/v1/me/locations", json=bad, headers=auth(token))
    assert (r.status_code, r.json()["error"]) == (422, "invalid")
    assert r.json()["problems"][0]["field"].endswith("lat")
    # Malformed JSON: located by line and column, not a character offset.
    r = client.post(
        "/v1/me/locations",
        content=b'{"fixes": [',
        headers={**auth(token), "Content-Type": "application/json"},
    )
    assert r.status_code == 422
    assert "line 1" in r.json()["detail"]
    # JSON sent as text/plain: the hint.
    r = client.post(
        "/v1/me/locations",
        content=json.dumps(good, default=str).encode(),
        headers={**auth(token), "Content-Type": "text/plain"},
    )
    assert r.status_code == 422
    assert JSON_HINT in r.json()["detail"]
    # No token, a staff key, a malformed token: the regular route's 401/403.
    assert client.post("/v1/me/locations", json=good).status_code == 401
    staff = {"Authorization": "Bearer vk_not-a-user"}
    assert client.post("/v1/me/locations", json=good, headers=staff).status_code == 403
    odd = {"Authorization": "Bearer nonsense"}
    assert client.post("/v1/me/locations", json=good, headers=odd).status_code == 401
    # An unknown but well-formed token goes through the lane and is refused there.
    unknown = {"Authorization": "Bearer vu_unknown"}
    r = client.post("/v1/me/locations", json=good, headers=unknown)
    assert (r.status_code, r.json()["error"]) == (401, "unauthorized")
