"""Security headers on every answer; CORS only for the origins configured, none by default."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient

from kernel.config import Settings
from server.app import create_app
from tests.factories import PARIS, auth, fix, new_shopper

BASE = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}
ORIGIN = "https://console.example.com"


def assert_protected(headers: object) -> None:
    for name, value in BASE.items():
        assert headers[name] == value, name  # type: ignore[index]


def test_every_answer_carries_the_headers_and_no_hsts_by_default(
    client: TestClient, settings: Settings
) -> None:
    token = new_shopper(client, settings)
    answers = [
        client.get("/health"),
        client.get("/v1/segments"),
        client.get("/v1/nowhere"),  # the framework's 404
        client.post("/v1/me/locations", json={"fixes": [fix(*PARIS, datetime.now(UTC))]}),
        # The fast lane's own answer.
        client.post(
            "/v1/me/locations",
            json={"fixes": [fix(*PARIS, datetime.now(UTC))]},
            headers=auth(token),
        ),
        client.post("/v1/users", content=b"x" * (settings.max_body_bytes + 1)),  # 413 unread
        client.get("/docs"),
    ]
    assert [a.status_code for a in answers] == [200, 200, 404, 401, 200, 413, 200]
    for answer in answers:
        assert_protected(answer.headers)
        assert "strict-transport-security" not in answer.headers


def test_the_console_keeps_its_own_policy(client: TestClient) -> None:
    page = client.get("/console")
    assert page.status_code == 200
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    # The map's tile host is meant to see this site's origin: the page's policy wins.
    assert page.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"


def test_hsts_only_when_the_deployment_says_https(settings: Settings) -> None:
    with TestClient(create_app(settings.model_copy(update={"https": True}))) as client:
        r = client.get("/health")
    assert r.headers["strict-transport-security"] == "max-age=31536000"
    assert_protected(r.headers)


def test_no_cors_headers_at_all_by_default(client: TestClient) -> None:
    r = client.get("/v1/segments", headers={"Origin": ORIGIN})
    assert r.status_code == 200
    assert not [h for h in r.headers if h.startswith("access-control-")]
    preflight = client.options(
        "/v1/users",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 405
    assert preflight.json()["error"] == "method_not_allowed"
    assert not [h for h in preflight.headers if h.startswith("access-control-")]


def test_cors_allows_exactly_the_configured_origins(settings: Settings) -> None:
    configured = settings.model_copy(update={"cors_origins": [ORIGIN]})
    with TestClient(create_app(configured)) as client:
        ok = client.get("/v1/segments", headers={"Origin": ORIGIN})
        other = client.get("/v1/segments", headers={"Origin": "https://evil.example"})
        preflight = client.options(
            "/v1/me/locations",
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
        refused = client.options(
            "/v1/me/locations",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
    assert ok.headers["access-control-allow-origin"] == ORIGIN
    assert "retry-after" in ok.headers["access-control-expose-headers"].lower()
    assert "access-control-allow-origin" not in other.headers
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in preflight.headers
    assert_protected(preflight.headers)
    assert refused.status_code == 400
    assert refused.json() == {
        "error": "bad_request",
        "detail": "CORS preflight refused: origin",
    }
    assert "access-control-allow-origin" not in refused.headers
