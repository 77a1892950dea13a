"""Circles are found through a grid of cells (geofence.grid.Grid): whatever the batch
size, and whatever the circles' sizes, the index finds exactly the fences a brute-force
haversine and polygon test finds."""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import Point

from geofence.core import Fence, GeofenceIndex
from geofence.grid import haversine_m
from tests.geofence.test_memory import _fences


def _brute(fences: list[Fence], lon: float, lat: float) -> set[int]:
    found = set()
    for f in fences:
        if f.radius_m is not None:
            c_lon, c_lat = f.centre
            if float(haversine_m(lon, lat, c_lon, c_lat)) <= f.radius_m:
                found.add(f.id)
        elif shapely.intersects(f.geometry, Point(lon, lat)):
            found.add(f.id)
    return found


def test_single_points_and_batches_find_what_brute_force_finds() -> None:
    fences = _fences(2_000)
    # A few circles far larger than the typical one span many cells.
    fences += [Fence(10_000 + i, 1, Point(2.3 + i * 0.01, 48.85), 3_000.0, 300) for i in range(3)]
    index = GeofenceIndex(fences)
    rng = np.random.default_rng(3)
    lons, lats = rng.uniform(2.25, 2.42, 400), rng.uniform(48.81, 48.90, 400)
    batch = index.containing(lons, lats)
    hits = 0
    for n, (lon, lat) in enumerate(zip(lons.tolist(), lats.tolist(), strict=True)):
        expected = _brute(fences, lon, lat)
        assert {f.id for f in batch[n]} == expected
        assert {f.id for f in index.containing([lon], [lat])[0]} == expected
        hits += len(expected)
    assert hits > 200  # the big circles cover many points: the test exercised hits
