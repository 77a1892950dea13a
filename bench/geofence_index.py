"""Geofence lookups per second: the in-memory index against PostGIS, one core.

Fences are the real Paris shops of ``demo.shops`` replicated with a Gaussian jitter
(standard deviation 400 m) until there are 10,000 or 100,000 of them, so they crowd
where shops crowd; half are circles of 30-150 m, half rotated shop-sized rectangles
10-40 m a side. Fixes fall half near a shop (standard deviation 150 m), half anywhere.

The index answers 200,000 fixes in batches of 1,000 (the server's batch path), and
20,000 one at a time (the per-fix cost). PostGIS answers fixes one query at a time, as
a server without the index would: a prepared statement per fix against a GiST index on
the geometry (polygons) and a GiST index on ``geom::geography`` (circles). ``ST_DWithin``
can only use that index with a constant distance, so the circle query asks for the
largest radius first and the fence's own radius second.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from collections.abc import Sequence

import numpy as np
import psycopg
import shapely
from numpy.typing import NDArray
from psycopg import sql
from psycopg.rows import TupleRow
from shapely.geometry import Point, Polygon
from sqlalchemy.engine import make_url

from demo.shops import load_shops
from geofence.core import Fence, GeofenceIndex
from geofence.grid import M_PER_DEG, haversine_m

SIZES = (10_000, 100_000)
FIXES = 200_000
BATCH = 1_000
SINGLE_FIXES = 20_000
POSTGIS_FIXES = 3_000
REPEATS = 3
TARGET_RATE = 100_000.0
TARGET_RATIO = 30.0
RIM_TOLERANCE = 0.005  # sphere (index) against spheroid (PostGIS): up to ~0.3 % in Paris
LON_MIN, LON_MAX, LAT_MIN, LAT_MAX = 2.25, 2.42, 48.81, 48.90
LAT_MID = (LAT_MIN + LAT_MAX) / 2
KX = M_PER_DEG * math.cos(math.radians(LAT_MID))
MAX_RADIUS_M = 150.0
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1/vicinity_bench"

Coords = NDArray[np.float64]


def shop_anchors() -> tuple[Coords, Coords]:
    centres = [s.geometry.centroid for s in load_shops()]
    return np.array([c.x for c in centres]), np.array([c.y for c in centres])


def jittered(
    rng: np.random.Generator, lons: Coords, lats: Coords, n: int, sigma_m: float
) -> tuple[Coords, Coords]:
    pick = rng.integers(0, len(lons), n)
    lon = lons[pick] + rng.normal(0.0, sigma_m, n) / KX
    lat = lats[pick] + rng.normal(0.0, sigma_m, n) / M_PER_DEG
    return np.clip(lon, LON_MIN, LON_MAX), np.clip(lat, LAT_MIN, LAT_MAX)


def make_fences(n: int, seed: int = 1) -> list[Fence]:
    rng = np.random.default_rng(seed)
    lons, lats = jittered(rng, *shop_anchors(), n, 400.0)
    is_circle = rng.random(n) < 0.5
    radius = rng.uniform(30.0, MAX_RADIUS_M, n)
    half_w, half_h = rng.uniform(5.0, 20.0, n), rng.uniform(5.0, 20.0, n)
    angle = rng.uniform(0.0, math.pi, n)
    fences: list[Fence] = []
    for i in range(n):
        lon, lat = float(lons[i]), float(lats[i])
        if is_circle[i]:
            fences.append(Fence(i + 1, i + 1, Point(lon, lat), float(radius[i]), 300))
            continue
        c, s = math.cos(angle[i]), math.sin(angle[i])
        kx = M_PER_DEG * math.cos(math.radians(lat))
        corners = [(-half_w[i], -half_h[i]), (half_w[i], -half_h[i])]
        corners += [(half_w[i], half_h[i]), (-half_w[i], half_h[i])]
        shell = [
            (lon + (x * c - y * s) / kx, lat + (x * s + y * c) / M_PER_DEG) for x, y in corners
        ]
        fences.append(Fence(i + 1, i + 1, Polygon(shell), None, 300))
    return fences


def make_fixes(n: int, seed: int = 2) -> tuple[Coords, Coords]:
    rng = np.random.default_rng(seed)
    near_lon, near_lat = jittered(rng, *shop_anchors(), n // 2, 150.0)
    far = n - n // 2
    far_lon, far_lat = rng.uniform(LON_MIN, LON_MAX, far), rng.uniform(LAT_MIN, LAT_MAX, far)
    order = rng.permutation(n)
    return np.concatenate([near_lon, far_lon])[order], np.concatenate([near_lat, far_lat])[order]


def index_rate(index: GeofenceIndex, lons: Coords, lats: Coords, batch: int) -> float:
    start = time.perf_counter()
    for i in range(0, len(lons), batch):
        index.containing(lons[i : i + batch], lats[i : i + batch])
    return len(lons) / (time.perf_counter() - start)


def index_single_rate(index: GeofenceIndex, lons: Coords, lats: Coords) -> float:
    points = list(zip(lons.tolist(), lats.tolist(), strict=True))
    start = time.perf_counter()
    for lon, lat in points:
        index.containing([lon], [lat])
    return len(points) / (time.perf_counter() - start)


LOOKUP = """
SELECT id FROM bench_fence
 WHERE radius_m IS NULL AND ST_Intersects(geom, ST_SetSRID(ST_Point(%(lon)s, %(lat)s), 4326))
UNION ALL
SELECT id FROM bench_fence
 WHERE radius_m IS NOT NULL
   AND ST_DWithin(geom::geography, ST_SetSRID(ST_Point(%(lon)s, %(lat)s), 4326)::geography,
                  %(max_radius)s)
   AND ST_DWithin(geom::geography, ST_SetSRID(ST_Point(%(lon)s, %(lat)s), 4326)::geography,
                  radius_m)
"""


def conninfo() -> str:
    url = make_url(os.environ.get("VICINITY_BENCH_DATABASE_URL", DEFAULT_URL))
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def ensure_database(info: str) -> None:
    """Create the benchmark database, and PostGIS in it, when missing."""
    url = make_url(info)
    name = url.database or "vicinity_bench"
    admin_info = url.set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin_info, autocommit=True) as admin:
        found = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if found.fetchone() is None:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with psycopg.connect(info, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")


def load_postgis(conn: psycopg.Connection[TupleRow], fences: Sequence[Fence]) -> None:
    conn.execute("DROP TABLE IF EXISTS bench_fence")
    conn.execute(
        "CREATE TABLE bench_fence (id int PRIMARY KEY, geom geometry(Geometry, 4326) NOT NULL,"
        " radius_m float8)"
    )
    geoms = shapely.set_srid(np.array([f.geometry for f in fences], dtype=object), 4326)
    ewkb = shapely.to_wkb(geoms, hex=True, include_srid=True).tolist()
    with conn.cursor() as cur, cur.copy("COPY bench_fence (id, geom, radius_m) FROM STDIN") as copy:
        for fence, hexwkb in zip(fences, ewkb, strict=True):
            copy.write_row((fence.id, hexwkb, fence.radius_m))
    conn.execute("CREATE INDEX bench_fence_geom ON bench_fence USING gist (geom)")
    conn.execute(
        "CREATE INDEX bench_fence_geog ON bench_fence USING gist ((geom::geography))"
        " WHERE radius_m IS NOT NULL"
    )
    conn.commit()
    conn.execute("ANALYZE bench_fence")
    conn.commit()


def postgis_answers(
    conn: psycopg.Connection[TupleRow], lons: Coords, lats: Coords
) -> tuple[float, list[set[int]]]:
    answers: list[set[int]] = []
    params = {"max_radius": MAX_RADIUS_M}
    with conn.cursor() as cur:
        start = time.perf_counter()
        for lon, lat in zip(lons.tolist(), lats.tolist(), strict=True):
            cur.execute(LOOKUP, {**params, "lon": lon, "lat": lat}, prepare=True)
            answers.append({int(row[0]) for row in cur.fetchall()})
        elapsed = time.perf_counter() - start
    return len(lons) / elapsed, answers


def agreement(
    fences: Sequence[Fence],
    lons: Coords,
    lats: Coords,
    got: list[set[int]],
    expected: list[set[int]],
) -> tuple[float, float]:
    """Share of fixes answered alike: exactly, and leaving out fence/fix pairs on a rim.

    A rim pair is a circle and a fix within 0.5 % of its radius from the rim, where the
    index's sphere and PostGIS's spheroid may disagree.
    """
    by_id = {f.id: f for f in fences}
    exact = away = 0
    for n, (a, b) in enumerate(zip(got, expected, strict=True)):
        exact += a == b
        rims = 0
        for fence_id in a ^ b:
            fence = by_id[fence_id]
            if fence.radius_m is None:
                break
            lon, lat = shapely.get_coordinates(fence.geometry)[0]
            d = float(haversine_m(lons[n], lats[n], lon, lat))
            if abs(d - fence.radius_m) > RIM_TOLERANCE * fence.radius_m:
                break
            rims += 1
        away += rims == len(a ^ b)
    return exact / len(got), away / len(got)


def verdict(value: float, target: float) -> str:
    return "met" if value >= target else "MISSED"


def run_size(conn: psycopg.Connection[TupleRow], n: int, lons: Coords, lats: Coords) -> None:
    fences = make_fences(n)
    circles = sum(f.radius_m is not None for f in fences)
    start = time.perf_counter()
    index = GeofenceIndex(fences)
    build_s = time.perf_counter() - start
    start = time.perf_counter()
    load_postgis(conn, fences)
    load_s = time.perf_counter() - start

    index_rate(index, lons[: BATCH * 5], lats[: BATCH * 5], BATCH)  # warm-up
    rates = sorted(index_rate(index, lons, lats, BATCH) for _ in range(REPEATS))
    median = statistics.median(rates)
    single = index_single_rate(index, lons[:SINGLE_FIXES], lats[:SINGLE_FIXES])
    pg_lons, pg_lats = lons[:POSTGIS_FIXES], lats[:POSTGIS_FIXES]
    postgis_answers(conn, pg_lons[:100], pg_lats[:100])  # warm-up: plan, cache
    pg_rate, expected = postgis_answers(conn, pg_lons, pg_lats)
    got = [{f.id for f in inside} for inside in index.containing(pg_lons, pg_lats)]
    exact, away = agreement(fences, pg_lons, pg_lats, got, expected)
    per_fix = sum(len(a) for a in got) / len(got)

    print(f"\n{n:,} geofences ({circles:,} circles, {n - circles:,} polygons)")
    print(f"  fences per fix, mean          {per_fix:.2f}")
    print(f"  index build                   {build_s:.2f} s")
    print(f"  PostGIS load                  {load_s:.2f} s (COPY, two GiST indexes, ANALYZE)")
    target = (
        f"   target >= {TARGET_RATE:,.0f}/s: {verdict(median, TARGET_RATE)}" if n >= 100_000 else ""
    )
    print(
        f"  index, batches of {BATCH:,}      {median:>9,.0f} lookups/s"
        f"   (min {rates[0]:,.0f}, median {median:,.0f}, max {rates[-1]:,.0f};"
        f" {REPEATS} runs of {len(lons):,} fixes){target}"
    )
    print(f"  index, one fix per call       {single:>9,.0f} lookups/s   ({SINGLE_FIXES:,} fixes)")
    print(
        f"  PostGIS, one query per fix    {pg_rate:>9,.0f} lookups/s"
        f"   ({POSTGIS_FIXES:,} fixes, prepared statement)"
    )
    ratio = median / pg_rate
    print(
        f"  index / PostGIS               {ratio:>9,.1f}x"
        f"           target >= {TARGET_RATIO:.0f}x: {verdict(ratio, TARGET_RATIO)}"
        f"   (one fix per call: {single / pg_rate:,.1f}x)"
    )
    print(
        f"  agreement with PostGIS        {100 * exact:>9.2f} % of {len(got):,} fixes;"
        f" {100 * away:.2f} % leaving out circle rims ({100 * RIM_TOLERANCE:.1f} % of the radius)"
    )


def main() -> None:
    print("geofence index against PostGIS: lookups per second, one core")
    info = conninfo()
    ensure_database(info)
    lons, lats = make_fixes(FIXES)
    with psycopg.connect(info) as conn:
        for n in SIZES:
            run_size(conn, n, lons, lats)
