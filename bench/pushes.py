"""Pushes per second, from owed notifications to FCM through real Celery workers.

``python -m bench pushes [--users 5000] [--runs 3] [--workers 1,2] [--quick]``

The world: a throwaway PostGIS database, a redis-server of its own as the broker, one
store with an offer, ``--users`` shoppers with one device each. FCM is ``bench.sink`` in
a process of its own (FCM HTTP v1's success answer over keep-alive HTTP/1.1), reached by
the product's ``FcmSender`` (firebase-admin ``send_each``) as configured by
``VICINITY_FCM_URL``.

(0) firebase-admin alone: ``FcmSender.send`` of 500-message batches from this process,
    no database, no Celery: the client's ceiling on this machine.
(a) one task per notification (``notifications.deliver``), the live path: a presence
    event's decision enqueues one after its commit;
(b) batch tasks of 200 (``notifications.deliver_many``), the sweeper's path.

Each run owes one fresh notification to every shopper (rows inserted in one
transaction), then times from the first enqueue to the last notification recorded
``sent`` by ``celery -A server.celery worker --concurrency N``: claim, redemption code,
``send_each``, record and the ``push.sent`` event, all in the worker. Exactly once is
checked on every run: the sink got each device's token once and every delivery row is
``sent``. Figures are min/median/max over ``--runs``, with the CPU seconds per 1,000
pushes of the worker processes and of the sink, how busy the machine's cores were
(everyone's work, from /proc/stat) and its load average.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import event, func, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from accounts.models import Device, User
from accounts.service import hash_secret
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
from kernel.config import Settings
from kernel.db import make_engine, make_session_factory, unit_of_work
from notifications.delivery import deliver_many
from notifications.models import Delivery, Notification
from notifications.push import FcmSender, PushMessage, make_sender
from offers.models import Offer
from server.celery import configure
from server.migrate import upgrade
from stores.models import Store

PROJECT = "vicinity-bench"
BATCH = 200  # notifications.tasks.BATCH_TASK_SIZE, the sweeper's batch


@dataclass(frozen=True)
class World:
    store_id: int
    offer_id: int
    user_ids: list[int]


@dataclass
class Run:
    pushes: int
    enqueue_s: float
    received_s: float  # first enqueue → the sink has every push
    recorded_s: float  # first enqueue → every notification recorded sent
    worker_cpu_s: float
    sink_cpu_s: float
    busy: float  # share of the machine's cores busy during the run (everyone's work)

    @property
    def rate(self) -> float:
        return self.pushes / self.recorded_s


def _seed(sessions: sessionmaker[Session], users: int) -> World:
    with unit_of_work(sessions) as session:
        store = Store(name="Maison S")
        session.add(store)
        session.flush()
        ends = datetime.now(UTC) + timedelta(days=30)
        offer = Offer(store_id=store.id, title="-20%", body="Today only", ends_at=ends)
        session.add(offer)
        rows = [
            {"token_hash": hash_secret(secrets.token_urlsafe(16)), "locale": "en"}
            for _ in range(users)
        ]
        ids = list(session.scalars(insert(User).returning(User.id), rows))
        devices = [{"user_id": u, "token": f"bench-{u}", "platform": "android"} for u in ids]
        session.execute(insert(Device), devices)
        session.flush()
        return World(store.id, offer.id, ids)


def _owe(sessions: sessionmaker[Session], world: World, users: list[int], day: date) -> list[int]:
    """A pending notification of the offer for each user (as the decision records it)."""
    rows = [
        {
            "user_id": u,
            "offer_id": world.offer_id,
            "store_id": world.store_id,
            "zone": "geofence:1",
            "trigger": "enter",
            "reason": {"rule": "one_per_offer_per_day", "matched": ["fashion"]},
            "title": "-20%",
            "body": "Today only",
            "day": day,
            "status": "pending",
            "next_attempt_at": datetime.now(UTC) + timedelta(hours=1),
        }
        for u in users
    ]
    with unit_of_work(sessions) as session:
        return list(session.scalars(insert(Notification).returning(Notification.id), rows))


def _sent(sessions: sessionmaker[Session], ids: list[int]) -> tuple[int, int]:
    """(notifications sent, delivery rows sent) among ``ids``."""
    with sessions() as session:
        notes = session.scalar(
            select(func.count()).where(
                Notification.id.between(ids[0], ids[-1]), Notification.status == "sent"
            )
        )
        rows = session.scalar(
            select(func.count()).where(
                Delivery.notification_id.between(ids[0], ids[-1]), Delivery.status == "sent"
            )
        )
        return int(notes or 0), int(rows or 0)


def _enqueue(ids: list[int], batched: bool) -> None:
    # Imported once Celery is configured for this bench's broker.
    from notifications.tasks import deliver_notification, deliver_notifications

    if batched:
        for start in range(0, len(ids), BATCH):
            deliver_notifications.delay(ids[start : start + BATCH])
    else:
        for notification_id in ids:
            deliver_notification.delay(notification_id)


def _run(
    sessions: sessionmaker[Session],
    world: World,
    day: date,
    batched: bool,
    fcm: Sink,
    workers: list[int],
) -> Run:
    ids = _owe(sessions, world, world.user_ids, day)
    fcm.reset()
    n = len(ids)
    busy0, cpu0, sink0 = machine_ticks(), cpu_s(workers), cpu_s(fcm.pids())
    t0 = time.perf_counter()
    _enqueue(ids, batched)
    enqueued = time.perf_counter() - t0
    received: list[float] = []

    def done() -> bool:
        if not received and fcm.stats()["fcm"][0] >= n:
            received.append(time.perf_counter() - t0)
        return _sent(sessions, ids)[0] >= n

    wait(done, f"{n} pushes", timeout_s=max(300.0, n / 5))
    recorded = time.perf_counter() - t0
    run = Run(
        n,
        enqueued,
        received[0] if received else recorded,
        recorded,
        cpu_s(workers) - cpu0,
        cpu_s(fcm.pids()) - sink0,
        busy_share(busy0),
    )
    got, distinct = fcm.stats()["fcm"]
    rows = _sent(sessions, ids)[1]
    if not got == distinct == rows == n:
        raise RuntimeError(f"not exactly once: sink {got} ({distinct} tokens), rows {rows}, {n}")
    return run


def _warm(
    sessions: sessionmaker[Session], world: World, users: list[int], days: Iterator[date]
) -> None:
    """Every worker process up, its runtime and firebase app built, both tasks run."""
    for batched in (False, True):
        ids = _owe(sessions, world, users, next(days))
        _enqueue(ids, batched)

        def done(ids: list[int] = ids) -> bool:
            return _sent(sessions, ids)[0] >= len(ids)

        wait(done, "the workers' warm-up")


def _sender(fcm: Sink) -> FcmSender:
    sender = make_sender(
        credentials_path=None, project_id=PROJECT, outbox_path=Path("-"), fcm_url=fcm.fcm_url
    )
    assert isinstance(sender, FcmSender)
    return sender


def _baseline(fcm: Sink, runs: int, n: int) -> None:
    sender = _sender(fcm)
    data = {"notification_id": "1", "offer_id": "1", "redemption_code": "ABCD-1234"}
    messages = [
        PushMessage(f"baseline-{i}", "-20%", "Today only", data, "store-1") for i in range(500)
    ]
    rates, cpu = [], []
    for _ in range(runs):
        t, c = time.perf_counter(), time.process_time()
        for _ in range(max(1, n // 500)):
            sender.send(messages)
        rates.append(max(1, n // 500) * 500 / (time.perf_counter() - t))
        cpu.append((time.process_time() - c) * 1000 / (max(1, n // 500) * 500))
    sender.close()
    print(
        f"  (0) firebase-admin alone, send_each of 500, this process: {spread(rates)} pushes/s;"
        f" CPU per 1,000 {spread(cpu, '{:.2f}')} s"
    )


def _in_process(
    engine: Engine,
    sessions: sessionmaker[Session],
    world: World,
    fcm: Sink,
    settings: Settings,
    days: Iterator[date],
    runs: int,
) -> None:
    """The delivery service without Celery: ``deliver_many`` of 200 at a time, here."""
    sender = _sender(fcm)
    statements = [0]

    def count(*_: object) -> None:
        statements[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    rates, cpu, per = [], [], []
    for _ in range(runs):
        ids = _owe(sessions, world, world.user_ids, next(days))
        fcm.reset()
        statements[0] = 0
        t, c = time.perf_counter(), time.process_time()
        for start in range(0, len(ids), BATCH):
            deliver_many(
                sessions,
                notification_ids=ids[start : start + BATCH],
                sender=sender,
                max_attempts=settings.push_max_retries,
                now=datetime.now(UTC),
                outcomes={},
                settings=settings,
            )
        rates.append(len(ids) / (time.perf_counter() - t))
        cpu.append((time.process_time() - c) * 1000 / len(ids))
        per.append(statements[0] / len(ids))
        if fcm.stats()["fcm"] != [len(ids), len(ids)] or _sent(sessions, ids)[1] != len(ids):
            raise RuntimeError("in-process delivery: not exactly once")
    event.remove(engine, "before_cursor_execute", count)
    sender.close()
    print(
        f"  (1) deliver_many of 200 in this process, no Celery: {spread(rates)} pushes/s;"
        f" CPU per 1,000 {spread(cpu, '{:.2f}')} s (this process, not PostgreSQL);"
        f" {spread(per, '{:.1f}')} SQL statements per push"
    )


def _report(label: str, runs: list[Run]) -> None:
    k = 1000 / runs[0].pushes
    print(
        f"    {label:<22} {spread([r.rate for r in runs]):>20} pushes/s"
        f"   all at FCM {spread([r.pushes / r.received_s for r in runs])}/s"
        f"   enqueue {spread([r.enqueue_s for r in runs], '{:.2f}')} s"
    )
    print(
        f"    {'':<22} CPU per 1,000 pushes: workers"
        f" {spread([r.worker_cpu_s * k for r in runs], '{:.2f}')} s,"
        f" sink {spread([r.sink_cpu_s * k for r in runs], '{:.2f}')} s;"
        f" cores busy {spread([100 * r.busy for r in runs], '{:.0f}')} %;"
        # What the worker's own CPU allows one core, whoever else is using the machine.
        f" a core's worth of worker CPU: {per_core([r.worker_cpu_s * k for r in runs])} pushes/s"
    )


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench pushes")
    p.add_argument("--users", type=int, default=5000, help="shoppers, one device and push each")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--workers", default="1,2", help="worker concurrencies, e.g. 1,2")
    p.add_argument("--quick", action="store_true", help="smoke run: 300 shoppers, one run")
    a = p.parse_args(argv or [])
    users, runs = (300, 1) if a.quick else (a.users, a.runs)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vbench-")))
        url = stack.enter_context(database())
        redis_url = stack.enter_context(redis(workdir))
        fcm = stack.enter_context(sink())
        env = production_env(
            url,
            redis_url,
            workdir,
            VICINITY_FCM_URL=fcm.fcm_url,
            VICINITY_FCM_PROJECT_ID=PROJECT,
        )
        settings = Settings(database_url=url, redis_url=redis_url, var_dir=workdir / "var")
        configure(settings)
        engine = make_engine(settings)
        upgrade(engine)
        sessions = make_session_factory(engine)
        world = _seed(sessions, users)
        print(
            f"\nPushes through Celery workers and firebase-admin to a local FCM, {users:,}"
            f" shoppers with a device each; {runs} runs; min/median/max;"
            f" {os.cpu_count()} cores, load {os.getloadavg()}"
        )
        days = (date(2026, 1, 1) + timedelta(days=d) for d in range(10_000))
        _baseline(fcm, runs, max(users, 2000))
        _in_process(engine, sessions, world, fcm, settings, days, runs)
        for concurrency in [int(w) for w in a.workers.split(",")]:
            with celery(env, workdir, concurrency) as proc:
                _warm(sessions, world, world.user_ids[: 20 * concurrency], days)
                workers = tree(proc.pid)
                results: dict[str, list[Run]] = {"(a) a task per push": [], "(b) tasks of 200": []}
                for _ in range(runs):
                    for label, batched in zip(results, (False, True), strict=True):
                        results[label].append(
                            _run(sessions, world, next(days), batched, fcm, workers)
                        )
                print(f"  celery worker --concurrency {concurrency}; load {os.getloadavg()}")
                for label, done in results.items():
                    _report(label, done)
        engine.dispose()
        log = (workdir / "celery.log").read_text()
        if "pool is full" in log:
            print(
                f"  urllib3 'pool is full' warnings in the worker log: {log.count('pool is full')}"
            )
        print(f"  load at the end: {os.getloadavg()}")
