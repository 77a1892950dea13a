"""``/metrics``: the walk into a store counted by label, request latency by route, no ids."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session, sessionmaker

from kernel.config import Settings
from kernel.metrics import count_webhook_delivery
from server.app import create_app
from server.celery import celery_app
from server.celery import configure as configure_celery
from tests.factories import auth, clock, new_shopper, open_shop, visit

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: TestClient) -> Samples:
    r = client.get("/metrics")
    assert r.status_code == 200, r.text
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    key = (name, frozenset(labels.items()))
    return after.get(key, 0.0) - before.get(key, 0.0)


def test_a_walk_into_a_store_is_counted_by_label(
    client: TestClient, settings: Settings, sessions: sessionmaker[Session]
) -> None:
    shop = open_shop(client, sessions, name="Boutique", east_m=0.0, segments=["fashion"])
    token = new_shopper(client, settings, interests=["fashion"])
    before = scrape(client)
    times = clock()
    body = visit(client, token, shop, next(times))
    assert [e["transition"] for e in body["events"]] == ["enter"]
    after = scrape(client)

    assert delta(before, after, "vicinity_fixes_total", result="accepted", reason="") == 1
    assert delta(before, after, "vicinity_transitions_total", kind="geofence", transition="enter")
    assert delta(
        before, after, "vicinity_decisions_total", outcome="sent", reason="one_per_offer_per_day"
    )
    assert delta(before, after, "vicinity_pushes_total", result="sent") == 1
    # The fast lane's route is measured under its template, like any route.
    hot = {"handler": "/v1/me/locations", "method": "POST"}
    assert delta(before, after, "http_request_duration_seconds_count", **hot) == 1
    assert delta(before, after, "http_requests_total", **hot, status="2xx") == 1
    assert after[("vicinity_geofences", frozenset())] == 1

    # Nothing in the exposition names a user, a token or a device.
    text = client.get("/metrics").text
    assert token not in text
    assert "device-token-1" not in text
    assert "user" not in {k for (_, labels) in after for k, _ in labels}


def test_an_ignored_fix_and_a_second_visit_are_counted_with_their_reasons(
    client: TestClient, settings: Settings, sessions: sessionmaker[Session]
) -> None:
    shop = open_shop(client, sessions, name="Boutique", east_m=0.0, segments=["fashion"])
    token = new_shopper(client, settings, interests=["beauty"])
    before = scrape(client)
    times = clock()
    visit(client, token, shop, next(times))
    stale = {"lat": 48.0, "lon": 2.0, "accuracy_m": 900.0, "recorded_at": next(times).isoformat()}
    r = client.post("/v1/me/locations", json={"fixes": [stale]}, headers=auth(token))
    assert r.status_code == 200, r.text
    after = scrape(client)
    ignored = [
        labels
        for (name, labels), value in after.items()
        if name == "vicinity_fixes_total"
        and ("result", "ignored") in labels
        and value > before.get((name, labels), 0.0)
    ]
    assert ignored, "the inaccurate fix is counted as ignored, with its reason"
    # Interested in nothing the shop offers: the ENTER is decided, and nothing matches.
    assert delta(before, after, "vicinity_decisions_total", outcome="none", reason="no_match")


def test_a_decision_held_back_by_the_daily_cap_is_counted_as_suppressed(
    client: TestClient, settings: Settings, sessions: sessionmaker[Session]
) -> None:
    first = open_shop(client, sessions, name="Boutique", east_m=0.0, segments=["fashion"])
    second = open_shop(client, sessions, name="Atelier", east_m=500.0, segments=["fashion"])
    token = new_shopper(client, settings, interests=["fashion"])
    prefs = {"max_per_day": 1, "quiet_hours": None, "muted_store_ids": []}
    r = client.put("/v1/me/preferences", json=prefs, headers=auth(token))
    assert r.status_code == 200, r.text
    before = scrape(client)
    times = clock()
    assert visit(client, token, first, next(times))["notifications"]
    assert not visit(client, token, second, next(times))["notifications"]
    after = scrape(client)
    held = {"outcome": "suppressed", "reason": "daily_cap"}
    assert delta(before, after, "vicinity_decisions_total", **held) == 1
    assert delta(before, after, "vicinity_pushes_total", result="sent") == 1


def test_webhook_deliveries_have_a_counter_for_events(client: TestClient) -> None:
    before = scrape(client)
    count_webhook_delivery("delivered")
    after = scrape(client)
    assert delta(before, after, "vicinity_webhook_deliveries_total", result="delivered") == 1


def test_metrics_are_left_out_of_the_api_page_and_can_be_turned_off(
    client: TestClient, settings: Settings
) -> None:
    assert "/metrics" not in client.get("/openapi.json").json()["paths"]
    with TestClient(create_app(settings.model_copy(update={"metrics": False}))) as off:
        assert off.get("/metrics").status_code == 404


@pytest.mark.usefixtures("queued")
def test_the_celery_queue_depth_and_lag_are_read_at_scrape_time(settings: Settings) -> None:
    with TestClient(create_app(settings.model_copy(update={"celery_eager": False}))) as c:
        before = scrape(c)["vicinity_celery_queue_depth", frozenset()]
        celery_app.send_task("privacy.purge")
        after = scrape(c)
    assert after["vicinity_celery_queue_depth", frozenset()] == before + 1
    assert after["vicinity_celery_queue_lag_seconds", frozenset()] >= 0.0


@pytest.fixture
def queued(settings: Settings) -> Iterator[None]:
    """Tasks go to Redis for this test (no worker runs); eager again afterwards."""
    yield
    configure_celery(settings)
