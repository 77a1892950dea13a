"""DRILL: PostgreSQL restarted while phones report events and a till redeems codes and
reports purchases.

A PostgreSQL cluster of the test's own (initdb as the postgres user, a free port) is
stopped (fast shutdown: connections cut, open transactions rolled back) while phones are
mid-request, and started again a few seconds later; the app is never restarted. While it
is down, whatever needs the database answers 503 with ``Retry-After`` within a short bound
(a fix that changes nothing needs only Redis and may still be answered 200); once it is
back the pool drops its dead connections (pre-ping) and every endpoint accepts again by
itself. Every notification, redemption and purchase (with its points) the API
acknowledged is in the database afterwards.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from kernel.config import Settings, get_settings
from kernel.db import make_engine, make_session_factory, unit_of_work
from preferences.segments import seed_taxonomy
from server.app import create_app
from server.celery import configure
from server.migrate import upgrade
from tests.e2e.faults import (
    Journal,
    Phones,
    Till,
    assert_outage_handled,
    build_world,
    summary,
)
from tests.e2e.servers import PostgresServer, RedisServer, wait_until
from tests.fcm_standin import FcmStandIn

pytestmark = pytest.mark.drill
log = logging.getLogger(__name__)

# Routes that need the database whatever they report (a fix that changes nothing may not).
REFUSED_ROUTES = ("/v1/me/sightings", "/v1/me/taps")
OUTAGE_S = 2.0
"""Least time PostgreSQL stays down (longer until each route above was refused)."""
ANSWER_BOUND_S = 5.0
"""Slowest answer allowed while PostgreSQL is down: a refusal must come soon (a request
may wait 2 s for a presence lock; the rest is margin for a loaded machine)."""


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def fault_settings(
    own_postgres: PostgresServer, fcm_standin: FcmStandIn, tmp_path: Path
) -> Iterator[Settings]:
    """A migrated PostGIS database on our PostgreSQL, a Redis of our own, a real broker
    (no worker: the pushes wait in it)."""
    admin = create_engine(own_postgres.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("CREATE DATABASE vicinity"))
    admin.dispose()
    (tmp_path / "redis").mkdir()
    with RedisServer(tmp_path / "redis") as redis_server:
        settings = Settings(
            database_url=own_postgres.url("vicinity"),
            redis_url=redis_server.url,
            var_dir=tmp_path,
            fcm_url=fcm_standin.url,
            fcm_project_id="vicinity-faults",
            fcm_http_retries=0,
            celery_eager=False,
        )
        engine = make_engine(settings)
        upgrade(engine)
        with unit_of_work(make_session_factory(engine)) as session:
            seed_taxonomy(session)
        engine.dispose()
        yield settings
    configure(get_settings())


def test_a_postgresql_restart_is_503_then_recovers_and_loses_no_acknowledged_write(
    fault_settings: Settings, own_postgres: PostgresServer
) -> None:
    engine = make_engine(fault_settings)  # pre-pings: survives the restart as the app's does
    sessions = make_session_factory(engine)
    try:
        with TestClient(create_app(fault_settings)) as client:
            world = build_world(client, sessions, fault_settings)
            journal, carry_on = Journal(), threading.Event()
            phones = [Phones(client, world, p, journal, carry_on) for p in world.phones]
            for phone in phones:
                phone.start()
            wait_until(
                lambda: all(p.first_shop_done.is_set() or p.error for p in phones),
                30,
                "first shops",
            )
            own_postgres.stop()  # phones are mid-request: they keep reporting
            stopped_at = time.monotonic()
            carry_on.set()
            till = Till(client, world, journal)
            till.start()
            wait_until(
                lambda: (
                    any(p.error for p in phones)
                    or (
                        time.monotonic() > stopped_at + OUTAGE_S
                        and all(journal.refused(r) for r in (*REFUSED_ROUTES, till.route))
                    )
                ),
                30,
                "requests to be refused without PostgreSQL",
            )
            own_postgres.start()
            for thread in [*phones, till]:
                thread.join(90)
                assert not thread.is_alive(), f"{thread.name} still waiting after the restart"
        slowest = assert_outage_handled(
            journal, sessions, world, phones, till, answer_bound_s=ANSWER_BOUND_S
        )
    finally:
        engine.dispose()
    log.info(
        "postgres restarted: %s; slowest answer %.3f s",
        summary(journal.snapshot()),
        slowest.seconds,
    )
