"""DRILL: FCM unreachable for a while, then back: the backlog drains, each push once.

A FCM stand-in of the test's own is stopped (connections refused, as when FCM cannot be
reached) for :data:`OUTAGE_S` while a real Celery worker delivers and shoppers keep
entering shops, then started again on the same port. The worker's retries (backoff, no
device given up on) deliver every push owed once it is back: each (notification, device)
reaches the stand-in exactly once, none is marked failed. The suite keeps the outage
short; the issue's minute is
``VICINITY_DRILL_FCM_OUTAGE_S=60 bash scripts/test.sh tests/e2e/test_faults_fcm.py``.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from accounts.service import register_device
from kernel.config import Settings, get_settings
from kernel.db import unit_of_work
from notifications.decide import Trigger
from notifications.models import Delivery, Notification
from notifications.service import on_presence
from notifications.tasks import enqueue_delivery
from offers.models import Offer
from preferences.core import Purpose
from preferences.segments import segments_by_slug
from presence.core import Transition
from server.celery import configure
from stores.models import Store
from tests.e2e.servers import CeleryWorker, RedisServer, wait_until
from tests.factories import consenting_user
from tests.fcm_standin import FcmStandIn

pytestmark = pytest.mark.drill
log = logging.getLogger(__name__)

OUTAGE_S = float(os.environ.get("VICINITY_DRILL_FCM_OUTAGE_S", "10"))
"""How long FCM stays unreachable: 10 s in the suite, longer by the environment."""
STORES = 4
SHOPPERS = 10


@pytest.fixture
def fcm() -> Iterator[FcmStandIn]:
    """A stand-in of this test's own: stopping it disturbs no other test."""
    with FcmStandIn() as standin:
        yield standin


@pytest.fixture
def fault_settings(settings: Settings, fcm: FcmStandIn, tmp_path: Path) -> Iterator[Settings]:
    (tmp_path / "redis").mkdir()
    with RedisServer(tmp_path / "redis") as broker:
        real = settings.model_copy(
            update={"redis_url": broker.url, "celery_eager": False, "fcm_url": fcm.url}
        )
        configure(real)
        yield real
    configure(get_settings())


def _street(sessions: sessionmaker[Session], settings: Settings) -> tuple[list[int], list[int]]:
    """STORES stores with an offer each, SHOPPERS consenting shoppers with a phone each."""
    with unit_of_work(sessions) as session:
        stores = [Store(name=f"Shop {i}") for i in range(STORES)]
        session.add_all(stores)
        session.flush()
        shoes = segments_by_slug(session, ["shoes"])
        session.add_all(
            Offer(store_id=s.id, title=s.name, body="…", segments=shoes) for s in stores
        )
        users = []
        for i in range(SHOPPERS):
            user, _ = consenting_user(session, settings, timezone="UTC", interests=["shoes"])
            register_device(session, user=user, token=f"fcm-fault-{i}", platform="android")
            users.append(user.id)
        return [s.id for s in stores], users


def _enter(
    sessions: sessionmaker[Session], settings: Settings, store_id: int, users: list[int]
) -> list[int]:
    """Every shopper enters the store: one push each, enqueued for the worker."""
    ids: list[int] = []
    for user_id in users:
        with unit_of_work(sessions) as session:
            at = datetime.now(UTC).timestamp()
            notes = on_presence(
                session,
                user_id=user_id,
                triggers=[Trigger(f"geofence:{store_id}", store_id, Transition.ENTER, at)],
                purpose=Purpose.LOCATION_OFFERS,
                policy_version=settings.policy_version,
                enqueue=enqueue_delivery,
            )
            ids.extend(n.id for n in notes)
    return ids


def _statuses(sessions: sessionmaker[Session]) -> Counter[str]:
    with sessions() as session:
        return Counter(session.scalars(select(Notification.status)))


def test_fcm_down_for_a_while_then_the_backlog_drains_each_push_once(
    fault_settings: Settings, fcm: FcmStandIn, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    settings = fault_settings
    stores, users = _street(sessions, settings)
    env = {
        "VICINITY_DATABASE_URL": settings.database_url,
        "VICINITY_REDIS_URL": str(settings.redis_url),
        "VICINITY_FCM_URL": fcm.url,
        "VICINITY_FCM_PROJECT_ID": "vicinity-drill",
        "VICINITY_FCM_HTTP_RETRIES": "0",
        "VICINITY_VAR_DIR": str(tmp_path),
    }
    with CeleryWorker(env, tmp_path / "worker.log") as worker:
        # FCM up: the first shop's pushes go out.
        owed = _enter(sessions, settings, stores[0], users)
        wait_until(lambda: fcm.requests_count >= len(owed), 30, "the first pushes")
        fcm.stop()
        down_at = time.monotonic()
        # FCM down: shoppers keep entering shops; every push fails and is retried later.
        for store_id in stores[1:]:
            owed += _enter(sessions, settings, store_id, users)
        wait_until(
            lambda: _statuses(sessions)["retrying"] >= len(users) * (len(stores) - 1),
            30,
            "every push of the outage to have failed once",
        )
        wait_until(lambda: time.monotonic() > down_at + OUTAGE_S, OUTAGE_S + 1, "the outage")
        fcm.start()
        back_at = time.monotonic()
        wait_until(lambda: _statuses(sessions) == {"sent": len(owed)}, 120, "the backlog to drain")
        drained_s = time.monotonic() - back_at
        worker_log = worker.log()

    sent = Counter((m["data"]["notification_id"], m["token"]) for m in fcm.messages)
    assert {n for n, _ in sent} == {str(n) for n in owed}, "lost pushes"
    duplicated = {k: c for k, c in sent.items() if c > 1}
    assert not duplicated, f"duplicated pushes: {duplicated}"
    assert len(sent) == len(owed) == STORES * SHOPPERS
    with sessions() as session:
        retried = session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.attempts > 1)
        )
        statuses = Counter(session.scalars(select(Delivery.status)))
    assert statuses == {"sent": len(owed)}, worker_log[-3000:]
    # The outage was met: every push made during it failed at least once first.
    assert (retried or 0) >= len(users) * (len(stores) - 1)
    log.info(
        "fcm outage of %.0f s: %d pushes, %d retried, backlog drained %.1f s after FCM came "
        "back, 0 lost, 0 duplicated",
        OUTAGE_S,
        len(owed),
        retried,
        drained_s,
    )
