"""Latency of ``POST /v1/me/locations`` end to end, on PostGIS and Redis, one client.

5,000 geofences (real Paris shops, replicated) with an offer each; 200 consented
shoppers walk between shops. Each request goes over loopback HTTP to uvicorn in its own
process (auth,
validation, index, presence in Redis, decision and notification rows in PostGIS, the
delivery job queued to Redis, commit); no Celery worker runs, so pushes are not timed.
Prints per-request latency percentiles and fixes per second for batches of 1 and 20.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psycopg
import redis
import shapely
from sqlalchemy.engine import make_url

from accounts.service import register_device, register_user
from demo.shops import load_shops
from geofence.models import Geofence
from kernel.config import Settings
from kernel.db import make_engine, make_session_factory, unit_of_work
from offers.models import Offer
from preferences.models import ConsentRecord, Interest, Segment
from preferences.segments import seed_taxonomy
from server.migrate import upgrade
from stores.models import Store

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1/vicinity_bench_api"
FENCES = 5_000
SHOPPERS = 200
REQUESTS = 1_500
SCENARIOS = (
    ("lingering in a shop (no transition)", 1, False),
    ("lingering in a shop (no transition)", 20, False),
    ("hopping shops (ENTER + decision + notification each request)", 1, True),
)


def _fresh_database(url: str) -> None:
    u = make_url(url)
    admin = f"host={u.host or '127.0.0.1'} user={u.username or 'postgres'} dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{u.database}"')


def _seed(
    settings: Settings, rng: np.random.Generator
) -> tuple[list[tuple[float, float]], list[str]]:
    engine = make_engine(settings)
    upgrade(engine)
    shops = load_shops()
    points: list[tuple[float, float]] = []
    with unit_of_work(make_session_factory(engine)) as session:
        seed_taxonomy(session)
        segment = session.query(Segment).filter_by(slug="fashion").one()
        for i in range(FENCES):
            shop = shops[i % len(shops)]
            store = Store(name=shop.name)
            session.add(store)
            session.flush()
            dx, dy = rng.normal(0, 0.003, 2) if i >= len(shops) else (0.0, 0.0)
            geom = shop.geometry if (dx, dy) == (0.0, 0.0) else _moved(shop.geometry, dx, dy)
            session.add(
                Geofence(store_id=store.id, name="Shop", geometry=geom, radius_m=shop.radius_m)
            )
            session.add(Offer(store_id=store.id, title="Offer", body="Body", segments=[segment]))
            c = geom.centroid
            points.append((c.x, c.y))
        tokens = []
        for n in range(SHOPPERS):
            user, token = register_user(session, locale="en", timezone="Europe/Paris")
            session.add(
                ConsentRecord(
                    user_id=user.id,
                    purpose="location_offers",
                    granted=True,
                    policy_version=settings.policy_version,
                    source="bench",
                )
            )
            session.add(Interest(user_id=user.id, segment_id=segment.id))
            register_device(session, user=user, token=f"bench-{n}", platform="android")
            tokens.append(token)
    engine.dispose()
    return points, tokens


def _moved(geom: Any, dx: float, dy: float) -> Any:
    return shapely.transform(geom, lambda c: c + np.array([dx, dy]))


def _run(
    client: httpx.Client,
    points: list[tuple[float, float]],
    tokens: list[str],
    batch: int,
    hop: bool,
) -> list[float]:
    """``hop``: every request lands in another shop (an ENTER, a decision, a notification).
    Otherwise each shopper lingers in one shop: the common case, no transition."""
    rng = np.random.default_rng(7)
    clock = datetime.now(UTC) - timedelta(minutes=10)
    home = {t: points[int(rng.integers(len(points)))] for t in tokens}
    latencies: list[float] = []
    for i in range(REQUESTS):
        token = tokens[i % SHOPPERS]
        lon, lat = points[int(rng.integers(len(points)))] if hop else home[token]
        clock += timedelta(milliseconds=200)
        fixes = [
            {
                "lat": lat + float(rng.normal(0, 0.00003)),
                "lon": lon + float(rng.normal(0, 0.00003)),
                "accuracy_m": 10,
                "recorded_at": (clock + timedelta(milliseconds=k)).isoformat(),
            }
            for k in range(batch)
        ]
        start = time.perf_counter()
        r = client.post(
            "/v1/me/locations", json={"fixes": fixes}, headers={"Authorization": f"Bearer {token}"}
        )
        latencies.append(time.perf_counter() - start)
        assert r.status_code == 200, r.text
    return latencies


@contextmanager
def _server(url: str, redis_url: str) -> Iterator[str]:
    """The API as deployed: uvicorn in its own process, one worker, over loopback HTTP."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **os.environ,
        "VICINITY_DATABASE_URL": url,
        "VICINITY_REDIS_URL": redis_url,
        "VICINITY_VAR_DIR": "var/bench",
        # "Hopping shops" moves a shopper across town between two fixes: a teleport by
        # design, which the jump check would rightly ignore.
        "VICINITY_MAX_SPEED_KMH": "1000000",
    }
    cmd = [sys.executable, "-m", "uvicorn", "server.app:create_app", "--factory"]
    cmd += ["--port", str(port), "--log-level", "warning"]
    proc = subprocess.Popen(cmd, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    url = os.environ.get("VICINITY_BENCH_DATABASE_URL_API", DEFAULT_URL)
    redis_url = os.environ.get("VICINITY_BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
    _fresh_database(url)
    redis.Redis.from_url(redis_url).flushdb()
    settings = Settings(database_url=url, redis_url=redis_url, var_dir=Path("var/bench"))
    t = time.perf_counter()
    points, tokens = _seed(settings, np.random.default_rng(1))
    print(f"\nPOST /v1/me/locations on PostGIS + Redis ({FENCES:,} geofences, {SHOPPERS} shoppers)")
    print(f"  seeding                        {time.perf_counter() - t:.1f} s")
    with _server(url, redis_url) as base, httpx.Client(base_url=base, timeout=10) as client:
        _run(client, points, tokens, 1, hop=False)  # warm up: every shopper enters a shop
        for label, batch, hop in SCENARIOS:
            lat = sorted(_run(client, points, tokens, batch, hop))
            total = sum(lat)
            p = [lat[int(q * (len(lat) - 1))] * 1000 for q in (0.5, 0.95, 0.99)]
            print(f"  {label}")
            print(
                f"    batch of {batch:>2}: p50 {p[0]:6.2f} ms  p95 {p[1]:6.2f} ms"
                f"  p99 {p[2]:6.2f} ms"
                f"  max {lat[-1] * 1000:6.1f} ms  {REQUESTS * batch / total:8,.0f} fixes/s"
                f"  (mean {statistics.fmean(lat) * 1000:.2f} ms, {REQUESTS} requests)"
            )
    redis.Redis.from_url(redis_url).flushdb()
