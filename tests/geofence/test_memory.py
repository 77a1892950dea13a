"""The index's memory per fence is structural: bounded bytes, no geometry per circle.

At 100,000 fences a worker holds the index (bench/ingest.py reports its RSS per fence);
Python-side bytes are counted with tracemalloc, and GEOS memory (which tracemalloc cannot
see) is bounded by counting the geometries the index keeps alive: one per polygon, none
per circle.
"""

from __future__ import annotations

import gc
import math
import tracemalloc

import numpy as np
from shapely.geometry import Point, Polygon
from shapely.geometry.base import BaseGeometry

from geofence.core import Fence, GeofenceIndex
from geofence.grid import M_PER_DEG

FENCES = 20_000
# Python-side bytes, measured 390 B; GEOS memory is bounded by the geometry count below
# (the circles' Points and STRtree boxes, before, were two geometries per circle).
MAX_BYTES_PER_FENCE = 450


def _fences(n: int) -> list[Fence]:
    """Half circles, half shop-sized rectangles, scattered over a city."""
    rng = np.random.default_rng(7)
    lons, lats = rng.uniform(2.25, 2.42, n), rng.uniform(48.81, 48.90, n)
    fences = []
    for i in range(n):
        lon, lat = float(lons[i]), float(lats[i])
        if i % 2:
            fences.append(Fence(i + 1, i + 1, Point(lon, lat), float(rng.uniform(30, 200)), 300))
            continue
        w = 15 / (M_PER_DEG * math.cos(math.radians(lat)))
        h = 10 / M_PER_DEG
        shell = [(lon - w, lat - h), (lon + w, lat - h), (lon + w, lat + h), (lon - w, lat + h)]
        fences.append(Fence(i + 1, i + 1, Polygon(shell), None, 300))
    return fences


def _geometries() -> int:
    return sum(isinstance(o, BaseGeometry) for o in gc.get_objects())


def test_the_index_costs_a_bounded_number_of_bytes_and_no_geometry_per_circle() -> None:
    gc.collect()
    before = _geometries()
    tracemalloc.start()
    try:
        index = GeofenceIndex(_fences(FENCES))
        gc.collect()
        held, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(index) == FENCES
    assert held / FENCES < MAX_BYTES_PER_FENCE, f"{held / FENCES:,.0f} B per fence"
    # The polygons' own geometries only (and the STRtree's handful of internals).
    assert _geometries() - before <= FENCES // 2 + 10
    # Still answers: a circle's centre lies in it.
    circle = index.get(2)
    assert circle is not None
    assert circle.radius_m is not None
    lon, lat = circle.centre
    assert circle in index.containing([lon], [lat])[0]
