"""The production topology with processes: N API processes behind one port, M Celery
workers on one Redis and one PostgreSQL, and how throughput grows from 1 to 2 of each.

``python -m bench scaleout [--duration 10] [--runs 3] [--connections 64] [--quick]``

Container images cannot be pulled on these machines, so each replica of
``docker compose up --scale api=N --scale worker=M`` is a process here:

* **API**: ``uvicorn --workers N`` (``bench.stack.serve``, the image's own command). Its
  supervisor binds the port once and every worker accepts on that one inherited socket,
  so N processes answer behind one port with no code of ours. ``SO_REUSEPORT`` (a socket
  per process, the kernel hashing each connection to one) would need a launcher of our
  own, uvicorn having no flag for it, and spreads a few long keep-alive connections no
  better. Each worker holds what a container would: its own geofence index, token cache,
  database pool and pub/sub listener. The CPU each worker spent is reported, to show how
  evenly the shared socket spread the connections.
* **Celery**: M ``celery worker --concurrency 1`` processes, each its own node
  (``-n``), as ``--scale worker=M`` makes them: M consumers of the one Redis queue.

The world is ``bench.ingest_world``'s (5,000 geofences from the demo Paris shops, each with an
offer; 2,000 consented shoppers with a device), in a throwaway PostGIS database with a
redis-server of its own; FCM is ``bench.sink`` in its own process. Rate limits are
turned off (``VICINITY_RATE_LIMITS=false``): the bench is one IP with 64 connections.

(a) **Single-fix location requests** at the highest rate ``--connections`` keep-alive
    connections of ``bench/loadgen.mjs`` reach (``bench.ingest``'s scenario: 5 % of
    requests move the shopper to another shop, an ENTER whose push one Celery worker
    sends to the sink meanwhile), against 1 and 2 API processes, both up at once and
    alternated within each run: req/s, p50/p99, server CPU per request.
(b) **Push delivery**: one owed notification per shopper, a task each
    (``notifications.deliver``, the live path), drained by 1 then 2 workers within each
    run (the second worker started for its turn): pushes/s from the first enqueue to the
    last notification recorded sent, each device's push received exactly once
    (``bench.pushes``' run). What (a)'s pushes left queued is dropped first (its worker
    stopped, the bench's Redis flushed), so the sink counts (b)'s pushes only.

Figures are min/median/max over ``--runs`` with the 2 / 1 ratio of each run, the share
of the machine's cores busy (everyone's: the machine is shared) and the load average.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import redis as redis_lib
from sqlalchemy import select

from accounts.models import User
from bench import ingest, ingest_world, pushes
from bench.figures import per_core, spread
from bench.sink import sink
from bench.stack import (
    Server,
    busy_share,
    celery,
    cpu_s,
    database,
    machine_ticks,
    redis,
    serve,
)
from bench.stack import tree as process_tree
from kernel.config import Settings
from kernel.db import make_engine, make_session_factory
from offers.models import Offer
from server.celery import configure

API, WORKERS = (1, 2), (1, 2)


def _locations(
    servers: dict[int, Server], world: ingest_world.World, workdir: Path, a: argparse.Namespace
) -> None:
    plan = {
        "path": "/v1/me/locations",
        "kind": "locations",
        "users": world.users,
        "shops": world.shops,
        "connections": a.connections,
        "duration_s": a.duration,
        "batch": 1,
    }
    for server in servers.values():  # every shopper enters its home shop; pools warmed
        ingest._load(server, {**plan, "mode": "each", "hop": 0, "seed": 7}, workdir)
    results: dict[int, list[dict[str, Any]]] = {n: [] for n in servers}
    for run in range(a.runs):
        for n, server in servers.items():
            workers = server.worker_pids()
            before, busy0 = [cpu_s([p]) for p in workers], machine_ticks()
            closed = {**plan, "mode": "closed", "hop": 0.05, "seed": 7 + run}
            result = ingest._load(server, closed, workdir)
            spent = [cpu_s([p]) - b for p, b in zip(workers, before, strict=True)]
            result["split"] = [s / max(1e-9, sum(spent)) for s in spent]
            result["busy"] = busy_share(busy0)
            results[n].append(result)
    print(f"\n(a) single-fix location requests, max rate, {a.connections} connections, 5 % ENTER")
    rates = {n: [r["requests"] / r["elapsed_s"] for r in runs] for n, runs in results.items()}
    for n, runs in results.items():
        split = " / ".join(spread([100 * r["split"][k] for r in runs], "{:.0f}") for k in range(n))
        print(
            f"    {n} API process{'es' if n > 1 else '  '} {spread(rates[n]):>20} req/s"
            f"   p50 {spread([r['p50_ms'] for r in runs], '{:.1f}')} ms"
            f"   p99 {spread([r['p99_ms'] for r in runs], '{:.1f}')} ms"
            f"   CPU {spread([r['cpu_ms_per_request'] for r in runs], '{:.2f}')} ms/req"
            f" (a core's worth: {per_core([r['cpu_ms_per_request'] for r in runs])} req/s)"
        )
        print(
            f"    {'':<15} cores busy {spread([100 * r['busy'] for r in runs], '{:.0f}')} %;"
            f" CPU share per worker (%): {split}"
        )
    ratios = [b / a_ for a_, b in zip(rates[API[0]], rates[API[-1]], strict=True)]
    print(f"    {API[-1]} / {API[0]}, same run: {spread(ratios, '{:.2f}')} x")


def _pushes(
    env: dict[str, str],
    workdir: Path,
    world: pushes.World,
    fcm: Any,
    runs: int,
    days: Iterator[date],
) -> None:
    settings = Settings(database_url=env["VICINITY_DATABASE_URL"])
    engine = make_engine(settings)
    sessions = make_session_factory(engine)
    results: dict[int, list[pushes.Run]] = {m: [] for m in WORKERS}
    with celery(env, workdir, 1, name="w1") as first:
        pushes._warm(sessions, world, world.user_ids[:20], days)
        for _ in range(runs):
            for m in WORKERS:
                with ExitStack() as more:
                    procs = [first]
                    for k in range(2, m + 1):
                        procs.append(more.enter_context(celery(env, workdir, 1, name=f"w{k}")))
                    if m > 1:  # the new node up and its runtime built
                        pushes._warm(sessions, world, world.user_ids[: 20 * m], days)
                    pids = [p for proc in procs for p in process_tree(proc.pid)]
                    run = pushes._run(sessions, world, next(days), False, fcm, pids)
                    results[m].append(run)
    engine.dispose()
    print(f"\n(b) push delivery, a task per push, {len(world.user_ids):,} pushes a run")
    for m, done in results.items():
        per = 1000 / done[0].pushes
        print(
            f"    {m} worker{'s' if m > 1 else ' '} {spread([r.rate for r in done]):>20} pushes/s"
            f"   CPU per 1,000: workers {spread([r.worker_cpu_s * per for r in done], '{:.2f}')} s"
            f" (a core's worth: {per_core([r.worker_cpu_s * per for r in done])} pushes/s);"
            f" cores busy {spread([100 * r.busy for r in done], '{:.0f}')} %"
        )
    rates = {m: [r.rate for r in done] for m, done in results.items()}
    ratios = [b / a_ for a_, b in zip(rates[WORKERS[0]], rates[WORKERS[-1]], strict=True)]
    print(f"    {WORKERS[-1]} / {WORKERS[0]}, same run: {spread(ratios, '{:.2f}')} x")


def _forget_queue(redis_url: str) -> None:
    """Drop what (a)'s pushes left queued, once its worker stopped: (b) counts every push
    the sink receives as its own."""
    client = redis_lib.Redis.from_url(redis_url)
    try:
        client.flushdb()
    finally:
        client.close()


def _push_world(url: str, users: int) -> pushes.World:
    """``bench.pushes``' view of the seeded world: one store's offer, shoppers with a device."""
    engine = make_engine(Settings(database_url=url))
    with make_session_factory(engine)() as session:
        offer = session.scalars(select(Offer).order_by(Offer.id).limit(1)).one()
        ids = list(session.scalars(select(User.id).order_by(User.id).limit(users)))
        world = pushes.World(offer.store_id, offer.id, ids)
    engine.dispose()
    return world


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench scaleout")
    p.add_argument("--duration", type=float, default=10.0, help="seconds per measurement of (a)")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--quick", action="store_true", help="smoke run: one run of 3 s, 300 pushes")
    a = p.parse_args(argv or [])
    if a.quick:
        a.runs, a.duration = 1, 3.0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if shutil.which("node") is None:
        print("bench scaleout needs node (the load generator is bench/loadgen.mjs)")
        return
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vbench-")))
        url = stack.enter_context(database())
        redis_url = stack.enter_context(redis(workdir))
        fcm = stack.enter_context(sink())
        env = {
            **os.environ,
            "VICINITY_DATABASE_URL": url,
            "VICINITY_REDIS_URL": redis_url,
            "VICINITY_VAR_DIR": str(workdir / "var"),
            "VICINITY_CELERY_EAGER": "false",
            "VICINITY_FCM_URL": fcm.fcm_url,
            "VICINITY_FCM_PROJECT_ID": pushes.PROJECT,
            "VICINITY_RATE_LIMITS": "false",
        }
        settings = Settings(database_url=url, redis_url=redis_url, var_dir=workdir / "var")
        configure(settings)  # this process enqueues (b)'s tasks on the bench's broker
        world = ingest_world.seed(settings)
        print(
            f"\nScale-out with processes: uvicorn --workers 1|2 on one port, 1|2 Celery"
            f" workers, one PostGIS and one Redis; {ingest_world.FENCES:,} fences,"
            f" {ingest_world.SHOPPERS:,} shoppers; {a.runs} run(s) of {a.duration:g} s;"
            f" min/median/max; {os.cpu_count()} cores (shared), load {os.getloadavg()}"
        )
        with celery(env, workdir, 1, name="w0"), ExitStack() as apis:
            servers = {n: apis.enter_context(serve(f"api{n}", "server.app:create_app", env, n))
                       for n in API}  # fmt: skip
            _locations(servers, world, workdir, a)
        _forget_queue(redis_url)
        print(f"    load after (a): {os.getloadavg()}")
        days = (date(2026, 1, 1) + timedelta(days=d) for d in range(300))
        pworld = _push_world(url, 300 if a.quick else ingest_world.SHOPPERS)
        _pushes(env, workdir, pworld, fcm, a.runs, days)
        print(f"    load at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main(sys.argv[1:])
