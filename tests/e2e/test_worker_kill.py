"""DRILL: a Celery worker SIGKILLed in the middle of a batch of pushes, then a new worker
started: no push lost, and no push duplicated beyond the one window a send-once claim
cannot close.

What the claims of notifications/delivery.py guarantee for each (notification, device)
of a batch cut by the kill:

- claimed, FCM never took the message: sent once, by the next worker;
- FCM took it and the worker recorded the answer: never sent again (a redelivered task
  finds it recorded: tests/notifications/test_batches.py);
- FCM took it and the worker died before recording the answer: sent a second time by the
  next worker, with the same collapse key. A batch is recorded as a whole, after its last
  answer, so this is every message FCM took from the cut batch. FCM has no idempotency
  key: no design closes this window; recording each answer as it arrives would narrow it.

Nothing is retried before the claim is stale (``CLAIM_TIMEOUT_S``, 15 minutes): a slow
worker is not a dead one. The drill skips those minutes by ageing the claims; then the
sweeper (as beat runs it) hands the notifications to the new worker. The killed task
itself stays unacknowledged in Redis until the broker's visibility timeout (an hour),
and should it come back it finds the deliveries already recorded.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from accounts.models import Device
from accounts.service import register_user
from kernel.config import Settings, get_settings
from kernel.db import unit_of_work
from notifications.answers import CLAIM_TIMEOUT_S
from notifications.models import OWED, Delivery, Notification
from notifications.tasks import sweep_notifications
from server.celery import configure
from tests.e2e.servers import CeleryWorker, RedisServer, wait_until
from tests.fcm_standin import FcmStandIn
from tests.notifications.factories import notification

pytestmark = pytest.mark.drill

DEVICES = 200  # one batch task (BATCH_TASK_SIZE), one send_each call


@pytest.fixture
def broker(settings: Settings, tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis of the test's own as the broker; Celery in this process publishes to it."""
    directory = tmp_path / "redis"
    directory.mkdir()
    with RedisServer(directory) as server:
        configure(settings.model_copy(update={"redis_url": server.url, "celery_eager": False}))
        try:
            yield server
        finally:
            configure(get_settings())


def _owe(sessions: sessionmaker[Session], n: int) -> None:
    """``n`` shoppers with one phone each, and a notification owed to each, already due
    (its enqueue lost: the sweeper is what hands it to a worker)."""
    due = datetime.now(UTC) - timedelta(hours=1)
    with unit_of_work(sessions) as session:
        for i in range(n):
            user, _ = register_user(session, locale="en", timezone="UTC")
            session.add(Device(user_id=user.id, token=f"phone-{i:03}", platform="android"))
            session.add(notification(user.id, next_attempt_at=due))


def _statuses(sessions: sessionmaker[Session]) -> Counter[str]:
    with sessions() as session:
        return Counter(session.scalars(select(Delivery.status)))


def _owed(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        count = session.scalar(
            select(func.count()).select_from(Notification).where(Notification.status.in_(OWED))
        )
        return int(count or 0)


def _swept(worker: CeleryWorker) -> list[str]:
    """What each sweep the worker ran returned (how many notifications it re-enqueued)."""
    return re.findall(r"Task notifications\.sweep\[[^]]+\] succeeded in [^:]+: (\d+)", worker.log())


def _claims_go_stale(sessions: sessionmaker[Session], settings: Settings) -> None:
    """Move the open claims and their notifications' due times back by the claim timeout
    and the sweeper's grace: the minutes after which a claim counts as abandoned."""
    shift = CLAIM_TIMEOUT_S + settings.notification_sweep_age_s + 1
    with unit_of_work(sessions) as session:
        session.execute(
            text(
                "UPDATE deliveries SET updated_at = updated_at - make_interval(secs => :s) "
                "WHERE status = 'sending'"
            ),
            {"s": shift},
        )
        session.execute(
            text(
                "UPDATE notifications SET next_attempt_at = next_attempt_at "
                "- make_interval(secs => :s) WHERE next_attempt_at IS NOT NULL"
            ),
            {"s": shift},
        )


@pytest.mark.parametrize("taken_before_kill", [0, 60], ids=["none-taken", "60-taken"])
def test_a_worker_killed_mid_batch_loses_no_push_and_resends_only_unrecorded_ones(
    settings: Settings,
    broker: RedisServer,
    sessions: sessionmaker[Session],
    fcm_standin: FcmStandIn,
    tmp_path: Path,
    taken_before_kill: int,
) -> None:
    _owe(sessions, DEVICES)
    env = {
        "VICINITY_DATABASE_URL": settings.database_url,
        "VICINITY_REDIS_URL": broker.url,
        "VICINITY_FCM_URL": str(settings.fcm_url),
        "VICINITY_FCM_PROJECT_ID": "vicinity-drill",
        "VICINITY_FCM_HTTP_RETRIES": "0",
        "VICINITY_VAR_DIR": str(tmp_path),
    }
    # FCM takes the first messages of the batch, then stops answering: the worker is caught
    # with the batch in flight (send_each sends its messages concurrently).
    fcm_standin.hold_after(taken_before_kill)
    first = CeleryWorker(env, tmp_path / "first-worker.log")
    try:
        first.start()
        sweep_notifications.delay()
        wait_until(
            lambda: fcm_standin.held_count == DEVICES - taken_before_kill,
            20,
            "the batch to be in flight",
        )
        first.kill()
    finally:
        # The held requests are answered (503) only now: after the kill, nobody reads them;
        # should the wait have failed, the worker is not left blocked on them.
        fcm_standin.release()
        first.stop()
    taken = {m["token"] for m in fcm_standin.messages}
    assert len(taken) == taken_before_kill
    # Every device claimed, none answered: the batch is recorded as a whole, after it.
    assert _statuses(sessions) == {"sending": DEVICES}

    with CeleryWorker(env, tmp_path / "second-worker.log") as second:
        # Before the claims are stale, nothing is due: a slow worker is not a dead one.
        sweep_notifications.delay()
        wait_until(lambda: _swept(second) == ["0"], 20, "a sweep by the new worker")
        assert _statuses(sessions) == {"sending": DEVICES}
        _claims_go_stale(sessions, settings)
        sweep_notifications.delay()
        wait_until(lambda: _owed(sessions) == 0, 20, "every notification to be delivered")
        assert _swept(second) == ["0", str(DEVICES)]
        worker_log = second.log()

    assert _statuses(sessions) == {"sent": DEVICES}, worker_log[-3000:]
    received = Counter(m["token"] for m in fcm_standin.messages)
    # No loss: every phone got the push. Twice exactly those FCM took before the kill,
    # whose answers died with the worker; once all the others.
    assert received == {
        f"phone-{i:03}": 2 if f"phone-{i:03}" in taken else 1 for i in range(DEVICES)
    }
    # A second copy collapses with the first on the device (same collapse key).
    keys: dict[str, set[tuple[str, str]]] = {}
    for m in fcm_standin.messages:
        apns = m["apns"]["headers"]["apns-collapse-id"]
        keys.setdefault(m["token"], set()).add((m["android"]["collapse_key"], apns))
    assert all(len(k) == 1 for k in keys.values())
