"""Several due notifications go through one batched send (firebase-admin `send_each`, at
most 500 messages a call), against the FCM stand-in over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from firebase_admin import messaging
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kernel.config import Settings
from notifications.models import Delivery, Notification
from notifications.tasks import deliver_notifications, sweep_notifications
from tests.fcm_standin import FcmStandIn
from tests.notifications.factories import owed


def _notes(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    users: int,
    devices: int,
    due: datetime | None = None,
) -> list[int]:
    """One pending notification for each of `users` shoppers with `devices` devices each."""
    return [
        owed(client, sessions, settings, devices=[f"u{u}-d{d}" for d in range(devices)], due=due)
        for u in range(users)
    ]


@pytest.fixture
def send_each_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Sizes of the real `send_each` calls made (counted, then passed through)."""
    real = messaging.send_each
    sizes: list[int] = []

    def counting(messages: list[Any], *args: Any, **kwargs: Any) -> Any:
        sizes.append(len(messages))
        return real(messages, *args, **kwargs)

    monkeypatch.setattr(messaging, "send_each", counting)
    return sizes


def test_600_messages_of_three_notifications_take_two_send_each_calls(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    fcm_standin: FcmStandIn,
    send_each_calls: list[int],
) -> None:
    ids = _notes(client, sessions, settings, users=3, devices=200)
    result = deliver_notifications.apply(args=(ids,), throw=True).get()
    assert result == {"sent": 600}
    assert send_each_calls == [500, 100]
    assert fcm_standin.requests_count == 600
    assert len({m["token"] for m in fcm_standin.messages}) == 600
    with sessions() as session:
        statuses = session.scalars(select(Notification.status).where(Notification.id.in_(ids)))
        assert set(statuses) == {"sent"}
    # Delivered again (a duplicated batch task): nothing more is sent.
    deliver_notifications.apply(args=(ids,), throw=True)
    assert fcm_standin.requests_count == 600


def test_a_batch_member_that_must_retry_goes_on_alone(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    fcm_standin: FcmStandIn,
    send_each_calls: list[int],
) -> None:
    ids = _notes(client, sessions, settings, users=2, devices=2)
    fcm_standin.behaviours["u1-d1"] = ["UNAVAILABLE", "OK"]
    deliver_notifications.apply(args=(ids,), throw=True)
    # The batch, then the retry of the one notification (in-process: at once).
    assert send_each_calls == [4, 1]
    with sessions() as session:
        rows = session.scalars(select(Delivery).where(Delivery.token == "u1-d1"))
        assert [(d.status, d.attempts) for d in rows] == [("sent", 2)]


def test_the_sweeper_enqueues_overdue_notifications_as_batches(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    send_each_calls: list[int],
) -> None:
    overdue = datetime.now(UTC) - timedelta(seconds=settings.notification_sweep_age_s + 60)
    ids = _notes(client, sessions, settings, users=3, devices=2, due=overdue)
    assert sweep_notifications.apply(throw=True).get() == len(ids)
    assert send_each_calls == [6]
    with sessions() as session:
        statuses = session.scalars(select(Notification.status).where(Notification.id.in_(ids)))
        assert set(statuses) == {"sent"}
