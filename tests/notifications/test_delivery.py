"""Delivery through the real firebase-admin client to the FCM stand-in, and its failures."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from accounts.models import Device
from kernel.config import Settings
from kernel.principal import Role
from notifications.models import Delivery, Notification
from notifications.tasks import deliver_notification
from server.app import create_app
from server.celery import celery_app, configure
from tests.factories import (
    PARIS,
    api_key,
    auth,
    fix,
    new_geofence,
    new_offer,
    new_shopper,
    new_store,
    square,
)
from tests.fcm_standin import FcmStandIn


def _shop(client: TestClient, sessions: sessionmaker[Session]) -> None:
    operator = api_key(sessions, Role.OPERATOR)
    store_id = new_store(client, operator)
    staff = api_key(sessions, Role.STORE, [store_id])
    new_geofence(client, staff, store_id, square(*PARIS, 40.0))
    new_offer(client, staff, store_id, ["fashion"])


def _enter(client: TestClient, token: str) -> int:
    r = client.post(
        "/v1/me/locations", json={"fixes": [fix(*PARIS, datetime.now(UTC))]}, headers=auth(token)
    )
    assert r.status_code == 200, r.text
    ids: list[int] = r.json()["notifications"]
    assert len(ids) == 1
    return ids[0]


def _deliveries(sessions: sessionmaker[Session], note_id: int) -> list[Delivery]:
    with sessions() as session:
        return list(session.scalars(select(Delivery).where(Delivery.notification_id == note_id)))


def test_unregistered_token_is_deleted(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    _shop(client, sessions)
    token = new_shopper(client, settings, interests=["fashion"], device="unregistered-phone")
    note_id = _enter(client, token)
    [delivery] = _deliveries(sessions, note_id)
    assert (delivery.status, delivery.error_code) == ("dropped", "UNREGISTERED")
    assert client.get("/v1/me/devices", headers=auth(token)).json() == []


def test_payload_invalid_argument_fails_but_keeps_the_token(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    fcm_standin: FcmStandIn,
) -> None:
    _shop(client, sessions)
    fcm_standin.behaviours["phone"] = ["INVALID_ARGUMENT"]
    token = new_shopper(client, settings, interests=["fashion"], device="phone")
    note_id = _enter(client, token)
    [delivery] = _deliveries(sessions, note_id)
    assert delivery.status == "failed"
    assert len(client.get("/v1/me/devices", headers=auth(token)).json()) == 1


def test_unavailable_is_retried_then_sent_once(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    fcm_standin: FcmStandIn,
) -> None:
    _shop(client, sessions)
    fcm_standin.behaviours["flaky-phone"] = ["UNAVAILABLE", "QUOTA_EXCEEDED", "OK"]
    token = new_shopper(client, settings, interests=["fashion"], device="flaky-phone")
    note_id = _enter(client, token)
    [delivery] = _deliveries(sessions, note_id)
    assert (delivery.status, delivery.attempts) == ("sent", 3)
    assert len(fcm_standin.messages) == 1


def test_retries_give_up_after_the_limit(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    fcm_standin: FcmStandIn,
) -> None:
    _shop(client, sessions)
    fcm_standin.behaviours["dead-phone"] = ["UNAVAILABLE"] * 20
    token = new_shopper(client, settings, interests=["fashion"], device="dead-phone")
    note_id = _enter(client, token)
    [delivery] = _deliveries(sessions, note_id)
    assert (delivery.status, delivery.attempts) == ("failed", settings.push_max_retries)
    with sessions() as session:
        assert session.get(Notification, note_id).status == "failed"  # type: ignore[union-attr]


def test_a_repeated_task_never_sends_twice(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    fcm_standin: FcmStandIn,
) -> None:
    _shop(client, sessions)
    token = new_shopper(client, settings, interests=["fashion"], device="phone")
    note_id = _enter(client, token)
    deliver_notification.apply(args=(note_id,))
    deliver_notification.apply(args=(note_id,))
    assert fcm_standin.requests_count == 1


@pytest.mark.parametrize("place_bound", [False, True])
def test_an_offer_push_collapses_per_store_and_lives_as_long_as_it_is_useful(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    fcm_standin: FcmStandIn,
    place_bound: bool,
) -> None:
    """As long as the offer; a place-bound one as long as the expected visit."""
    operator = api_key(sessions, Role.OPERATOR)
    store_id = new_store(client, operator)
    staff = api_key(sessions, Role.STORE, [store_id])
    new_geofence(client, staff, store_id, square(*PARIS, 40.0))
    ends_at = datetime.now(UTC) + timedelta(hours=2)
    new_offer(
        client, staff, store_id, ["fashion"], ends_at=ends_at.isoformat(), place_bound=place_bound
    )
    token = new_shopper(client, settings, interests=["fashion"], device="phone")
    _enter(client, token)
    [message] = fcm_standin.messages
    assert message["android"]["collapse_key"] == f"store-{store_id}"
    assert message["android"]["notification"]["tag"] == f"store-{store_id}"
    assert message["apns"]["headers"]["apns-collapse-id"] == f"store-{store_id}"
    assert message["apns"]["payload"]["aps"]["thread-id"] == f"store-{store_id}"
    lives_s = settings.visit_s if place_bound else 7200
    ttl = int(message["android"]["ttl"].removesuffix("s"))
    assert lives_s - 100 <= ttl <= lives_s
    expires = datetime.fromtimestamp(int(message["apns"]["headers"]["apns-expiration"]), UTC)
    ends = datetime.now(UTC) + timedelta(seconds=settings.visit_s) if place_bound else ends_at
    assert abs((expires - ends).total_seconds()) <= 60


def test_every_device_of_the_user_gets_it(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    fcm_standin: FcmStandIn,
) -> None:
    _shop(client, sessions)
    token = new_shopper(client, settings, interests=["fashion"], device="phone")
    client.post("/v1/me/devices", json={"token": "tablet", "platform": "ios"}, headers=auth(token))
    _enter(client, token)
    assert sorted(m["token"] for m in fcm_standin.messages) == ["phone", "tablet"]


@pytest.fixture
def worker_client(settings: Settings) -> Iterator[TestClient]:
    """The API with delivery on a real Celery worker over Redis, not in-process."""
    real = settings.model_copy(update={"celery_eager": False})
    with TestClient(create_app(real)) as client:
        configure(real)
        with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            yield client
    configure(settings)


def test_delivery_through_a_real_worker(
    worker_client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    fcm_standin: FcmStandIn,
) -> None:
    _shop(worker_client, sessions)
    token = new_shopper(worker_client, settings, interests=["fashion"], device="worker-phone")
    _enter(worker_client, token)
    fcm_standin.wait_for(1, timeout=20)
    assert fcm_standin.messages[0]["token"] == "worker-phone"
    with sessions() as session:
        assert session.scalar(select(Device.token)) == "worker-phone"
