"""Durable delivery: a lost enqueue is recovered by the sweeper, exactly once per device;
after-commit actions all run even when one fails."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from accounts.service import user_for_token
from kernel.config import Settings
from kernel.db import after_commit, unit_of_work
from kernel.principal import Role
from notifications.answers import Outcomes, settle
from notifications.delivery import claim, sweep
from notifications.models import Notification
from notifications.tasks import enqueue_delivery
from server.app import create_app
from server.celery import celery_app, configure, reset_connections
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def dead_broker_client(settings: Settings) -> Iterator[TestClient]:
    """The API with a real (non-eager) Celery whose broker is a Redis port nobody listens on."""
    real = settings.model_copy(update={"celery_eager": False})
    with TestClient(create_app(real)) as client:
        celery_app.conf.broker_url = f"redis://127.0.0.1:{_free_port()}/0"
        reset_connections()
        yield client
        configure(settings)


def _sweep(sessions: sessionmaker[Session], settings: Settings, at: datetime) -> list[int]:
    with unit_of_work(sessions) as session:
        return sweep(
            session, now=at, age_s=settings.notification_sweep_age_s, enqueue=enqueue_delivery
        )


def _note(sessions: sessionmaker[Session], note_id: int) -> Notification:
    with sessions() as session:
        note = session.get(Notification, note_id)
        assert note is not None
        return note


def test_a_push_whose_enqueue_failed_is_delivered_once_by_the_sweeper(
    dead_broker_client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    fcm_standin: FcmStandIn,
) -> None:
    client = dead_broker_client
    operator = api_key(sessions, Role.OPERATOR)
    store_id = new_store(client, operator)
    staff = api_key(sessions, Role.STORE, [store_id])
    new_geofence(client, staff, store_id, square(*PARIS, 40.0))
    new_offer(client, staff, store_id, ["fashion"])
    token = new_shopper(client, settings, interests=["fashion"], device="phone")

    r = client.post(
        "/v1/me/locations", json={"fixes": [fix(*PARIS, datetime.now(UTC))]}, headers=auth(token)
    )
    # The rows committed although the broker refused the task: the phone is answered 200.
    assert r.status_code == 200, r.text
    [note_id] = r.json()["notifications"]
    assert _note(sessions, note_id).status == "pending"
    assert fcm_standin.requests_count == 0

    # The broker is back (in-process here). Not overdue yet: the sweeper leaves it alone.
    configure(settings)
    now = datetime.now(UTC)
    assert _sweep(sessions, settings, now) == []
    later = now + timedelta(seconds=settings.notification_sweep_age_s + 1)
    assert _sweep(sessions, settings, later) == [note_id]
    fcm_standin.wait_for(1, timeout=10)
    note = _note(sessions, note_id)
    assert (note.status, note.next_attempt_at) == ("sent", None)

    # Sweeping again, or a duplicate task, sends nothing more.
    assert _sweep(sessions, settings, later + timedelta(hours=1)) == []
    enqueue_delivery(note_id)
    assert fcm_standin.requests_count == 1
    assert [m["token"] for m in fcm_standin.messages] == ["phone"]


def test_the_sweeper_takes_only_overdue_owed_notifications(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    fcm_standin: FcmStandIn,
) -> None:
    token = new_shopper(client, settings, interests=["fashion"], device="phone")
    with sessions() as session:
        user_id = user_for_token(session, token).id
    now = datetime.now(UTC)
    age = timedelta(seconds=settings.notification_sweep_age_s)
    rows = {
        "pending, overdue": ("pending", now - age - timedelta(seconds=1)),
        "retrying, overdue": ("retrying", now - age - timedelta(seconds=1)),
        "partial, overdue": ("partial", now - 2 * age),
        "pending, recent": ("pending", now - age + timedelta(seconds=5)),
        "retrying, planned later": ("retrying", now + timedelta(minutes=5)),
        "sent": ("sent", None),
        "suppressed": ("suppressed", None),
    }
    ids: dict[str, int] = {}
    with unit_of_work(sessions) as session:
        for title, (status, due) in rows.items():
            note = Notification(
                user_id=user_id,
                zone="geofence:1",
                trigger="enter",
                reason={},
                title=title,
                body="…",
                day=now.date(),
                status=status,
                next_attempt_at=due,
            )
            session.add(note)
            session.flush()
            ids[title] = note.id
    swept = _sweep(sessions, settings, now)
    assert sorted(swept) == sorted(
        ids[t] for t in ("pending, overdue", "retrying, overdue", "partial, overdue")
    )
    # Each was delivered once; sweeping again finds them settled.
    fcm_standin.wait_for(3, timeout=10)
    assert _sweep(sessions, settings, now + timedelta(seconds=10)) == [ids["pending, recent"]]
    owed = ("pending, overdue", "retrying, overdue", "partial, overdue", "pending, recent")
    delivered = sorted(m["data"]["notification_id"] for m in fcm_standin.messages)
    assert delivered == sorted(str(ids[t]) for t in owed)
    for title in ("sent", "suppressed", "retrying, planned later"):
        assert _note(sessions, ids[title]).status == rows[title][0]


def test_every_after_commit_action_runs_even_when_one_fails(
    sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    ran: list[str] = []

    def broken() -> None:
        ran.append("broken")
        raise ConnectionError("broker unreachable")

    with caplog.at_level(logging.ERROR, logger="kernel.db"), unit_of_work(sessions) as session:
        after_commit(session, broken)
        after_commit(session, lambda: ran.append("second"))
        after_commit(session, broken)
        after_commit(session, lambda: ran.append("last"))
    assert ran == ["broken", "second", "broken", "last"]
    failures = [r for r in caplog.records if r.exc_info is not None]
    assert len(failures) == 2
    assert all("broker unreachable" in str(r.exc_info[1]) for r in failures if r.exc_info)


def test_a_send_whose_commit_failed_is_recorded_not_sent_again(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    fcm_standin: FcmStandIn,
) -> None:
    token = new_shopper(client, settings, interests=["fashion"], device="phone")
    with sessions() as session:
        user_id = user_for_token(session, token).id
    with unit_of_work(sessions) as session:
        note = Notification(
            user_id=user_id,
            zone="geofence:1",
            trigger="enter",
            reason={},
            title="t",
            body="b",
            day=datetime.now(UTC).date(),
        )
        session.add(note)
        session.flush()
        note_id = note.id
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    # Claimed and sent, then the database goes away before the answers are recorded.
    with unit_of_work(sessions) as session:
        claimed = claim(
            session, notification_id=note_id, now=datetime.now(UTC), settings=runtime.settings
        )
    assert claimed is not None
    results = runtime.push.send(claimed.messages)
    outcomes: Outcomes = dict(zip((m.token for m in claimed.messages), results, strict=True))
    assert fcm_standin.requests_count == 1
    assert _note(sessions, note_id).status == "pending"
    with unit_of_work(sessions) as session:
        settle(
            session,
            notification_id=note_id,
            outcomes=outcomes,
            max_attempts=5,
            now=datetime.now(UTC),
        )
    assert _note(sessions, note_id).status == "sent"
    enqueue_delivery(note_id)
    assert _sweep(sessions, settings, datetime.now(UTC) + timedelta(hours=1)) == []
    assert fcm_standin.requests_count == 1
