"""The whole path under the simulator's load, on the production stack of this machine.

``python -m bench city [--users 1000] [--rate 1000] [--duration 300] [--api-workers 2]
[--concurrency 1] [--seed 1]``

A throwaway PostGIS database seeded with the demo city, a redis-server of its own,
uvicorn API workers, a Celery worker and beat, the local FCM and webhook sink
(``bench/sink.py``) with an operator webhook on every event; the load is ``vicinity
simulate`` at a fixed rate (fixes, sightings, taps; single and batched). Printed:

- the simulator's figures (events/s reached, latency p50/p99, answers by status);
- **event → push enqueued**: the latency of the requests whose answer carried a
  notification (the push is enqueued after the commit, before the answer leaves, so this
  bounds it from above);
- **push created → FCM**: per device delivered, the delivery's ``updated_at`` (written
  once FCM answered) minus the notification's ``created_at`` (written when the event was
  decided), from the database: p50/p99/max;
- each latency for the whole run and for the steady state after the walk's first 30 s
  (at the start every shopper already inside a shop ENTERs it at once: a cold start no
  running city has, which the whole run's tail shows);
- the API workers' and the Celery worker's RSS every 5 s (flat memory is the aim), and the
  CPU each part (the simulator too: it shares the cores) used over the run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from bench.sink import sink
from bench.stack import ROOT, celery, cpu_s, database, production_env, redis, rss_bytes, serve, tree
from demo.seed import demo_access, seed_stores
from kernel.config import Settings
from kernel.db import make_engine, make_session_factory, unit_of_work
from preferences.segments import seed_taxonomy
from server.migrate import upgrade
from simulator.run import Config, simulate
from simulator.stats import STEADY_AFTER_S

PROJECT = "vicinity-bench"
WEBHOOK_EVENTS = ["user.entered_geofence", "user.tapped_nfc", "push.sent", "push.opened"]
DELIVERED_SQL = """
SELECT percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY s),
       max(s), count(*)
FROM (SELECT extract(epoch FROM d.updated_at - n.created_at) AS s
      FROM deliveries d JOIN notifications n ON n.id = d.notification_id
      WHERE d.status = 'sent' AND n.created_at >= to_timestamp(:since)) AS t
"""


@contextmanager
def beat(env: dict[str, str], workdir: Path) -> Iterator[subprocess.Popen[bytes]]:
    cmd = [sys.executable, "-m", "celery", "-A", "server.celery", "beat", "--loglevel", "warning"]
    cmd += ["--schedule", str(workdir / "beat-schedule")]
    with (workdir / "beat.log").open("ab") as log:
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(30)


def _sample_rss(
    pids: dict[str, list[int]], every_s: float, stop: threading.Event
) -> list[dict[str, int]]:
    samples: list[dict[str, int]] = []

    def loop() -> None:
        while not stop.wait(every_s):
            samples.append({name: sum(rss_bytes(p) for p in ps) for name, ps in pids.items()})

    threading.Thread(target=loop, daemon=True).start()
    return samples


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench city")
    p.add_argument("--users", type=int, default=200)
    p.add_argument("--rate", type=float, default=100.0, help="events per second")
    p.add_argument("--duration", type=float, default=30.0, help="seconds of load")
    p.add_argument("--api-workers", type=int, default=2)
    p.add_argument("--concurrency", type=int, default=1, help="Celery worker processes")
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args(argv or [])
    # A terminated run still stops its servers and drops its database.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vbench-city-")))
        url = stack.enter_context(database())
        redis_url = stack.enter_context(redis(workdir))
        fcm = stack.enter_context(sink())
        env = production_env(
            url,
            redis_url,
            workdir,
            VICINITY_FCM_URL=fcm.fcm_url,
            VICINITY_FCM_PROJECT_ID=PROJECT,
            VICINITY_WEBHOOK_ALLOW_PRIVATE="true",
            VICINITY_LOG_LEVEL="WARNING",
            # Every virtual phone shares 127.0.0.1: the per-IP limits would measure only
            # themselves; the per-token ones stay.
            VICINITY_RATE_SIGNUP_PER_IP="",
            VICINITY_RATE_EVENTS_PER_IP="",
        )
        settings = Settings(database_url=url, redis_url=redis_url, var_dir=workdir / "var")
        engine = make_engine(settings)
        upgrade(engine)
        with unit_of_work(make_session_factory(engine)) as session:
            seed_taxonomy(session)
            seed_stores(session)
            key = demo_access(session, policy_version=settings.policy_version).operator_key
        api = stack.enter_context(serve("api", "server.app:create_app", env, a.api_workers))
        worker = stack.enter_context(celery(env, workdir, a.concurrency))
        stack.enter_context(beat(env, workdir))
        hook = {"url": fcm.hook_url, "events": WEBHOOK_EVENTS}
        answer = httpx.post(
            f"{api.base}/v1/webhooks", json=hook, headers={"Authorization": f"Bearer {key}"}
        )
        if answer.status_code != 201:
            print(f"  (no webhook: {answer.status_code} {answer.text[:120]})")
        stop = threading.Event()
        rss = _sample_rss({"api": api.worker_pids(), "worker": tree(worker.pid)}, 5.0, stop)
        print(
            f"\nCity under load: {a.users} shoppers, {a.rate:g} events/s for {a.duration:g} s; "
            f"{a.api_workers} API workers, Celery concurrency {a.concurrency}; "
            f"{os.cpu_count()} cores, load {os.getloadavg()}"
        )
        config = Config(
            api.base, a.users, a.rate, a.duration, a.seed, concurrency=256, onboarding=32
        )
        serving = {"api": api.worker_pids(), "worker": tree(worker.pid)}
        cpu_before = {name: cpu_s(pids) for name, pids in serving.items()}
        load_cpu, wall, began = time.process_time(), time.monotonic(), time.time()
        result = asyncio.run(simulate(config, key)).as_json()
        # The load runs on the same two cores: its own CPU says how much it took from them.
        cpu = {name: cpu_s(pids) - cpu_before[name] for name, pids in serving.items()}
        cpu["simulator"] = time.process_time() - load_cpu
        wall = time.monotonic() - wall
        print(
            "  CPU over the run (setup included, "
            f"{wall:.0f} s): "
            + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in cpu.items())
        )
        stop.set()
        time.sleep(5.0)  # the last pushes reach the sink
        setup = result["setup"]
        assert isinstance(setup, dict)
        steady = began + float(setup["elapsed_s"]) + STEADY_AFTER_S  # the walk's 30th second
        with engine.connect() as conn:
            pushes = [conn.execute(text(DELIVERED_SQL), {"since": t}).one() for t in (0, steady)]
        engine.dispose()
        _print(result, pushes, rss, fcm.stats())


def _print(
    result: dict[str, object],
    pushes: list[Any],
    rss: list[dict[str, int]],
    sink_stats: dict[str, object],
) -> None:
    run = result["run"]
    assert isinstance(run, dict)
    print(
        f"  sent {sum(run['events_sent'].values()):,} events in {run['requests']:,} requests, "
        f"{run['events_per_s']} events/s; answers: {run['ok']:,} 2xx, non-2xx "
        f"{run['errors'] or 'none'} (meant: {run['expected_refusals'] or 'none'}; "
        f"waited out: {run['waited_out'] or 'none'})"
    )
    whole = (run["latency_ms"], run["latency_with_push_ms"], pushes[0])
    steady = (run["steady"]["latency_ms"], run["steady"]["latency_with_push_ms"], pushes[1])
    for title, (latency, pushed, (quantiles, worst, delivered)) in (
        ("whole run", whole),
        (f"after the first {STEADY_AFTER_S} s (steady state)", steady),
    ):
        print(f"  {title}:")
        print(
            f"    request latency p50 {latency['p50']} ms, p99 {latency['p99']} ms, "
            f"max {latency['max']} ms"
        )
        print(
            f"    event -> push enqueued (answers carrying a push, {pushed['requests']}): "
            f"p50 {pushed['p50']} ms, p99 {pushed['p99']} ms"
        )
        if quantiles:
            print(
                f"    push created -> FCM answered ({delivered} deliveries): p50 "
                f"{quantiles[0] * 1000:.0f} ms, p99 {quantiles[1] * 1000:.0f} ms, "
                f"max {(worst or 0) * 1000:.0f} ms"
            )
    print(f"  sink received: {sink_stats}")
    if rss:
        for name in rss[0]:
            series = [s[name] / 2**20 for s in rss]
            print(
                f"  {name} RSS (MiB, every 5 s): first {series[0]:.0f}, last {series[-1]:.0f}, "
                f"min {min(series):.0f}, max {max(series):.0f}"
            )
            # A sample a minute (12 of 5 s) shows whether it levels off or keeps growing.
            print(f"    each minute: {' '.join(f'{m:.0f}' for m in series[::12])}")
    print(f"  load at the end: {os.getloadavg()}")
