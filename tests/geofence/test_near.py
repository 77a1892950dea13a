"""``GeofenceIndex.near``: the fences within a radius of a point, nearest first, against
brute force over every fence, through edits (overlay and hidden base fences)."""

from __future__ import annotations

import math
import random

from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, Polygon

from geofence.core import Fence, GeofenceIndex
from geofence.grid import M_PER_DEG

LON0, LAT0 = 2.3470, 48.8578


def at(east_m: float, north_m: float) -> tuple[float, float]:
    return (
        LON0 + east_m / (M_PER_DEG * math.cos(math.radians(LAT0))),
        LAT0 + north_m / M_PER_DEG,
    )


def circle(fence_id: int, east_m: float, north_m: float, radius_m: float) -> Fence:
    return Fence(fence_id, fence_id * 10, Point(*at(east_m, north_m)), radius_m, 60)


def square(fence_id: int, east_m: float, north_m: float, half: float) -> Fence:
    corners = [(east_m - half, north_m - half), (east_m + half, north_m - half)]
    corners += [(east_m + half, north_m + half), (east_m - half, north_m + half)]
    return Fence(fence_id, fence_id * 10, Polygon([at(*c) for c in corners]), None, 60)


def test_nearest_first_with_metres_outside_and_zero_inside() -> None:
    index = GeofenceIndex(
        [circle(1, 100, 0, 50), square(2, 300, 0, 20), circle(3, 9000, 0, 50), square(4, 0, 0, 10)]
    )
    found = [(f.id, round(d, 1)) for f, d in index.near(*at(0, 0), 1000)]
    assert found == [(4, 0.0), (1, 50.0), (2, 280.0)]
    assert [f.id for f, _ in index.near(*at(0, 0), 49)] == [4]
    assert index.near(*at(0, 0), 1) == [(index.get(4), 0.0)]


def test_edits_are_seen_and_removed_fences_are_not() -> None:
    index = GeofenceIndex([circle(1, 100, 0, 50), square(2, 300, 0, 20)])
    index.remove(2)
    index.upsert(circle(5, 0, 200, 30))
    index.upsert(circle(1, 500, 0, 50))  # moved away: its old place no longer counts
    found = [(f.id, round(d)) for f, d in index.near(*at(0, 0), 1000)]
    assert found == [(5, 170), (1, 450)]


def test_an_empty_index_finds_nothing() -> None:
    assert GeofenceIndex().near(LON0, LAT0, 5000) == []


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), radius=st.floats(1, 5000))
def test_agrees_with_brute_force(seed: int, radius: float) -> None:
    rng = random.Random(seed)
    fences = []
    for n in range(1, 60):
        east, north = rng.uniform(-6000, 6000), rng.uniform(-6000, 6000)
        if rng.random() < 0.5:
            fences.append(circle(n, east, north, rng.uniform(20, 300)))
        else:
            fences.append(square(n, east, north, rng.uniform(5, 80)))
    index = GeofenceIndex(fences[:40])
    for fence in fences[40:]:
        index.upsert(fence)
    point = at(rng.uniform(-3000, 3000), rng.uniform(-3000, 3000))
    expected = sorted((d, f.id) for f in fences if (d := f.metres_outside(*point)) <= radius - 1e-6)
    found = [(d, f.id) for f, d in index.near(*point, radius)]
    assert [i for _, i in found if _ <= radius - 1e-6] == [i for _, i in expected]
    for (d, _), (e, _) in zip(found, expected, strict=False):
        assert math.isclose(d, e, abs_tol=1e-3)
