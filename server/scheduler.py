"""Scheduled jobs run in-process, for the embedded default (no Redis, so no Celery beat).

The jobs and their intervals are read from Celery's ``beat_schedule``, so a job added
there runs here as well, on the same schedule: like beat, each job first runs one interval
after start. Jobs run one after another on one thread, through the task's ``apply()``
(the same code a worker runs); a failing job is logged and runs again at its next time.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from celery import Celery
from celery.schedules import maybe_schedule

log = logging.getLogger(__name__)

# The longest wait between two looks at the schedule, whatever the jobs' intervals.
MAX_WAIT_S = 60.0


@dataclass
class _Job:
    name: str
    task: str
    schedule: Any  # a celery.schedules schedule (interval or crontab)
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    last_run_at: datetime


class Scheduler:
    """Celery beat's schedule on a thread of this process."""

    def __init__(self, app: Celery) -> None:
        self._app = app
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        # A worker imports the task modules at start; this process may not have yet.
        self._app.loader.import_default_modules()
        jobs = [self._job(name, entry) for name, entry in self._app.conf.beat_schedule.items()]
        self._thread = threading.Thread(
            target=self._loop, args=(jobs,), name="vicinity-scheduler", daemon=True
        )
        self._thread.start()
        log.info("running %d scheduled jobs in-process: %s", len(jobs), [j.name for j in jobs])

    def stop(self, timeout_s: float = 30.0) -> None:
        """Ask the thread to stop and wait for the job it may be running."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def _job(self, name: str, entry: dict[str, Any]) -> _Job:
        schedule = maybe_schedule(entry["schedule"], app=self._app)
        return _Job(
            name=name,
            task=entry["task"],
            schedule=schedule,
            args=tuple(entry.get("args", ())),
            kwargs=dict(entry.get("kwargs", {})),
            last_run_at=schedule.now(),
        )

    def _loop(self, jobs: list[_Job]) -> None:
        wait = 0.0
        while not self._stopping.wait(wait):
            wait = MAX_WAIT_S
            for job in jobs:
                if self._stopping.is_set():
                    return
                due, next_check_s = job.schedule.is_due(job.last_run_at)
                if due:
                    job.last_run_at = job.schedule.now()
                    self._run(job)
                wait = min(wait, float(next_check_s))
            wait = max(wait, 0.0)

    def _run(self, job: _Job) -> None:
        try:
            self._app.tasks[job.task].apply(args=job.args, kwargs=job.kwargs, throw=True)
        except Exception:
            # A job's failure must not stop the others, nor the next run of this one.
            log.exception("scheduled job %s failed", job.name)
