"""The simulator's HTTP edge: Retry-After honoured and counted, bodies the API accepts,
the report's plot."""

from __future__ import annotations

import asyncio
import time
from xml.etree import ElementTree

import httpx

from simulator.api import Api, event_request, retry_after_s
from simulator.core import Beacon, Fix, Send, Sighting, Tap
from simulator.report import svg
from simulator.stats import STEADY_AFTER_S, Stats, percentile


def _api(handler: httpx.MockTransport, stats: Stats) -> tuple[httpx.AsyncClient, Api]:
    client = httpx.AsyncClient(base_url="http://sim.test", transport=handler)
    return client, Api(client, stats, concurrency=4, deadline=time.monotonic() + 60)


def test_a_429_is_waited_out_as_retry_after_says_then_sent_again_and_both_are_counted() -> None:
    answers = iter(
        [
            httpx.Response(429, headers={"Retry-After": "0.2"}, json={"error": "too_many"}),
            httpx.Response(200, json={"accepted": 1}),
        ]
    )
    seen: list[float] = []

    def handler(_request: httpx.Request) -> httpx.Response:
        seen.append(time.monotonic())
        return next(answers)

    stats = Stats(time.monotonic())

    async def go() -> httpx.Response | None:
        client, api = _api(httpx.MockTransport(handler), stats)
        async with client:
            return await api.call("POST", "/v1/me/locations", token="t", endpoint="fix", events=1)

    final = asyncio.run(go())
    assert final is not None
    assert final.status_code == 200
    assert seen[1] - seen[0] >= 0.2
    assert (stats.requests, stats.ok, dict(stats.errors)) == (2, 1, {"429": 1})
    assert dict(stats.waited) == {"429": 1}
    assert stats.summary(1.0)["unexpected_errors"] == 0
    assert stats.retries_waited_s == 0.2


def test_only_busy_conflicts_429_and_503_ask_for_a_wait() -> None:
    busy = httpx.Response(409, headers={"Retry-After": "1"}, json={"error": "busy"})
    conflict = httpx.Response(409, json={"error": "conflict"})
    assert retry_after_s(busy) == 1.0
    assert retry_after_s(conflict) is None
    assert retry_after_s(httpx.Response(429)) == 1.0  # no header: a second
    assert retry_after_s(httpx.Response(503, headers={"Retry-After": "60"})) == 60.0
    assert retry_after_s(httpx.Response(503, headers={"Retry-After": "9999"})) == 120.0
    assert retry_after_s(httpx.Response(422, headers={"Retry-After": "1"})) is None


def test_an_unreachable_server_is_counted_as_a_transport_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    stats = Stats(time.monotonic())

    async def go() -> httpx.Response | None:
        client, api = _api(httpx.MockTransport(handler), stats)
        async with client:
            return await api.call("GET", "/health", token="", endpoint="setup")

    assert asyncio.run(go()) is None
    assert dict(stats.errors) == {"transport": 1}


def test_event_bodies_are_what_the_api_reads() -> None:
    epoch = 1_800_000_000.0
    fixes = Send(1.5, (Fix(48.85, 2.34, 12.0, 1.0), Fix(48.85, 2.34, None, 1.5)))
    path, body, refused = event_request(fixes, epoch)
    assert path == "/v1/me/locations"
    assert refused == (422,)
    assert body["fixes"][0] == {
        "lat": 48.85,
        "lon": 2.34,
        "accuracy_m": 12.0,
        "recorded_at": "2027-01-15T08:00:01.000Z",
    }
    assert "accuracy_m" not in body["fixes"][1]
    heard = Send(2.0, (Sighting(Beacon("5e0c1a7e-0000-4000-8000-000000005111", 3, 1), -70, 2.0),))
    path, body, refused = event_request(heard, epoch)
    assert path == "/v1/me/sightings"
    assert refused == ()
    assert body["sightings"][0]["ibeacon"]["major"] == 3
    path, body, _ = event_request(Send(3.0, (Tap("5E000000000003", 3, 3.0),)), epoch)
    assert (path, body["uid"], body["store_id"]) == ("/v1/me/taps", "5E000000000003", 3)


def test_percentiles_and_the_plot() -> None:
    assert percentile([], 99) == 0.0
    assert percentile([float(n) for n in range(1, 101)], 99) == 99.0
    stats = Stats(0.0)
    for n in range(30):
        status = 200 if n % 10 else 500
        stats.answered(now=n / 10, endpoint="fix", status=status, latency_s=n / 1000, events=2)
    summary = stats.summary(3.0)
    assert summary["requests"] == summary["ok"] + sum(summary["errors"].values())
    assert summary["server_errors"] == 3
    drawn = svg(stats.series(), title="a <run> & its figures")
    root = ElementTree.fromstring(drawn)  # well-formed, the title escaped
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert len(root.findall("{http://www.w3.org/2000/svg}polyline")) == 3


def test_the_steady_state_leaves_out_the_cold_start() -> None:
    stats = Stats(0.0)
    # A slow burst at the start (every shopper already in a shop ENTERs it), then calm.
    for _ in range(10):
        stats.answered(now=0.5, endpoint="fix", status=200, latency_s=5.0, events=1)
        stats.decided(now=0.5, latency_s=5.0)
    for n in range(100):
        at = STEADY_AFTER_S + n / 10
        stats.answered(now=at, endpoint="fix", status=200, latency_s=0.004, events=1)
    stats.decided(now=STEADY_AFTER_S + 1.0, latency_s=0.02)
    summary = stats.summary(STEADY_AFTER_S + 10.0)
    assert summary["latency_ms"]["max"] == 5000.0
    assert summary["latency_with_push_ms"]["requests"] == 11
    steady = summary["steady"]
    assert steady["after_s"] == STEADY_AFTER_S
    assert steady["latency_ms"]["max"] == 4.0
    assert steady["latency_with_push_ms"] == {"requests": 1, "p50": 20.0, "p99": 20.0}
