"""Send-once claims: one push per (notification, device) across duplicated tasks, racing
workers and a worker killed mid-send, with no row lock held across the HTTP request."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from kernel.config import Settings
from kernel.db import unit_of_work
from notifications.answers import CLAIM_TIMEOUT_S, Outcomes
from notifications.delivery import deliver
from notifications.models import Delivery, Notification
from notifications.push import PushMessage, PushResult, PushSender
from notifications.tasks import deliver_notification
from tests.fcm_standin import FcmStandIn
from tests.notifications.factories import deliver_now, owed


def _deliveries(sessions: sessionmaker[Session], note_id: int) -> dict[str, Delivery]:
    with sessions() as session:
        rows = session.scalars(select(Delivery).where(Delivery.notification_id == note_id))
        return {d.token: d for d in rows}


def test_racing_tasks_send_once_per_device(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    fcm_standin: FcmStandIn,
) -> None:
    note_id = owed(client, sessions, settings, devices=("phone", "tablet"))
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def worker() -> None:
        start.wait()
        try:
            deliver_notification.apply(args=(note_id,), throw=True)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(m["token"] for m in fcm_standin.messages) == ["phone", "tablet"]
    assert {d.status for d in _deliveries(sessions, note_id).values()} == {"sent"}


class _Meddling:
    """A sender that, mid-send, checks the notification row is not locked and lets a second
    worker try the same notification."""

    name = "meddling"

    def __init__(self, inner: PushSender, during: list[Callable[[], None]]) -> None:
        self.inner, self.during = inner, during

    def send(self, messages: Sequence[PushMessage]) -> list[PushResult]:
        for step in self.during:
            step()
        return self.inner.send(messages)


def test_no_lock_is_held_during_the_send_and_a_second_worker_sends_nothing(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    fcm_standin: FcmStandIn,
) -> None:
    note_id = owed(client, sessions, settings, devices=("phone", "tablet"))
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    seen: list[str] = []

    def lock_is_free() -> None:
        with unit_of_work(sessions) as session:
            session.execute(text("SET LOCAL lock_timeout = '1s'"))
            mine = select(Notification.id).where(Notification.id == note_id)
            session.execute(mine.with_for_update(nowait=True))
        seen.append("unlocked")

    def second_worker() -> None:
        deliver_now(client, sessions, note_id)
        seen.append(f"second sent {fcm_standin.requests_count}")

    meddling = _Meddling(runtime.push, [lock_is_free, second_worker])
    deliver_now(client, sessions, note_id, sender=meddling)
    assert seen == ["unlocked", "second sent 0"]
    assert fcm_standin.requests_count == 2
    assert {d.status for d in _deliveries(sessions, note_id).values()} == {"sent"}
    with sessions() as session:
        assert session.get(Notification, note_id).status == "sent"  # type: ignore[union-attr]


def _abandon_claim(sessions: sessionmaker[Session], note_id: int, at: datetime) -> None:
    """What a worker killed mid-send leaves: both deliveries claimed, no outcome."""
    with unit_of_work(sessions) as session:
        note = session.get(Notification, note_id)
        assert note is not None
        for token in ("phone", "tablet"):
            session.add(
                Delivery(
                    notification=note,
                    token=token,
                    status="sending",
                    message_id="claim:dead",
                    updated_at=at,
                )
            )


def test_a_fresh_claim_of_a_live_worker_is_left_alone(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    fcm_standin: FcmStandIn,
) -> None:
    note_id = owed(client, sessions, settings, devices=("phone", "tablet"))
    now = datetime.now(UTC)
    _abandon_claim(sessions, note_id, now)
    deliver_now(client, sessions, note_id, now=now + timedelta(seconds=CLAIM_TIMEOUT_S - 1))
    assert fcm_standin.requests_count == 0
    assert {d.status for d in _deliveries(sessions, note_id).values()} == {"sending"}


def test_a_claim_left_by_a_killed_worker_is_sent_again_once(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    fcm_standin: FcmStandIn,
) -> None:
    note_id = owed(client, sessions, settings, devices=("phone", "tablet"))
    then = datetime.now(UTC) - timedelta(seconds=CLAIM_TIMEOUT_S + 1)
    _abandon_claim(sessions, note_id, then)
    now = datetime.now(UTC)
    deliver_now(client, sessions, note_id, now=now)
    deliver_now(client, sessions, note_id, now=now + timedelta(seconds=2 * CLAIM_TIMEOUT_S))
    assert sorted(m["token"] for m in fcm_standin.messages) == ["phone", "tablet"]
    rows = _deliveries(sessions, note_id)
    assert {(d.status, d.attempts) for d in rows.values()} == {("sent", 1)}
    assert all(not (d.message_id or "").startswith("claim:") for d in rows.values())


def test_a_late_answer_of_a_superseded_claim_is_not_recorded_twice(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    fcm_standin: FcmStandIn,
) -> None:
    """A worker that outlived its claim records nothing over the claim that replaced it."""
    note_id = owed(client, sessions, settings, devices=("phone", "tablet"))
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    slow_outcomes: Outcomes = {}
    now = datetime.now(UTC)

    def overtaken() -> None:
        deliver_now(client, sessions, note_id, now=now + timedelta(seconds=CLAIM_TIMEOUT_S + 1))

    deliver(
        sessions,
        notification_id=note_id,
        sender=_Meddling(runtime.push, [overtaken]),
        max_attempts=5,
        now=now,
        outcomes=slow_outcomes,
        settings=runtime.settings,
    )
    # The window the design accepts: both claims sent. Recorded once, though.
    assert fcm_standin.requests_count == 4
    assert {(d.status, d.attempts) for d in _deliveries(sessions, note_id).values()} == {
        ("sent", 1)
    }
