"""Geofence edits reach every API process's in-memory index through Redis pub/sub."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
import redis
from fastapi.testclient import TestClient
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy.orm import Session, sessionmaker

from geofence.core import GeofenceIndex
from geofence.service import create_geofence
from geofence.sync import IndexSync
from kernel import versions
from kernel.broadcast import Broadcast
from kernel.config import Settings
from kernel.db import unit_of_work
from kernel.principal import Role, Staff
from server.app import create_app
from server.runtime import Runtime
from tests.factories import (
    PARIS,
    api_key,
    auth,
    feature,
    fix,
    new_geofence,
    new_offer,
    new_shopper,
    new_store,
    offset,
    square,
)


def _wait(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


@pytest.fixture
def second(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as other:
        yield other


def _runtime(client: TestClient) -> Runtime:
    runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    return runtime


def test_create_redraw_delete_reach_the_other_process(
    client: TestClient, second: TestClient, sessions: sessionmaker[Session]
) -> None:
    operator = api_key(sessions, Role.OPERATOR)
    store_id = new_store(client, operator)
    staff = api_key(sessions, Role.STORE, [store_id])
    other = _runtime(second).index

    fence_id = new_geofence(client, staff, store_id, square(*PARIS, 40.0))
    _wait(lambda: other.get(fence_id) is not None)
    assert [f.id for f in other.containing([PARIS[0]], [PARIS[1]])[0]] == [fence_id]

    moved = offset(*PARIS, 1000.0, 0.0)
    r = client.put(
        f"/v1/geofences/{fence_id}", json=feature(square(*moved, 40.0)), headers=auth(staff)
    )
    assert r.status_code == 200
    _wait(lambda: other.containing([moved[0]], [moved[1]])[0] != [])
    assert other.containing([PARIS[0]], [PARIS[1]])[0] == []

    assert client.delete(f"/v1/geofences/{fence_id}", headers=auth(staff)).status_code == 204
    _wait(lambda: other.get(fence_id) is None)


def test_a_restarted_process_loads_every_geofence(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    operator = api_key(sessions, Role.OPERATOR)
    store_id = new_store(client, operator)
    staff = api_key(sessions, Role.STORE, [store_id])
    ids = [
        new_geofence(client, staff, store_id, square(*offset(*PARIS, 100.0 * i, 0), 30))
        for i in range(3)
    ]
    with TestClient(create_app(settings)) as fresh:
        index = _runtime(fresh).index
        assert all(index.get(i) is not None for i in ids)
        assert fresh.get("/health").json()["geofences_indexed"] == 3


# --- Versioned fence set: deletions past the ORM, lost messages, start-up gaps ---------


def test_deleting_a_store_drops_its_fences_from_every_process(
    client: TestClient, second: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    operator = api_key(sessions, Role.OPERATOR)
    store_id = new_store(client, operator)
    staff = api_key(sessions, Role.STORE, [store_id])
    fence_ids = [
        new_geofence(client, staff, store_id, square(*offset(*PARIS, 100.0 * i, 0), 40))
        for i in range(2)
    ]
    here, other = _runtime(client).index, _runtime(second).index
    _wait(lambda: all(other.get(i) is not None for i in fence_ids))
    new_offer(client, staff, store_id, ["fashion"])
    token = new_shopper(client, settings, interests=["fashion"])

    assert client.delete(f"/v1/stores/{store_id}", headers=auth(operator)).status_code == 204

    assert all(here.get(i) is None for i in fence_ids)  # at once in the deleting process
    _wait(lambda: all(other.get(i) is None for i in fence_ids))
    # A shopper standing there, reporting to the other process: no ENTER.
    at = datetime.now(UTC)
    r = second.post("/v1/me/locations", json={"fixes": [fix(*PARIS, at)]}, headers=auth(token))
    assert r.status_code == 200, r.text
    assert r.json()["events"] == []


def _quiet_create(
    sessions: sessionmaker[Session], store_id: int, center: tuple[float, float]
) -> int:
    """A geofence committed whose change is never announced (as if the publish were lost)."""
    with unit_of_work(sessions) as session:
        staff = Staff(key_id=0, role=Role.OPERATOR, store_ids=frozenset())
        row = create_geofence(
            session,
            staff=staff,
            store_id=store_id,
            name="quiet",
            geometry=square(*center, 40.0),
            radius_m=None,
            dwell_s=60,
            on_change=lambda _id, _version: None,
        )
        return row.id


@pytest.fixture
def fast_check(settings: Settings) -> Settings:
    return settings.model_copy(update={"index_check_s": 0.2})


def test_a_lost_publish_is_caught_up_by_the_periodic_check(
    fast_check: Settings, sessions: sessionmaker[Session]
) -> None:
    with TestClient(create_app(fast_check)) as app:
        operator = api_key(sessions, Role.OPERATOR)
        store_id = new_store(app, operator)
        index = _runtime(app).index
        fence_id = _quiet_create(sessions, store_id, PARIS)
        _wait(lambda: index.get(fence_id) is not None, timeout=3.0)
        assert [f.id for f in index.containing([PARIS[0]], [PARIS[1]])[0]] == [fence_id]


def test_a_change_between_load_and_subscribe_is_applied_at_start(
    settings: Settings, sessions: sessionmaker[Session], redis_client: redis.Redis
) -> None:
    with TestClient(create_app(settings)) as app:
        store_id = new_store(app, api_key(sessions, Role.OPERATOR))
    index = GeofenceIndex()
    sync = IndexSync(index, sessions, redis_client, check_s=3600)
    sync.reload()
    fence_id = _quiet_create(sessions, store_id, PARIS)
    try:
        sync.start()
        assert index.get(fence_id) is not None  # no wait: start reconciles synchronously
        assert sync.version == _db_version(sessions)
    finally:
        sync.stop()


def test_one_version_behind_applies_the_one_fence_without_a_full_reload(
    client: TestClient, sessions: sessionmaker[Session], redis_client: redis.Redis
) -> None:
    operator = api_key(sessions, Role.OPERATOR)
    store_id = new_store(client, operator)
    staff = api_key(sessions, Role.STORE, [store_id])
    index = GeofenceIndex()
    sync = IndexSync(index, sessions, redis_client, check_s=3600)
    sync.start()
    try:
        before = sync.version
        assert before is not None
        fence_id = new_geofence(client, staff, store_id, square(*PARIS, 40.0))
        _wait(lambda: index.get(fence_id) is not None)
        assert sync.version == before + 1 == _db_version(sessions)
        assert index.pending == 1  # upserted beside the trees, not rebuilt from scratch
    finally:
        sync.stop()


def _db_version(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return versions.read(session.connection(), versions.GEOFENCES)


# --- The listener under a Redis outage -------------------------------------------------


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_listener_backs_off_and_keeps_checking_while_redis_is_down() -> None:
    # No retries inside redis-py, so the listener's own backoff is what is measured.
    dead = redis.Redis(port=_dead_port(), socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))
    resyncs: list[float] = []
    broadcast = Broadcast(
        dead,
        "vicinity:test",
        lambda _data: None,
        resync=lambda: resyncs.append(time.monotonic()),
        check_s=0.1,
        backoff_s=(0.05, 0.4),
    )
    started = time.monotonic()
    broadcast.start()
    try:
        _wait(lambda: broadcast.attempts >= 6, timeout=10.0)
        elapsed = time.monotonic() - started
        # Waits of 0.05, 0.1, 0.2, 0.4, 0.4 s between six attempts; a tight loop makes
        # thousands of attempts in that time.
        assert elapsed >= 1.1
        assert broadcast.attempts <= 8
        # The version check does not depend on Redis: it kept running.
        assert len(resyncs) >= 3
        broadcast.publish({"id": 1})  # a failed publish is logged, not raised
    finally:
        broadcast.stop()


def test_listener_resubscribes_and_resyncs_after_the_connection_drops(
    redis_client: redis.Redis, redis_url: str
) -> None:
    resyncs: list[float] = []
    client = redis.Redis.from_url(redis_url)
    broadcast = Broadcast(
        client,
        "vicinity:test-drop",
        lambda _data: None,
        resync=lambda: resyncs.append(time.monotonic()),
        check_s=3600,
        backoff_s=(0.05, 0.4),
    )
    broadcast.start()
    try:
        assert len(resyncs) == 1  # on subscribing
        for entry in redis_client.client_list():
            if int(entry.get("sub", 0)) > 0:
                redis_client.client_kill_filter(_id=entry["id"])
        _wait(lambda: len(resyncs) >= 2)
    finally:
        broadcast.stop()
        client.close()
