"""Geofence edits reach every API process's in-memory index through Redis pub/sub."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from accounts.service import Role
from kernel.config import Settings
from server.app import create_app
from server.runtime import Runtime
from tests.factories import PARIS, api_key, auth, feature, new_geofence, new_store, offset, square


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
