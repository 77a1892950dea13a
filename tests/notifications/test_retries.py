"""Retries in the worker, time driven by `now`: Retry-After and the quota floor honoured,
backoff with equal jitter, a bounded number of attempts, dead tokens pruned."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from accounts.models import Device
from kernel.config import Settings
from kernel.db import unit_of_work
from notifications.answers import BASE_BACKOFF_S, MAX_BACKOFF_S, backoff_s
from notifications.delivery import sweep
from notifications.models import Delivery, Notification
from tests.fcm_standin import FcmStandIn
from tests.notifications.factories import deliver_now, notification, owed


def _state(sessions: sessionmaker[Session], note_id: int) -> tuple[Notification, Delivery]:
    with sessions() as session:
        note = session.get(Notification, note_id)
        assert note is not None
        [delivery] = session.scalars(select(Delivery).where(Delivery.notification_id == note_id))
        return note, delivery


def _due(sessions: sessionmaker[Session], settings: Settings, at: datetime) -> list[int]:
    with unit_of_work(sessions) as session:
        return sweep(
            session, now=at, age_s=settings.notification_sweep_age_s, enqueue=lambda _id: None
        )


def test_429_with_retry_after_then_200_is_delivered_once_after_the_wait(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    fcm_standin: FcmStandIn,
) -> None:
    note_id = owed(client, sessions, settings)
    fcm_standin.behaviours["phone"] = ["QUOTA_EXCEEDED:300", "OK"]
    now = datetime.now(UTC)
    first = deliver_now(client, sessions, note_id, now=now)
    assert first.retry_after_s is not None
    assert first.retry_after_s >= 300
    note, delivery = _state(sessions, note_id)
    assert (note.status, delivery.status, delivery.error_code) == (
        "retrying",
        "retry",
        "QUOTA_EXCEEDED",
    )
    assert note.next_attempt_at is not None
    assert note.next_attempt_at >= now + timedelta(seconds=300)
    # Not due before the wait is over.
    assert _due(sessions, settings, now + timedelta(seconds=299)) == []
    second = deliver_now(
        client, sessions, note_id, now=now + timedelta(seconds=first.retry_after_s)
    )
    assert (second.sent, second.retry_after_s) == (1, None)
    assert fcm_standin.requests_count == 2
    assert len(fcm_standin.messages) == 1
    note, delivery = _state(sessions, note_id)
    assert (note.status, delivery.status, delivery.attempts) == ("sent", "sent", 2)


@pytest.mark.parametrize(
    ("answer", "least_wait_s"),
    [("QUOTA_EXCEEDED", 60), ("UNAVAILABLE:900", 900)],
    ids=["quota-exceeded-without-retry-after-waits-a-minute", "503-retry-after-is-honoured"],
)
def test_the_retry_waits_at_least_what_fcm_asks(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    fcm_standin: FcmStandIn,
    answer: str,
    least_wait_s: float,
) -> None:
    note_id = owed(client, sessions, settings)
    fcm_standin.behaviours["phone"] = [answer]
    result = deliver_now(client, sessions, note_id, now=datetime.now(UTC))
    assert result.retry_after_s is not None
    assert result.retry_after_s >= least_wait_s


def test_500_five_times_gives_up_with_a_recorded_failure(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    fcm_standin: FcmStandIn,
) -> None:
    assert settings.push_max_retries == 5
    note_id = owed(client, sessions, settings)
    fcm_standin.behaviours["phone"] = ["INTERNAL"] * 10
    now = datetime.now(UTC)
    for _ in range(5):
        result = deliver_now(client, sessions, note_id, now=now)
        now += timedelta(seconds=result.retry_after_s or 0)
    assert result.retry_after_s is None
    note, delivery = _state(sessions, note_id)
    assert (note.status, note.next_attempt_at) == ("failed", None)
    assert (delivery.status, delivery.attempts, delivery.error_code) == ("failed", 5, "INTERNAL")
    deliver_now(client, sessions, note_id, now=now + timedelta(hours=1))
    assert fcm_standin.requests_count == 5


def test_unregistered_token_is_gone_and_never_tried_again(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    fcm_standin: FcmStandIn,
) -> None:
    note_id = owed(client, sessions, settings)
    fcm_standin.behaviours["phone"] = ["UNREGISTERED"]
    deliver_now(client, sessions, note_id, now=datetime.now(UTC))
    note, delivery = _state(sessions, note_id)
    assert (note.status, delivery.status, delivery.error_code) == (
        "failed",
        "dropped",
        "UNREGISTERED",
    )
    with sessions() as session:
        assert session.scalar(select(Device).where(Device.token == "phone")) is None
        user_id = note.user_id
    deliver_now(client, sessions, note_id, now=datetime.now(UTC) + timedelta(hours=1))
    # A later notification for the same user finds no device and is not owed any more.
    with unit_of_work(sessions) as session:
        later = notification(user_id)
        session.add(later)
        session.flush()
        later_id = later.id
    deliver_now(client, sessions, later_id, now=datetime.now(UTC))
    assert fcm_standin.requests_count == 1
    with sessions() as session:
        assert session.get(Notification, later_id).status == "no_device"  # type: ignore[union-attr]


def test_sender_id_mismatch_prunes_the_token(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    fcm_standin: FcmStandIn,
) -> None:
    note_id = owed(client, sessions, settings)
    fcm_standin.behaviours["phone"] = ["SENDER_ID_MISMATCH"]
    deliver_now(client, sessions, note_id, now=datetime.now(UTC))
    _, delivery = _state(sessions, note_id)
    assert (delivery.status, delivery.error_code) == ("dropped", "SENDER_ID_MISMATCH")
    with sessions() as session:
        assert session.scalar(select(Device).where(Device.token == "phone")) is None


def test_backoff_is_exponential_with_equal_jitter_and_a_floor() -> None:
    rng = random.Random(7)
    for attempt in range(12):
        ceiling = min(MAX_BACKOFF_S, BASE_BACKOFF_S * 2**attempt)
        waits = [backoff_s(attempt, 0.0, rng) for _ in range(200)]
        assert all(ceiling / 2 <= w <= ceiling for w in waits)
        # Jittered: the upper half is used, retries of many devices spread out.
        assert min(waits) < ceiling * 0.6
        assert max(waits) > ceiling * 0.9
    assert backoff_s(0, 60.0, rng) == 60.0


def test_the_attempts_of_a_push_outlast_a_minute_of_fcm_outage() -> None:
    """However the jitter falls, a device's attempts span more than a minute: an FCM
    outage that short gives up on no push."""
    rng = random.Random(11)
    attempts = Settings().push_max_retries
    for _ in range(1000):
        span = sum(backoff_s(attempt, 0.0, rng) for attempt in range(1, attempts))
        assert span >= 75.0
