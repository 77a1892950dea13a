"""Version counters of the in-memory sets: every ORM path bumps them, in its transaction."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from fastapi.testclient import TestClient
from shapely.geometry import Point
from sqlalchemy import delete, update
from sqlalchemy.orm import Session, sessionmaker

from beacons.models import Beacon
from geofence.models import Geofence
from kernel import versions
from kernel.config import Settings
from kernel.db import unit_of_work, utcnow
from kernel.principal import Role
from server.app import create_app
from server.runtime import Runtime
from tests.factories import PARIS, api_key, new_geofence, new_store, square


def _wait(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def _version(sessions: sessionmaker[Session], name: str) -> int:
    with sessions() as session:
        return versions.read(session.connection(), name)


def _eid_beacon(store_id: int) -> Beacon:
    return Beacon(
        identity=f"eddystone-eid:{os.urandom(8).hex()}",
        format="eddystone-eid",
        store_id=store_id,
        zone="shoe aisle",
        point=Point(*PARIS),
        measured_power_1m=-59,
        eid_identity_key=os.urandom(16),
        eid_rotation_exponent=10,
        eid_epoch_s=0,
        spoofable=False,
    )


def test_an_eid_registration_committed_without_its_publish_reaches_the_table(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    with TestClient(create_app(settings.model_copy(update={"index_check_s": 0.2}))) as app:
        runtime: Runtime = app.app.state.runtime  # type: ignore[attr-defined]
        store_id = new_store(app, api_key(sessions, Role.OPERATOR))
        assert len(runtime.eids) == 0
        with unit_of_work(sessions) as session:  # no on_eid_change: nobody is told
            session.add(_eid_beacon(store_id))
        _wait(lambda: len(runtime.eids) == 1, timeout=3.0)
        assert runtime.eids.version == _version(sessions, versions.EIDS)


def test_beacon_telemetry_does_not_bump_the_eid_version(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    store_id = new_store(client, api_key(sessions, Role.OPERATOR))
    with unit_of_work(sessions) as session:
        beacon = _eid_beacon(store_id)
        session.add(beacon)
    registered = _version(sessions, versions.EIDS)
    with unit_of_work(sessions) as session:
        row = session.get(Beacon, beacon.id)
        assert row is not None
        row.last_seen_at, row.battery_mv = utcnow(), 2900
        session.execute(update(Beacon).values(temperature_c=21.0))
    assert _version(sessions, versions.EIDS) == registered
    with unit_of_work(sessions) as session:
        row = session.get(Beacon, beacon.id)
        assert row is not None
        row.status = "retired"
    assert _version(sessions, versions.EIDS) == registered + 1


def test_every_orm_path_that_changes_fences_bumps_the_version(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    operator = api_key(sessions, Role.OPERATOR)
    store_id = new_store(client, operator)
    staff = api_key(sessions, Role.STORE, [store_id])
    start = _version(sessions, versions.GEOFENCES)
    new_geofence(client, staff, store_id, square(*PARIS, 40.0))
    assert _version(sessions, versions.GEOFENCES) == start + 1
    with unit_of_work(sessions) as session:  # a bulk delete (a purge, a script)
        session.execute(delete(Geofence).where(Geofence.store_id == store_id))
    assert _version(sessions, versions.GEOFENCES) == start + 2
    with unit_of_work(sessions) as session:  # rolled back: the bump goes with it
        session.add(Geofence(store_id=store_id, name="x", geometry=Point(*PARIS), radius_m=50.0))
        session.flush()
        session.rollback()
    assert _version(sessions, versions.GEOFENCES) == start + 2
