"""A short simulation against the app served by uvicorn on PostgreSQL/PostGIS and Redis,
with the demo city seeded: every request is answered, the figures add up, no 5xx."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from sqlalchemy.orm import Session, sessionmaker

from demo.seed import demo_access, seed_stores
from kernel.config import Settings
from kernel.db import unit_of_work
from server.app import create_app
from simulator.run import Config, simulate


@pytest.fixture
def api(settings: Settings) -> Iterator[str]:
    """The API served by uvicorn in a thread, reached over real HTTP."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(settings), log_config=None, log_level="warning", ws="none")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


def test_a_short_walk_through_the_demo_city_adds_up(
    api: str, settings: Settings, sessions: sessionmaker[Session]
) -> None:
    with unit_of_work(sessions) as session:
        seed_stores(session)
        operator = demo_access(session, policy_version=settings.policy_version).operator_key
    config = Config(url=api, users=10, rate=30.0, duration_s=4.0, seed=3, bad_share=0.1)

    result = asyncio.run(simulate(config, operator)).as_json()

    assert result["shoppers"] == 10
    assert result["city"]["beacons"] == result["city"]["stores"] == 24
    for phase in ("setup", "run"):
        figures = result[phase]
        assert figures["requests"] == figures["ok"] + sum(figures["errors"].values())
        assert figures["server_errors"] == 0, figures["errors"]
        assert "transport" not in figures["errors"]
        assert figures["unexpected_errors"] == 0, figures["errors"]
    run = result["run"]
    sent = sum(run["events_sent"].values())
    assert sent == pytest.approx(30.0 * 4.0, rel=0.25)
    assert run["events_sent"]["fix"] >= run["bad_fixes"].get("no_accuracy", 0)
    assert run["by_endpoint"]["fix"] + run["by_endpoint"].get("sighting", 0) > 0
    assert run["accepted"] > 0
    assert sum(s["requests"] for s in result["series"]) == run["requests"]
    assert run["latency_ms"]["p50"] <= run["latency_ms"]["p99"] <= run["latency_ms"]["max"]
