"""DRILLS (slow, ~30-60 s each): "nothing lost, nothing duplicated" across a Redis restart
and across a PostgreSQL restart.

A Redis of the test's own runs as production compose runs it (AOF, fsync every second),
a real Celery worker subprocess delivers to the FCM stand-in, and pushes are recorded
through the service path while Redis is killed (SIGKILL, so up to a second of the AOF and
every in-flight enqueue is lost) and started again on the same folder. Every acknowledged
notification (its transaction committed) must reach the stand-in exactly once per device,
the sweeper included.

The PostgreSQL drill runs a cluster of its own (initdb as the postgres user, a free port):
it is stopped (fast shutdown: connections cut, open transactions rolled back) while
shoppers keep arriving (refused, then sent again, as a phone does) and the worker is
delivering, then started again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from accounts.service import register_device
from kernel.config import Settings, get_settings
from kernel.db import make_engine, make_session_factory, unit_of_work
from notifications.decide import Trigger
from notifications.delivery import sweep
from notifications.models import OWED, Notification
from notifications.service import on_presence
from notifications.tasks import enqueue_delivery
from offers.models import Offer
from preferences.core import Purpose
from preferences.segments import seed_taxonomy, segments_by_slug
from presence.core import Transition
from server.celery import configure
from server.migrate import upgrade
from stores.models import Store
from tests.e2e.servers import CeleryWorker, PostgresServer, RedisServer, wait_until
from tests.factories import consenting_user
from tests.fcm_standin import FcmStandIn

pytestmark = pytest.mark.drill
log = logging.getLogger(__name__)

STORES = 8
SHOPPERS = 25  # 200 pushes


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    directory = tmp_path / "redis"
    directory.mkdir()
    with RedisServer(directory) as server:
        yield server


@pytest.fixture
def drill_settings(settings: Settings, own_redis: RedisServer) -> Iterator[Settings]:
    """The suite's database and FCM stand-in, our Redis, and a real (non-eager) Celery."""
    real = settings.model_copy(update={"redis_url": own_redis.url, "celery_eager": False})
    configure(real)
    yield real
    configure(get_settings())


def _street(sessions: sessionmaker[Session], settings: Settings) -> tuple[list[int], list[int]]:
    """STORES stores with one offer each, SHOPPERS consented shoppers with one phone each."""
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
            user, _ = consenting_user(
                session, settings, timezone="Europe/Paris", interests=["shoes"]
            )
            register_device(session, user=user, token=f"drill-phone-{i}", platform="android")
            users.append(user.id)
        return [s.id for s in stores], users


def _visits(stores: list[int], users: list[int]) -> list[tuple[int, int]]:
    """Every shopper enters every shop: one push each."""
    return [(s, u) for s in stores for u in users]


class Traffic(threading.Thread):
    """Shoppers entering shops one after the other; ``acknowledged``: committed pushes."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Settings,
        visits: list[tuple[int, int]],
    ) -> None:
        super().__init__(name="drill-traffic", daemon=True)
        self.sessions, self.settings = sessions, settings
        self.visits = visits
        self.acknowledged: list[int] = []
        self.refused = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            for store_id, user_id in self.visits:
                self._visit(store_id, user_id)
        except BaseException as error:
            self.error = error

    def _visit(self, store_id: int, user_id: int) -> None:
        """One ENTER; like a phone, retried while the database is unreachable."""
        deadline = time.monotonic() + 60
        while True:
            try:
                with unit_of_work(self.sessions) as session:
                    notes = on_presence(
                        session,
                        user_id=user_id,
                        triggers=[
                            Trigger(
                                f"geofence:{store_id}",
                                store_id,
                                Transition.ENTER,
                                datetime.now(UTC).timestamp(),
                            )
                        ],
                        purpose=Purpose.LOCATION_OFFERS,
                        policy_version=self.settings.policy_version,
                        enqueue=enqueue_delivery,
                    )
                    ids = [n.id for n in notes]
            except DBAPIError:
                self.refused += 1  # the phone got a 503 and will send the fix again
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)  # the phone's retry pacing
                continue
            self.acknowledged.extend(ids)  # committed: the phone would be answered 200
            return


def _owed(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        count = session.scalar(
            select(func.count()).select_from(Notification).where(Notification.status.in_(OWED))
        )
        return int(count or 0)


def _sweep_until_settled(sessions: sessionmaker[Session], timeout: float) -> int:
    """Run the sweeper (as beat would, with no grace) until nothing is owed; sweeps run."""
    sweeps = 0

    def settled() -> bool:
        nonlocal sweeps
        if _owed(sessions) == 0:
            return True
        with unit_of_work(sessions) as session:
            sweep(session, now=datetime.now(UTC), age_s=2.0, enqueue=enqueue_delivery)
        sweeps += 1
        return False

    wait_until(settled, timeout, "every notification to be delivered")
    return sweeps


def test_a_redis_restart_loses_and_duplicates_no_push(
    drill_settings: Settings,
    own_redis: RedisServer,
    sessions: sessionmaker[Session],
    fcm_standin: FcmStandIn,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="kernel.db")
    stores, users = _street(sessions, drill_settings)
    env = {
        "VICINITY_DATABASE_URL": drill_settings.database_url,
        "VICINITY_REDIS_URL": own_redis.url,
        "VICINITY_FCM_URL": str(drill_settings.fcm_url),
        "VICINITY_FCM_PROJECT_ID": "vicinity-drill",
        "VICINITY_FCM_HTTP_RETRIES": "0",
        "VICINITY_VAR_DIR": str(tmp_path),
    }
    with CeleryWorker(env, tmp_path / "worker.log"):
        traffic = Traffic(sessions, drill_settings, _visits(stores, users))
        traffic.start()
        total = len(traffic.visits)
        wait_until(lambda: len(traffic.acknowledged) >= total // 4, 30, "traffic to flow")
        own_redis.kill()
        down_at = len(traffic.acknowledged)
        # Traffic goes on while Redis is down: commits succeed, enqueues fail.
        wait_until(lambda: len(traffic.acknowledged) >= down_at + 10, 30, "traffic without Redis")
        own_redis.start()
        traffic.join(60)
        assert traffic.error is None, traffic.error
        acknowledged = traffic.acknowledged
        assert len(acknowledged) == total

        sweeps = _sweep_until_settled(sessions, timeout=40)
        wait_until(lambda: fcm_standin.requests_count >= total, 10, "the last sends")

    sent = Counter((m["data"]["notification_id"], m["token"]) for m in fcm_standin.messages)
    expected = {str(n) for n in acknowledged}
    assert {n for n, _ in sent} == expected, "lost pushes"
    duplicated = {k: c for k, c in sent.items() if c > 1}
    assert not duplicated, f"duplicated pushes: {duplicated}"
    assert len(sent) == total
    # The drill did exercise the gap: enqueues failed after commit, and the sweeper ran.
    failed_enqueues = [r for r in caplog.records if "after-commit action" in r.getMessage()]
    assert failed_enqueues
    assert sweeps >= 1
    log.info(
        f"drill: {total} pushes, {len(failed_enqueues)} enqueues failed during the outage, "
        f"{sweeps} sweeps, 0 lost, 0 duplicated"
    )


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def pg_drill_settings(
    own_postgres: PostgresServer, own_redis: RedisServer, fcm_standin: FcmStandIn, tmp_path: Path
) -> Iterator[Settings]:
    """A migrated PostGIS database on our own PostgreSQL, our Redis, a real Celery."""
    admin = create_engine(own_postgres.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("CREATE DATABASE vicinity"))
    admin.dispose()
    real = Settings(
        database_url=own_postgres.url("vicinity"),
        redis_url=own_redis.url,
        var_dir=tmp_path,
        fcm_url=fcm_standin.url,
        fcm_project_id="vicinity-drill",
        fcm_http_retries=0,
        celery_eager=False,
    )
    engine = make_engine(real)
    upgrade(engine)
    with unit_of_work(make_session_factory(engine)) as session:
        seed_taxonomy(session)
    engine.dispose()
    configure(real)
    yield real
    configure(get_settings())


def test_a_postgresql_restart_loses_and_duplicates_no_push(
    pg_drill_settings: Settings,
    own_postgres: PostgresServer,
    own_redis: RedisServer,
    fcm_standin: FcmStandIn,
    tmp_path: Path,
) -> None:
    settings = pg_drill_settings
    engine = make_engine(settings)  # pre-pings: pooled connections survive the restart
    sessions = make_session_factory(engine)
    stores, users = _street(sessions, settings)
    env = {
        "VICINITY_DATABASE_URL": settings.database_url,
        "VICINITY_REDIS_URL": own_redis.url,
        "VICINITY_FCM_URL": str(settings.fcm_url),
        "VICINITY_FCM_PROJECT_ID": "vicinity-drill",
        "VICINITY_FCM_HTTP_RETRIES": "0",
        "VICINITY_VAR_DIR": str(tmp_path),
    }
    visits = _visits(stores, users)
    total = len(visits)
    backlog = Traffic(sessions, settings, visits[: total // 2])
    traffic = Traffic(sessions, settings, visits[total // 2 :])
    worker = CeleryWorker(env, tmp_path / "worker.log")
    try:
        # A backlog first, so the worker is busy (mid-send, mid-commit) when the database
        # goes away.
        backlog.run()
        worker.start()
        wait_until(lambda: fcm_standin.requests_count >= 5, 30, "the worker to deliver")
        traffic.start()
        own_postgres.stop()
        # Phones are refused (503) while the database is down, and send again.
        wait_until(lambda: traffic.refused >= 10, 30, "requests refused without PostgreSQL")
        own_postgres.start()
        traffic.join(90)
        assert backlog.error is None, backlog.error
        assert traffic.error is None, traffic.error
        acknowledged = backlog.acknowledged + traffic.acknowledged
        assert len(acknowledged) == total

        sweeps = _sweep_until_settled(sessions, timeout=60)
        wait_until(lambda: fcm_standin.requests_count >= total, 10, "the last sends")
        worker_log = worker.log()
    finally:
        worker.stop()
        engine.dispose()

    sent = Counter((m["data"]["notification_id"], m["token"]) for m in fcm_standin.messages)
    assert {n for n, _ in sent} == {str(n) for n in acknowledged}, "lost pushes"
    duplicated = {k: c for k, c in sent.items() if c > 1}
    assert not duplicated, f"duplicated pushes: {duplicated}"
    assert len(sent) == total
    # The worker did meet the outage, and retried instead of failing.
    retried = worker_log.count("retrying")
    assert retried, worker_log[-3000:]
    log.info(
        f"postgres drill: {total} pushes, {traffic.refused} refused while down, "
        f"{retried} deliveries retried by the worker, {sweeps} sweeps, 0 lost, 0 duplicated"
    )
