"""The in-process scheduler of the embedded default, on a Celery app of its own."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from celery import Celery

from server.scheduler import Scheduler


def test_jobs_run_on_their_interval_and_a_failing_one_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = Celery("scheduler-test", set_as_current=False)
    app.conf.update(broker_url="memory://", task_always_eager=True)
    ticks: list[float] = []

    @app.task(name="test.tick")  # type: ignore[untyped-decorator]
    def tick() -> None:
        ticks.append(time.monotonic())

    @app.task(name="test.boom")  # type: ignore[untyped-decorator]
    def boom() -> None:
        raise RuntimeError("the broker blinked")

    app.conf.beat_schedule = {
        "boom": {"task": "test.boom", "schedule": 0.05},
        "tick": {"task": "test.tick", "schedule": 0.05},
    }
    scheduler = Scheduler(app)
    with caplog.at_level(logging.ERROR, logger="server.scheduler"):
        started = time.monotonic()
        scheduler.start()
        deadline = started + 10
        while len(ticks) < 3:
            assert time.monotonic() < deadline, "the tick job did not keep running"
            time.sleep(0.01)
        scheduler.stop()
    # Like beat, a job first runs one interval after start, not at once.
    assert ticks[0] - started >= 0.05
    assert "scheduled job boom failed" in caplog.text
    assert "the broker blinked" in caplog.text
    assert not [t for t in threading.enumerate() if t.name == "vicinity-scheduler"]
