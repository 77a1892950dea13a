"""DRILLS: Redis restarted, and Redis stalled, while phones report events and a till
redeems codes and reports purchases.

A Redis of the test's own (AOF, as production runs it) is killed (SIGKILL) while phones
are mid-request and started again on its folder; or frozen (SIGSTOP: connections hang
unanswered) and thawed. The app is never restarted. While Redis is out, the event
endpoints (fixes, sightings, taps) answer 503 with ``Retry-After`` within a short bound,
never a 500 nor a hang; once it is back they accept again by themselves (a presence lock
the outage left held answers 409 ``busy`` with ``Retry-After`` until its lease ends). The
till, which needs only PostgreSQL, goes on. Every notification, redemption and purchase
(with its points) the API acknowledged is in PostgreSQL afterwards.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from kernel.config import Settings, get_settings
from server.app import create_app
from server.celery import configure
from tests.e2e.faults import (
    Journal,
    Phones,
    Till,
    assert_outage_handled,
    build_world,
    summary,
)
from tests.e2e.servers import RedisServer, wait_until

pytestmark = pytest.mark.drill
log = logging.getLogger(__name__)

EVENT_ROUTES = ("/v1/me/locations", "/v1/me/sightings", "/v1/me/taps")
OUTAGE_S = 2.0
"""Least time Redis stays out (longer if an event endpoint has not been refused yet)."""
ANSWER_BOUND_S = 5.0
"""Slowest answer allowed while Redis is out: a refusal must come soon, not hang (a
request may wait ``VICINITY_PRESENCE_LOCK_WAIT_S``, 2 s, for a lock; the rest is margin
for a loaded machine)."""


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    directory = tmp_path / "redis"
    directory.mkdir()
    with RedisServer(directory) as server:
        yield server


@pytest.fixture
def fault_settings(settings: Settings, own_redis: RedisServer) -> Iterator[Settings]:
    """The suite's database, our Redis, a real broker (no worker: the pushes wait in it).
    A presence lock left held by the outage expires after 5 s rather than 30."""
    yield settings.model_copy(
        update={"redis_url": own_redis.url, "celery_eager": False, "presence_lock_lease_s": 5.0}
    )
    configure(get_settings())


def _drill(
    settings: Settings,
    sessions: sessionmaker[Session],
    fail: Callable[[], None],
    recover: Callable[[], None],
    what: str,
) -> None:
    with TestClient(create_app(settings)) as client:
        world = build_world(client, sessions, settings)
        journal, carry_on = Journal(), threading.Event()
        phones = [Phones(client, world, p, journal, carry_on) for p in world.phones]
        for phone in phones:
            phone.start()
        wait_until(
            lambda: all(p.first_shop_done.is_set() or p.error for p in phones), 30, "first shops"
        )
        fail()  # phones are mid-request: they keep reporting from their first shop
        failed_at = time.monotonic()
        carry_on.set()
        till = Till(client, world, journal)
        till.start()
        wait_until(
            lambda: (
                any(p.error for p in phones)
                or (
                    time.monotonic() > failed_at + OUTAGE_S
                    and all(journal.refused(r) for r in EVENT_ROUTES)
                )
            ),
            30,
            "every event endpoint to be refused",
        )
        recover()
        for thread in [*phones, till]:
            thread.join(90)
            assert not thread.is_alive(), f"{thread.name} still waiting after Redis came back"
    slowest = assert_outage_handled(
        journal, sessions, world, phones, till, answer_bound_s=ANSWER_BOUND_S
    )
    log.info("%s: %s; slowest answer %.3f s", what, summary(journal.snapshot()), slowest.seconds)


def test_a_redis_restart_is_503_then_recovers_and_loses_no_acknowledged_write(
    fault_settings: Settings, own_redis: RedisServer, sessions: sessionmaker[Session]
) -> None:
    _drill(fault_settings, sessions, own_redis.kill, own_redis.start, "redis restarted")


def test_a_stalled_redis_is_503_soon_not_a_hang_and_loses_no_acknowledged_write(
    fault_settings: Settings, own_redis: RedisServer, sessions: sessionmaker[Session]
) -> None:
    _drill(fault_settings, sessions, own_redis.freeze, own_redis.thaw, "redis stalled")
