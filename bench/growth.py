"""How cost grows: from 1,000 to 100,000 geofences, and from 1,000 to 1,000,000 users.

``python -m bench growth [--runs 3] [--quick]``

(a) **Geofences.** The fences of ``bench.geofence_index`` (the real Paris shops of the
    demo data replicated with a jitter; half circles, half rotated rectangles) at 1k, 3k,
    10k, 30k and 100k. Each (size, run) is a fresh Python process, so one size's heap
    does not flatter the next: it builds the ``GeofenceIndex``, then answers 20,000
    fixes one call per fix (the single-fix request's path: the wall time of each call,
    its median and p99, and the mean CPU per call) and the same fixes in batches of
    1,000 (the batch path, CPU µs per fix, and how many fences a fix lies in: they crowd
    into Paris, so more fences also mean longer answers), and reports how much its RSS
    grew per fence between before the fences were made and after they were indexed.
    CPU times are the process's own, so other people's load on the machine hardly moves
    them; the p99 of wall time is mostly that load (the process waiting for a core).

(b) **Users.** Presence in a redis-server of the bench's own (free port, no
    persistence). Each user's presence is a realistic state made by the location flow's
    pure step (``geofence.tracking.track_fixes``) from two fixes a few minutes apart:
    60 % anywhere in Paris (mostly between shops: no zone, the last fix and its time, what
    a key holds until its TTL), 40 % at one of the demo city's real shops (in its fence,
    some past their DWELL); 2 % also in a store's beacon zone. It is written by the real
    ``RedisPresenceStore.commit`` (its Lua script, its JSON, its TTL and the stale
    index's sorted set), pipelined 10,000 users a round trip with the lock each commit
    checks. Filled once, up through 1k, 10k, 100k and 1M users; at each size: Redis
    ``used_memory`` per user (everything over the empty server's; it does not vary from
    run to run), the stale index's share of it, and ``--runs`` rounds of 2,000 of the
    lock → load → save transactions the hot path makes (``acquire`` + ``commit``, two
    round trips, one client) on random users: median and p99 wall time, and the
    redis-server's CPU per transaction (``INFO cpu``), what bounds one Redis core.

Figures are min/median/max of ``--runs`` (three by default), with the load average
before and after each part: the machine is shared.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import redis as redis_lib

from bench.figures import spread
from bench.geofence_index import LAT_MAX, LAT_MIN, LON_MAX, LON_MIN, make_fences, make_fixes
from bench.stack import ROOT, redis, rss_bytes
from demo.shops import load_shops
from geofence.core import Fence, GeofenceIndex
from geofence.screening import Fix, Screening
from geofence.tracking import track_fixes
from presence.core import Observation, Presence, advance
from presence.store import LOCK_KEY, STALE_KEY, Held, RedisPresenceStore

FENCE_SIZES = (1_000, 3_000, 10_000, 30_000, 100_000)
USER_SIZES = (1_000, 10_000, 100_000, 1_000_000)
FIXES = 20_000
BATCH = 1_000
FILL_CHUNK = 10_000  # users per pipelined round trip
STATES = 4_096  # distinct presence states, dealt round-robin to users
TRANSACTIONS = 2_000
TTL_S, STALE_S, LEASE_S = 1800, 1500.0, 30.0  # the settings' defaults


# --- (a) geofences ----------------------------------------------------------------------


def _fence_probe(n: int) -> dict[str, float]:
    """One size in this (fresh) process: build, lookups, RSS per fence."""
    lons, lats = make_fixes(FIXES)
    GeofenceIndex(make_fences(100)).containing(lons[:10], lats[:10])  # code paths loaded
    gc.collect()
    before = rss_bytes(os.getpid())
    fences = make_fences(n)
    start = time.process_time()
    index = GeofenceIndex(fences)
    build_s = time.process_time() - start
    del fences
    gc.collect()
    grown = rss_bytes(os.getpid()) - before

    points = list(zip(lons.tolist(), lats.tolist(), strict=True))
    for lon, lat in points[:1_000]:  # warm-up
        index.containing([lon], [lat])
    took = []
    clock = time.perf_counter_ns
    cpu = time.process_time()
    for lon, lat in points:
        t = clock()
        index.containing([lon], [lat])
        took.append(clock() - t)
    cpu_us = (time.process_time() - cpu) * 1e6 / FIXES
    took.sort()
    start = time.process_time()
    hits = 0
    for i in range(0, FIXES, BATCH):
        hits += sum(map(len, index.containing(lons[i : i + BATCH], lats[i : i + BATCH])))
    batch_us = (time.process_time() - start) * 1e6 / FIXES
    return {
        "build_s": build_s,
        "p50_us": took[len(took) // 2] / 1000,
        "p99_us": took[int(len(took) * 0.99)] / 1000,
        "cpu_us": cpu_us,
        "batch_us": batch_us,
        "per_fix": hits / FIXES,
        "rss_per_fence": grown / n,
    }


def _fences(sizes: tuple[int, ...], runs: int) -> None:
    print(
        f"\n(a) geofences: a fresh process per size and run; {FIXES:,} fixes;"
        f" {runs} run(s), min/median/max; load {_load()}"
    )
    print(
        f"  {'fences':>9}  {'build CPU s':>17}  {'one fix/call p50 µs':>20}  {'p99 µs':>20}"
        f"  {'CPU µs/fix':>17}  {'batch CPU µs/fix':>17}  {'RSS B/fence':>17}  fences/fix"
    )
    for n in sizes:
        found: list[dict[str, float]] = []
        for _ in range(runs):
            cmd = [sys.executable, "-m", "bench.growth", "--probe-fences", str(n)]
            out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True)
            found.append(json.loads(out.stdout.strip().splitlines()[-1]))

        def col(key: str, fmt: str, found: list[dict[str, float]] = found) -> str:
            return spread([f[key] for f in found], fmt)

        print(
            f"  {n:>9,}  {col('build_s', '{:.2f}'):>17}  {col('p50_us', '{:.1f}'):>20}"
            f"  {col('p99_us', '{:.0f}'):>20}  {col('cpu_us', '{:.1f}'):>17}"
            f"  {col('batch_us', '{:.2f}'):>17}  {col('rss_per_fence', '{:,.0f}'):>17}"
            f"  {found[0]['per_fix']:.2f}"
        )
    print(f"  load after: {_load()}")


# --- (b) users ----------------------------------------------------------------------------


def _states(seed: int = 3) -> list[Presence]:
    """Presence as the location flow's pure step leaves it (``track_fixes``: zones, the
    last fix, DWELL), from two fixes a few minutes apart: 60 % anywhere in Paris (mostly
    between shops), 40 % at one of the demo city's real shops (their own fences); 2 %
    also hear a store's beacon."""
    rng = np.random.default_rng(seed)
    shops = load_shops()
    fences = [Fence(n, n, s.geometry, s.radius_m, 300) for n, s in enumerate(shops, 1)]
    index = GeofenceIndex(fences)
    rules = Screening(150.0, 900.0, 25.0, dwell_step_s=300.0)
    now = time.time()
    states = []
    for _ in range(STATES):
        if rng.random() < 0.6:
            lon, lat = rng.uniform(LON_MIN, LON_MAX), rng.uniform(LAT_MIN, LAT_MAX)
        else:
            spot = fences[int(rng.integers(len(fences)))].geometry.representative_point()
            lon, lat = spot.x, spot.y
        first = now - float(rng.uniform(0, 1200))
        fixes = [
            Fix(lon, lat, float(rng.uniform(5, 40)), first),
            Fix(lon + 2e-5, lat, float(rng.uniform(5, 40)), first + float(rng.uniform(1, 600))),
        ]
        _, state = track_fixes(Presence(), fixes, index=index, rules=rules, now=now)
        if rng.random() < 0.02:
            zone = frozenset({f"beacon:{int(rng.integers(1, 20_000))}:entrance"})
            state, _ = advance(state, Observation("beacon", fixes[-1].at, zone), {})
        states.append(state)
    return states


def _fill(client: redis_lib.Redis, states: list[Presence], start: int, stop: int) -> None:
    """Users ``start``..``stop`` committed through the real store, pipelined: each commit
    is the store's own script, behind the lock ``acquire`` would have taken."""
    pipe = client.pipeline(transaction=False)
    store = RedisPresenceStore(pipe, TTL_S, stale_s=STALE_S, lease_s=LEASE_S)
    lease_ms = int(LEASE_S * 1000)
    for first in range(start, stop, FILL_CHUNK):
        last = min(stop, first + FILL_CHUNK)
        for uid in range(first, last):
            pipe.set(LOCK_KEY.format(uid), "fill", px=lease_ms)
            store.commit(Held(uid, "fill", Presence()), states[uid % STATES])
        saved = pipe.execute()[1::2]
        if saved.count(1) != len(saved):
            raise RuntimeError(f"the store refused {len(saved) - saved.count(1)} commits")


def _redis_cpu_s(client: redis_lib.Redis) -> float:
    cpu = client.info("cpu")
    return float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])


def _transactions(client: redis_lib.Redis, users: int, seed: int) -> tuple[float, float, float]:
    """Median and p99 µs of ``acquire`` + ``commit`` on random users, one at a time, and
    the redis-server's CPU µs per transaction (what bounds one Redis core)."""
    store = RedisPresenceStore(client, TTL_S, stale_s=STALE_S, lease_s=LEASE_S)
    uids = np.random.default_rng(seed).integers(1, users + 1, TRANSACTIONS).tolist()
    took = []
    cpu = _redis_cpu_s(client)
    for uid in uids:
        t = time.perf_counter_ns()
        held = store.acquire(uid)
        store.commit(held, held.presence)
        took.append(time.perf_counter_ns() - t)
    server_us = (_redis_cpu_s(client) - cpu) * 1e6 / TRANSACTIONS
    took.sort()
    return took[len(took) // 2] / 1000, took[int(len(took) * 0.99)] / 1000, server_us


def _used(client: redis_lib.Redis) -> int:
    return int(client.info("memory")["used_memory"])


def _users(sizes: tuple[int, ...], runs: int) -> None:
    states = _states()
    mean_bytes = statistics.fmean(len(json.dumps(s.to_json())) for s in states)
    in_zone = sum(bool(s.zones) for s in states) / STATES
    print(
        f"\n(b) users: presence in a redis-server of the bench's own, written by"
        f" RedisPresenceStore.commit; {100 * in_zone:.0f} % in a zone, values of"
        f" {mean_bytes:.0f} B on average; memory from one fill (it does not vary),"
        f" transactions {runs} run(s) of {TRANSACTIONS:,}, min/median/max; load {_load()}"
    )
    rows: list[tuple[int, float, float, list[tuple[float, float, float]]]] = []
    with _redis() as client:
        empty = _used(client)
        have = 1
        for n in sizes:
            _fill(client, states, have, n + 1)
            have = n + 1
            if client.dbsize() < n:
                raise RuntimeError(f"{client.dbsize()} keys for {n} users")
            per_user = (_used(client) - empty) / n
            stale = int(client.memory_usage(STALE_KEY) or 0) / n
            rounds = [_transactions(client, n, seed=run) for run in range(runs)]
            rows.append((n, per_user, stale, rounds))
        version = client.info("server")["redis_version"]
    print(f"  redis-server {version}, one client, localhost")
    print(
        f"  {'users':>9}  {'used_memory B/user':>18}  {'of it stale index':>17}"
        f"  {'lock+load+save p50 µs':>22}  {'p99 µs':>20}  {'redis CPU µs':>17}"
    )
    for n, per_user, stale, rounds in rows:
        p50, p99, server = (list(c) for c in zip(*rounds, strict=True))
        print(
            f"  {n:>9,}  {per_user:>18,.0f}  {stale:>17,.0f}  {spread(p50):>22}"
            f"  {spread(p99):>20}  {spread(server, '{:.1f}'):>17}"
        )
    print(f"  load after: {_load()}")


@contextmanager
def _redis() -> Iterator[redis_lib.Redis]:
    with (
        tempfile.TemporaryDirectory(prefix="vbench-growth-") as workdir,
        redis(Path(workdir)) as url,
    ):
        client = redis_lib.Redis.from_url(url)
        try:
            yield client
        finally:
            client.close()


def _load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench growth")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="smoke run: to 10k fences, 100k users")
    p.add_argument("--only", choices=["fences", "users"], help="one part")
    p.add_argument("--probe-fences", type=int, help=argparse.SUPPRESS)
    a = p.parse_args(argv or [])
    if a.probe_fences:  # the child of part (a)
        print(json.dumps(_fence_probe(a.probe_fences)))
        return
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    runs = 1 if a.quick else a.runs
    print(f"Growth, {os.cpu_count()} cores (shared); load average 1/5/15 min")
    if a.only in (None, "fences"):
        _fences(FENCE_SIZES[:3] if a.quick else FENCE_SIZES, runs)
    if a.only in (None, "users"):
        _users(USER_SIZES[:3] if a.quick else USER_SIZES, runs)


if __name__ == "__main__":
    main(sys.argv[1:])
