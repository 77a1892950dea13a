"""Webhook deliveries per second, from emitted events to a store's endpoint through a
real Celery worker.

``python -m bench webhooks [--events 2000] [--runs 3] [--workers 1] [--quick]``

The world: a throwaway PostGIS database, a redis-server of its own as the broker, one
store with a webhook subscribed to ``user.entered_geofence`` whose URL is ``bench.sink``
(a receiver in a process of its own, keep-alive HTTP/1.1, answering 200). Each run emits
``--events`` events with ``events.service.emit_many`` in one transaction, as the location
hot path does: two statements, one delivery row per event, and after the commit one
``events.deliver`` task each. It times from the emit to the last delivery recorded
``delivered`` by ``celery -A server.celery worker --concurrency N`` (lock, body, HMAC
signature, POST, record). Exactly once is checked on every run: the receiver got each
event id once and every delivery row is ``delivered``. Figures are min/median/max over
``--runs``, with the CPU seconds per 1,000 deliveries of the worker processes and of the
receiver, how busy the machine's cores were (everyone's work) and its load average.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from accounts.models import User
from bench.figures import per_core, spread
from bench.sink import Sink, sink
from bench.stack import (
    busy_share,
    celery,
    cpu_s,
    database,
    machine_ticks,
    production_env,
    redis,
    tree,
    wait,
)
from events.models import Webhook, WebhookDelivery, webhook_events
from events.service import NewEvent, emit_many
from kernel.config import Settings
from kernel.db import make_engine, make_session_factory, unit_of_work
from server.celery import configure
from server.migrate import upgrade
from stores.models import Store

ENTERED = "user.entered_geofence"


@dataclass
class Run:
    deliveries: int
    emit_s: float  # emit, commit and enqueue
    done_s: float  # emit → every delivery recorded delivered
    worker_cpu_s: float
    sink_cpu_s: float
    busy: float


def _seed(sessions: sessionmaker[Session], hook_url: str) -> tuple[int, int]:
    """One store with a webhook on ENTER events, and a shopper; their ids."""
    with unit_of_work(sessions) as session:
        store = Store(name="Maison S")
        session.add(store)
        session.flush()
        hook = Webhook(store_id=store.id, url=hook_url, secret="whsec_" + "b" * 43)
        user = User(token_hash="bench-webhooks", locale="en")
        session.add_all([hook, user])
        session.flush()
        session.execute(insert(webhook_events), [{"webhook_id": hook.id, "name": ENTERED}])
        return store.id, user.id


def _delivered(sessions: sessionmaker[Session], after: int) -> int:
    with sessions() as session:
        count = session.scalar(
            select(func.count()).where(
                WebhookDelivery.id > after, WebhookDelivery.status == "delivered"
            )
        )
        return int(count or 0)


def _last_delivery(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.max(WebhookDelivery.id))) or 0)


def _emit(sessions: sessionmaker[Session], store_id: int, user_id: int, n: int) -> None:
    now = datetime.now(UTC)
    payload = {"zone": "geofence:1", "transition": "enter", "timeout": False}
    events = [
        NewEvent(ENTERED, store_id, user_id, payload, now - timedelta(milliseconds=i))
        for i in range(n)
    ]
    with unit_of_work(sessions) as session:
        emit_many(session, events, now=now)


def _run(
    sessions: sessionmaker[Session], ids: tuple[int, int], n: int, hooks: Sink, workers: list[int]
) -> Run:
    hooks.reset()
    after = _last_delivery(sessions)
    busy0, cpu0, sink0 = machine_ticks(), cpu_s(workers), cpu_s(hooks.pids())
    t0 = time.perf_counter()
    _emit(sessions, *ids, n)
    emitted = time.perf_counter() - t0
    wait(lambda: _delivered(sessions, after) >= n, f"{n} webhooks", timeout_s=max(300.0, n / 2))
    run = Run(
        n,
        emitted,
        time.perf_counter() - t0,
        cpu_s(workers) - cpu0,
        cpu_s(hooks.pids()) - sink0,
        busy_share(busy0),
    )
    got, distinct = hooks.stats()["hooks"]
    rows = _delivered(sessions, after)
    if not got == distinct == rows == n:
        raise RuntimeError(f"not exactly once: receiver {got} ({distinct} ids), rows {rows}, {n}")
    return run


def _report(concurrency: int, done: list[Run]) -> None:
    k = 1000 / done[0].deliveries
    cpu = [r.worker_cpu_s * k for r in done]
    print(f"  celery worker --concurrency {concurrency}; load {os.getloadavg()}")
    print(
        f"    {spread([r.deliveries / r.done_s for r in done]):>20} deliveries/s"
        f"   emit + commit + enqueue {spread([r.emit_s for r in done], '{:.2f}')} s"
    )
    print(
        f"    CPU per 1,000 deliveries: workers {spread(cpu, '{:.2f}')} s,"
        f" receiver {spread([r.sink_cpu_s * k for r in done], '{:.2f}')} s;"
        f" cores busy {spread([100 * r.busy for r in done], '{:.0f}')} %;"
        # What the worker's own CPU allows one core, whoever else is using the machine.
        f" a core's worth of worker CPU: {per_core(cpu)} deliveries/s"
    )


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench webhooks")
    p.add_argument("--events", type=int, default=2000, help="events (one delivery each) per run")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--workers", default="1", help="worker concurrencies, e.g. 1,2")
    p.add_argument("--quick", action="store_true", help="smoke run: 200 events, one run")
    a = p.parse_args(argv or [])
    n, runs = (200, 1) if a.quick else (a.events, a.runs)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vbench-")))
        url = stack.enter_context(database())
        redis_url = stack.enter_context(redis(workdir))
        hooks = stack.enter_context(sink())
        env = production_env(
            url,
            redis_url,
            workdir,
            # The receiver is on this machine, an address the SSRF guard refuses by default.
            VICINITY_WEBHOOK_ALLOW_PRIVATE="true",
        )
        settings = Settings(database_url=url, redis_url=redis_url, var_dir=workdir / "var")
        configure(settings)
        engine = make_engine(settings)
        upgrade(engine)
        sessions = make_session_factory(engine)
        ids = _seed(sessions, hooks.hook_url)
        print(
            f"\nWebhook deliveries through Celery to a local receiver, {n:,} events per run;"
            f" {runs} runs; min/median/max; {os.cpu_count()} cores, load {os.getloadavg()}"
        )
        for concurrency in [int(w) for w in a.workers.split(",")]:
            with celery(env, workdir, concurrency) as proc:
                _run(sessions, ids, 20 * concurrency, hooks, tree(proc.pid))  # warm-up
                done = [_run(sessions, ids, n, hooks, tree(proc.pid)) for _ in range(runs)]
            _report(concurrency, done)
        engine.dispose()
        print(f"  load at the end: {os.getloadavg()}")
