"""Rate limits: sign-up per IP, events per token and per IP, 429 with Retry-After, before
routing (the fast lane and the regular route alike), in one Redis round trip.

The suite runs with limits off (tests/conftest.py); these tests turn them on. Addresses
come the way the README says a deployment sets them: uvicorn's proxy-headers middleware
rewriting the scope's client from ``X-Forwarded-For``, here trusted from the test client.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from limits import parse_many
from pydantic import ValidationError
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from kernel.config import Settings
from kernel.db import make_engine
from server.app import create_app
from server.migrate import upgrade
from server.ratelimit import UNCHECKED, Hit, MemoryCounters, RateLimiter, RedisCounters
from tests.factories import PARIS, auth, fix

FAR = "1000/minute"


def limited(settings: Settings, **rates: str) -> Settings:
    return settings.model_copy(
        update={
            "rate_limits": True,
            "rate_signup_per_ip": FAR,
            "rate_events_per_token": FAR,
            "rate_events_per_ip": FAR,
            **rates,
        }
    )


@pytest.fixture
def make_client(settings: Settings) -> Iterator[Any]:
    opened: list[TestClient] = []

    def make(**rates: str) -> TestClient:
        app = create_app(limited(settings, **rates))
        # The ASGI typings of uvicorn and Starlette differ; the objects are the same.
        client = TestClient(ProxyHeadersMiddleware(app, trusted_hosts="*"))  # type: ignore[arg-type]
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


def ip(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


def sign_up(client: TestClient, address: str = "10.0.0.1") -> Any:
    return client.post("/v1/users", json={}, headers=ip(address))


def token_of(client: TestClient, address: str = "10.9.9.9") -> str:
    r = sign_up(client, address)
    assert r.status_code == 201, r.text
    return str(r.json()["token"])


def report(client: TestClient, token: str, address: str = "10.0.0.1", body: Any = None) -> Any:
    body = body if body is not None else {"fixes": [fix(*PARIS, datetime.now(UTC))]}
    return client.post("/v1/me/locations", json=body, headers={**auth(token), **ip(address)})


def assert_refused(r: Any, who: str, window_s: int = 60) -> None:
    assert r.status_code == 429, r.text
    assert r.json()["error"] == "too_many_requests"
    assert who in r.json()["detail"]
    assert 1 <= int(r.headers["Retry-After"]) <= window_s


def test_sign_up_is_limited_per_address(make_client: Any) -> None:
    client = make_client(rate_signup_per_ip="3/minute")
    assert [sign_up(client).status_code for _ in range(3)] == [201, 201, 201]
    refused = sign_up(client)
    assert_refused(refused, "this address")
    assert "3 per 1 minute" in refused.json()["detail"]
    # Another address is counted on its own.
    assert sign_up(client, "10.0.0.2").status_code == 201
    assert sign_up(client).status_code == 429


def test_the_app_itself_never_trusts_x_forwarded_for(settings: Settings) -> None:
    app = create_app(limited(settings, rate_signup_per_ip="1/minute"))
    with TestClient(app) as client:
        assert sign_up(client, "10.0.0.1").status_code == 201
        # Without the proxy-headers middleware the header names nobody: same client.
        assert sign_up(client, "10.0.0.2").status_code == 429


def test_events_are_limited_per_token_whatever_the_address(make_client: Any) -> None:
    client = make_client(rate_events_per_token="2/minute")
    ann, bob = token_of(client), token_of(client)
    assert [report(client, ann).status_code for _ in range(2)] == [200, 200]
    assert_refused(report(client, ann), "this token")
    assert_refused(report(client, ann, address="10.0.0.7"), "this token")
    # Another phone behind the same address is not held back by Ann's limit.
    assert report(client, bob).status_code == 200


def test_events_are_limited_per_address_whatever_the_token(make_client: Any) -> None:
    client = make_client(rate_events_per_ip="3/minute")
    tokens = [token_of(client) for _ in range(4)]
    assert [report(client, t).status_code for t in tokens[:3]] == [200, 200, 200]
    assert_refused(report(client, tokens[3]), "this address")
    assert report(client, tokens[3], address="10.0.0.2").status_code == 200


def test_the_fast_lane_and_the_regular_route_count_alike(make_client: Any) -> None:
    client = make_client(rate_events_per_token="2/minute")
    token = token_of(client)
    # Well formed: the fast lane answers. Malformed: the lane hands it to the router.
    assert report(client, token).status_code == 200
    assert report(client, token, body={"fixes": [{"lat": 123}]}).status_code == 422
    # Past the limit both are refused before either route is reached.
    assert_refused(report(client, token), "this token")
    assert_refused(report(client, token, body={"fixes": [{"lat": 123}]}), "this token")


def test_every_event_endpoint_is_limited(make_client: Any) -> None:
    client = make_client(rate_events_per_token="1/minute")
    events = [
        ("/v1/me/sightings", {"sightings": []}),
        ("/v1/me/taps", {"uid": "04A1B2C3", "tapped_at": datetime.now(UTC).isoformat()}),
        ("/v1/me/notifications/1/opened", None),
        ("/v1/me/looks/1/opened", None),
    ]
    for path, body in events:
        token = token_of(client)
        first = client.post(path, json=body, headers={**auth(token), **ip("10.0.0.1")})
        assert first.status_code != 429, (path, first.text)
        again = client.post(path, json=body, headers={**auth(token), **ip("10.0.0.1")})
        assert_refused(again, "this token")
    # Reading is not an event: never limited.
    token = token_of(client)
    for _ in range(3):
        assert client.get("/v1/me/notifications", headers=auth(token)).status_code == 200


def test_a_limit_frees_when_its_window_ends(make_client: Any) -> None:
    client = make_client(rate_events_per_token="1/second")
    token = token_of(client)
    assert report(client, token).status_code == 200
    refused = report(client, token)
    assert_refused(refused, "this token", window_s=1)
    deadline = time.monotonic() + 5
    while (r := report(client, token)).status_code == 429:
        assert time.monotonic() < deadline, "the window never freed"
        time.sleep(0.05)
    assert r.status_code == 200


def test_one_redis_round_trip_per_limited_request_and_no_token_in_redis(
    make_client: Any, redis_client: redis.Redis
) -> None:
    client = make_client(rate_signup_per_ip="5/minute;100/hour")
    assert sign_up(client).status_code == 201  # loads the script once

    def scripts() -> int:
        stats = redis_client.info("commandstats")
        return sum(int(stats.get(f"cmdstat_{c}", {}).get("calls", 0)) for c in ("evalsha", "eval"))

    before = scripts()
    assert sign_up(client).status_code == 201
    # One EVALSHA for both limits (sign-up itself runs no script).
    assert scripts() - before == 1
    token = token_of(client)
    report(client, token)
    keys = [str(k, "ascii") for k in redis_client.keys("vicinity:rate:*")]  # type: ignore[arg-type]
    assert keys
    assert not any(token in k or token[3:] in k for k in keys)


def test_limits_are_off_when_the_setting_says_so(settings: Settings) -> None:
    off = settings.model_copy(update={"rate_limits": False, "rate_signup_per_ip": "1/minute"})
    assert RateLimiter.of(off) is None
    with TestClient(create_app(off)) as client:
        assert [sign_up(client).status_code for _ in range(3)] == [201, 201, 201]


def test_limits_are_read_in_the_limits_notation(settings: Settings) -> None:
    with pytest.raises(ValidationError, match="not a rate limit"):
        Settings(database_url=settings.database_url, rate_events_per_token="lots")
    empty = Settings(database_url=settings.database_url, rate_events_per_ip="", rate_limits=True)
    limiter = RateLimiter.of(empty.model_copy(update={"redis_url": None}))
    assert limiter is not None
    assert limiter.events_ip == []
    assert isinstance(limiter.counters, MemoryCounters)
    with_redis = RateLimiter.of(settings.model_copy(update={"rate_limits": True}))
    assert with_redis is not None
    assert isinstance(with_redis.counters, RedisCounters)


def test_the_embedded_counters_count_in_windows() -> None:
    (item,) = parse_many("2/minute")
    hits = [Hit("events-token", item, "abc")]

    async def three() -> list[tuple[int, float]]:
        counters = MemoryCounters()
        try:
            return [(await counters.hit(hits))[0] for _ in range(3)]
        finally:
            await counters.aclose()

    counted = asyncio.run(three())
    assert [c for c, _ in counted] == [1, 2, 3]
    assert all(55 < left <= 60 for _, left in counted)


def test_the_embedded_server_limits_in_memory(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/v.db"
    upgrade(make_engine(Settings(database_url=url, var_dir=tmp_path)))
    embedded = Settings(
        database_url=url, var_dir=tmp_path, rate_limits=True, rate_signup_per_ip="2/minute"
    )
    assert embedded.embedded
    with TestClient(create_app(embedded)) as client:
        assert [sign_up(client).status_code for _ in range(2)] == [201, 201]
        assert_refused(sign_up(client), "this address")


def test_refusals_reach_the_metrics(make_client: Any) -> None:
    client = make_client(rate_signup_per_ip="1/minute")
    sign_up(client)
    sign_up(client)
    metrics = client.get("/metrics").text
    assert 'vicinity_rate_limited_total{limit="signup-ip"}' in metrics


def test_an_unreachable_redis_lets_requests_through_counted(settings: Settings) -> None:
    nowhere = settings.model_copy(
        update={"rate_limits": True, "redis_url": "redis://127.0.0.1:1/0"}
    )
    limiter = RateLimiter.of(nowhere)
    assert limiter is not None
    (item,) = parse_many("1/minute")
    before = UNCHECKED._value.get()

    async def twice() -> list[object]:
        try:
            return [await limiter.refusal([Hit("signup-ip", item, "10.0.0.1")]) for _ in range(2)]
        finally:
            await limiter.aclose()

    assert asyncio.run(twice()) == [None, None]
    assert UNCHECKED._value.get() - before == 2
