"""The index's overlay of edits is folded into its trees: it stays bounded under churn."""

from __future__ import annotations

from shapely.geometry import Point

from geofence.core import OVERLAY_LIMIT, Fence, GeofenceIndex
from tests.factories import PARIS, offset


def _circle(fence_id: int, east_m: float) -> Fence:
    return Fence(fence_id, 1, Point(*offset(*PARIS, east_m, 0.0)), 30.0, 60)


def test_creating_and_deleting_fences_keeps_the_index_bounded() -> None:
    index = GeofenceIndex([_circle(i, 200.0 * i) for i in range(10)])
    worst = 0
    for n in range(10, 5_010):  # a store drawing and deleting fences all day
        index.upsert(_circle(n, 200.0 * (n % 10)))
        index.remove(n)
        worst = max(worst, index.pending)
    assert worst < OVERLAY_LIMIT
    assert len(index) == 10
    assert [f.id for f in index.containing([PARIS[0]], [PARIS[1]])[0]] == [0]


def test_deleting_base_fences_compacts_too() -> None:
    index = GeofenceIndex([_circle(i, 200.0 * i) for i in range(2 * OVERLAY_LIMIT)])
    for i in range(0, 2 * OVERLAY_LIMIT, 2):
        index.remove(i)
        assert index.pending < OVERLAY_LIMIT
    assert len(index) == OVERLAY_LIMIT
    assert index.get(0) is None
    assert index.get(1) is not None
    east = offset(*PARIS, 200.0, 0.0)
    assert [f.id for f in index.containing([east[0]], [east[1]])[0]] == [1]
