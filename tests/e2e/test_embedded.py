"""The embedded default, as `make run` starts it: SQLite file, no Redis, outbox pushes."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import Point

from beacons.models import Beacon
from kernel.config import Settings
from kernel.db import make_engine, make_session_factory, unit_of_work
from server.app import create_app
from server.migrate import upgrade
from stores.models import Store


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[tuple[str, str, str, str]]:
    port = _free_port()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("VICINITY_", "GOOGLE_APPLICATION"))
    }
    env.update(VICINITY_VAR_DIR=str(tmp_path), VICINITY_DATABASE_URL=f"sqlite:///{tmp_path}/v.db")
    env["COLUMNS"] = "400"
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--demo", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        text = log.read_text()
        user = re.search(r"vu_[\w-]+", text)
        operator = re.search(r"Operator key:\s+(vk_[\w-]+)", text)
        inside = re.search(r'"lat":([\d.]+),"lon":([\d.]+)', text)
        assert user, text
        assert operator, text
        assert inside, text
        yield base, user.group(0), operator.group(1), f"{inside.group(1)},{inside.group(2)}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_make_run_serves_the_demo_and_pushes_to_the_outbox(
    embedded: tuple[str, str, str, str],
) -> None:
    base, user, operator, inside = embedded
    health = httpx.get(f"{base}/health").json()
    assert health["database"] == "sqlite"
    assert health["redis"] == "embedded"
    assert health["push"] == "outbox"
    assert health["geofences_indexed"] > 0

    lat, lon = (float(v) for v in inside.split(","))
    fixes = [
        {"lat": lat, "lon": lon, "accuracy_m": 10, "recorded_at": datetime.now(UTC).isoformat()}
    ]
    r = httpx.post(
        f"{base}/v1/me/locations",
        json={"fixes": fixes},
        headers={"Authorization": f"Bearer {user}"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["notifications"], r.text

    outbox = httpx.get(f"{base}/v1/outbox", headers={"Authorization": f"Bearer {operator}"}).json()
    # The store's offer and the look of Ann, the demo shopper's friend.
    assert sorted(m["collapse_key"].split("-")[0] for m in outbox) == ["look", "store"]
    assert httpx.get(f"{base}/docs").status_code == 200


def _scheduler_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "vicinity-scheduler"]


def test_the_embedded_server_runs_the_scheduled_jobs(tmp_path: Path) -> None:
    """No Redis, so no beat: the fleet health check still runs, on its interval."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/v.db",
        redis_url=None,
        var_dir=tmp_path,
        beacon_health_every_s=1,
    )
    engine = make_engine(settings)
    upgrade(engine)
    sessions = make_session_factory(engine)
    with unit_of_work(sessions) as session:
        store = Store(name="Chausseur")
        session.add(store)
        session.flush()
        beacon = Beacon(
            identity="ibeacon:f7826da6-4fa2-4e98-8024-bc5b71e0893e:1:1",
            format="ibeacon",
            store_id=store.id,
            zone="door",
            point=Point(2.347, 48.86),
            measured_power_1m=-59,
            spoofable=True,
            installed_at=datetime.now(UTC) - timedelta(days=2),
        )
        session.add(beacon)
        session.flush()
        beacon_id = beacon.id

    def flagged() -> bool:
        with sessions() as session:
            row = session.get(Beacon, beacon_id)
            return row is not None and row.needs_visit

    with TestClient(create_app(settings)):
        assert len(_scheduler_threads()) == 1
        deadline = time.monotonic() + 20
        while not flagged():
            assert time.monotonic() < deadline, "beacons.check_health never ran"
            time.sleep(0.1)
    assert _scheduler_threads() == []
    engine.dispose()


def test_with_redis_beat_runs_the_jobs_not_the_api(settings: Settings) -> None:
    with TestClient(create_app(settings)):
        assert _scheduler_threads() == []


def _make_dry_run(target: str, tmp_path: Path, **variables: str) -> str:
    """What ``make <target>`` would run, for a fresh clone (a venv that does not exist)."""
    args = [f"{k}={v}" for k, v in {"VENV": str(tmp_path / "venv"), **variables}.items()]
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        ["make", "-n", target, *args], cwd=root, capture_output=True, text=True, check=True
    )
    return done.stdout


def test_make_run_installs_the_runtime_only_and_takes_a_port(tmp_path: Path) -> None:
    run = _make_dry_run("run", tmp_path, PORT="9123")
    assert "pip install -q -e ." in run
    assert ".[dev]" not in run
    assert "serve --demo --host 127.0.0.1 --port 9123" in run
    assert "pip install -q -e '.[dev]'" in _make_dry_run("test", tmp_path)
