"""Ingestion served the production way, beside the naive design, in the same runs.

``python -m bench ingest [--duration 10] [--runs 3] [--workers 1,2] [--connections 64] [--full]``

The world (``bench.ingest_world``): a throwaway PostGIS database (created and dropped
here), a redis-server of its own on a free port, 5,000 geofences from the demo Paris
shops (replicated with a jitter) each with an offer, 2,000 consented shoppers with a
device. Served by uvicorn
(1 and 2 workers) with a real Celery worker delivering the pushes to the outbox file;
the naive endpoint (``bench.naive_app``: same auth, one PostGIS query per fix) is
served the same way. The load comes from another process (``bench/loadgen.mjs``, Node's
own http client) and alternates between the two servers within each run:

(a) single-fix requests at the highest rate ``--connections`` keep-alive connections
    reach, 5 % of them moving the shopper to another shop (an ENTER): req/s, p50/p99,
    server CPU per request (uvicorn processes, from /proc);
(b) 200 req/s open loop on one worker (latency from each request's due time): p99;
(c) batches of 100 fixes: fixes/s;
(d) batches of 100 beacon sightings (each shopper hears their shop's iBeacon; the naive
    endpoint asks PostgreSQL once per sighting which beacon it was): sightings/s;
(e) worker RSS per fence: a 1-worker server's RSS at 5,000 and at 100,000 fences.

``--full`` puts the later issues' work on the path: each store's offer under a daily cap
and a 10 % holdout, a second offer waiting for five minutes of dwell, and the operator's
webhook on every ENTER (an event and a delivery per transition, delivered by the worker
to a local receiver).

Figures are min/median/max over ``--runs``, with the machine's load average.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.figures import spread
from bench.ingest_world import BIG_FENCES, FENCES, SHOPPERS, grow_fences, seed
from bench.sink import sink
from bench.stack import (
    Server,
    celery,
    cpu_s,
    database,
    production_env,
    redis,
    rss_bytes,
    serve,
)
from kernel.config import Settings

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LOADGEN = HERE / "loadgen.mjs"


# --- processes -------------------------------------------------------------------------


def _load(
    server: Server, plan: dict[str, Any], workdir: Path, profile: Path | None = None
) -> dict[str, Any]:
    path = workdir / f"plan-{server.name}.json"
    path.write_text(json.dumps({"base": server.base, **plan}))
    pids = server.pids()
    cpu0 = cpu_s(pids)
    spy = None
    if profile is not None:  # py-spy (dev extra): GIL-holding samples of the first worker
        venv_spy = Path(sys.executable).with_name("py-spy")
        cmd = [
            str(venv_spy) if venv_spy.exists() else "py-spy",
            "record",
            "--gil",
            "--nonblocking",
            "--format",
            "raw",
            "-o",
        ]
        cmd += [str(profile), "-d", str(int(plan["duration_s"])), "-p"]
        spy = subprocess.Popen([*cmd, str(server.worker_pids()[0])], stdout=subprocess.DEVNULL)
    out = subprocess.run(["node", str(LOADGEN), str(path)], check=True, capture_output=True)
    if spy is not None:
        spy.wait(60)
    result: dict[str, Any] = json.loads(out.stdout)
    result["cpu_ms_per_request"] = (cpu_s(pids) - cpu0) * 1000 / max(1, result["requests"])
    bad = result["errors"] + sum(n for s, n in result["statuses"].items() if s != "200")
    if bad:
        print(f"    ! {server.name}: {bad} failed requests, e.g. {result['sample']}")
    return result


@dataclass
class Options:
    duration_s: float
    runs: int
    workers: list[int]
    connections: int
    rate: int
    profile: Path | None
    full: bool


def _parse(argv: list[str]) -> Options:
    p = argparse.ArgumentParser(prog="python -m bench ingest")
    p.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--workers", default="1,2", help="uvicorn worker counts, e.g. 1,2")
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--rate", type=int, default=200, help="fixed rate of scenario (b), req/s")
    p.add_argument(
        "--profile", type=Path, help="py-spy the first run of (a) and (c) into this folder"
    )
    p.add_argument(
        "--full",
        action="store_true",
        help="offers with a daily cap, a holdout and a dwell offer, and a webhook on every ENTER",
    )
    a = p.parse_args(argv)
    workers = [int(w) for w in a.workers.split(",")]
    return Options(a.duration, a.runs, workers, a.connections, a.rate, a.profile, a.full)


def _round(
    servers: list[Server],
    plan: dict[str, Any],
    workdir: Path,
    results: dict[str, list[Any]],
    profile: Path | None = None,
) -> None:
    for server in servers:
        spy = None if profile is None else profile / f"{server.name}-{plan['batch']}.txt"
        results.setdefault(server.name, []).append(_load(server, plan, workdir, spy))


def _report_rates(
    label: str, results: dict[str, list[dict[str, Any]]], per: int = 1, unit: str = "fixes/s"
) -> None:
    print(f"  {label}")
    rates: dict[str, list[float]] = {}
    for name, runs in results.items():
        rates[name] = [r["requests"] * per / r["elapsed_s"] for r in runs]
        unit = unit if per > 1 else "req/s"
        print(
            f"    {name:<9} {spread(rates[name]):>22} {unit}"
            f"   p50 {spread([r['p50_ms'] for r in runs], '{:.1f}')} ms"
            f"   p99 {spread([r['p99_ms'] for r in runs], '{:.1f}')} ms"
            f"   CPU {spread([r['cpu_ms_per_request'] for r in runs], '{:.2f}')} ms/req"
        )
    if {"vicinity", "naive"} <= rates.keys():
        ratios = [v / n for v, n in zip(rates["vicinity"], rates["naive"], strict=True)]
        print(f"    vicinity / naive, same run: {spread(ratios, '{:.2f}')} x")


def main(argv: list[str] | None = None) -> None:
    opts = _parse(argv or [])
    # A terminated bench still stops its servers and drops its database.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if opts.profile is not None:
        opts.profile.mkdir(parents=True, exist_ok=True)
    if shutil.which("node") is None:
        print("bench ingest needs node (the load generator is bench/loadgen.mjs)")
        return
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vbench-")))
        url = stack.enter_context(database())
        redis_url = stack.enter_context(redis(workdir))
        env = production_env(
            url,
            redis_url,
            workdir,
            # The load moves a shopper to a shop across town between two fixes (the 5 %
            # ENTERs): a teleport by design, which the jump check would rightly ignore.
            VICINITY_MAX_SPEED_KMH="1000000",
        )
        hook_url = None
        if opts.full:
            hook_url = stack.enter_context(sink()).hook_url
            # The receiver is on this machine, an address the SSRF guard refuses by default.
            env["VICINITY_WEBHOOK_ALLOW_PRIVATE"] = "true"
        t = time.perf_counter()
        settings = Settings(database_url=url, redis_url=redis_url, var_dir=workdir / "var")
        world = seed(settings, hook_url)
        print(
            f"\nIngestion, production serving: {FENCES:,} fences, {SHOPPERS:,} shoppers,"
            f" uvicorn + Celery worker + PostGIS + Redis; load from node, alternating"
            f" servers; {opts.runs} runs of {opts.duration_s:g} s; min/median/max"
            + (
                "; offers with cap, holdout and dwell rules, a webhook on every ENTER"
                if opts.full
                else ""
            )
        )
        print(f"  seeded in {time.perf_counter() - t:.1f} s; load {os.getloadavg()}")
        stack.enter_context(celery(env, workdir))
        base_plan = {
            "path": "/v1/me/locations",
            "kind": "locations",
            "users": world.users,
            "shops": world.shops,
            "connections": opts.connections,
            "duration_s": opts.duration_s,
            "seed": 7,
        }
        rss_5k = 0
        for workers in opts.workers:
            with (
                serve("vicinity", "server.app:create_app", env, workers) as vic,
                serve("naive", "bench.naive_app:create_app", env, workers) as naive,
            ):
                servers = [vic, naive]
                if workers == 1:
                    rss_5k = rss_bytes(vic.worker_pids()[0])
                # Every shopper enters its home shop once; warm both servers' pools.
                warm = {**base_plan, "mode": "each", "batch": 1, "hop": 0}
                _round(servers, warm, workdir, {})
                # And hears its shop's beacon once (the beacon zone's ENTER), so (d) measures
                # shoppers already inside, as (c) does.
                heard_once = {**warm, "path": "/v1/me/sightings", "kind": "sightings"}
                _round(servers, heard_once, workdir, {})
                single: dict[str, list[Any]] = {}
                fixed: dict[str, list[Any]] = {}
                batches: dict[str, list[Any]] = {}
                sightings: dict[str, list[Any]] = {}
                for run in range(opts.runs):
                    plan = {**base_plan, "mode": "closed", "batch": 1, "hop": 0.05}
                    spy = opts.profile if run == 0 and workers == 1 else None
                    _round(servers, {**plan, "seed": 7 + run}, workdir, single, spy)
                    if workers == 1:
                        slow = {**plan, "mode": "open", "rate": opts.rate, "seed": 70 + run}
                        _round(servers, slow, workdir, fixed)
                    many = {**plan, "batch": 100, "hop": 0, "connections": 8, "seed": 700 + run}
                    _round(servers, many, workdir, batches, spy)
                    heard = {**many, "path": "/v1/me/sightings", "kind": "sightings"}
                    _round(servers, {**heard, "seed": 7000 + run}, workdir, sightings)
                print(f"\n  {workers} uvicorn worker(s); load after: {os.getloadavg()}")
                _report_rates("(a) single fix, 5 % ENTER, max rate", single)
                if fixed:
                    _report_rates(f"(b) single fix at a fixed {opts.rate} req/s", fixed)
                _report_rates("(c) batches of 100 fixes", batches, per=100)
                _report_rates("(d) batches of 100 beacon sightings", sightings, 100, "sightings/s")
        if 1 in opts.workers:
            grow_fences(url, BIG_FENCES)
            with serve("vicinity", "server.app:create_app", env, 1) as vic:
                rss_big = rss_bytes(vic.worker_pids()[0])
            per_fence = (rss_big - rss_5k) / (BIG_FENCES - FENCES)
            print(
                f"\n  (e) worker RSS: {rss_5k / 2**20:.0f} MiB at {FENCES:,} fences,"
                f" {rss_big / 2**20:.0f} MiB at {BIG_FENCES:,}: {per_fence:,.0f} B per fence"
            )
        print(f"  load at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main(sys.argv[1:])
