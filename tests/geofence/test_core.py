import math

import pytest
from shapely.geometry import MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

from geofence.core import OVERLAY_LIMIT, SOURCE, Fence, GeofenceIndex
from geofence.grid import EARTH_RADIUS_M, M_PER_DEG, haversine_m
from geofence.screening import Fix, Rejection, Screening, observe, screen
from presence.core import Presence, Transition, ZoneEvent, advance

# Place du Châtelet: every shape below is laid out in metres around it.
LON0, LAT0 = 2.3470, 48.8578
RULES = Screening(max_accuracy_m=100.0, max_age_s=900.0, exit_margin_m=25.0)


def at(east_m: float, north_m: float) -> tuple[float, float]:
    """Lon/lat of a point ``east_m``, ``north_m`` metres from the origin."""
    return (
        LON0 + east_m / (M_PER_DEG * math.cos(math.radians(LAT0))),
        LAT0 + north_m / M_PER_DEG,
    )


def square(cx: float, cy: float, half: float) -> list[tuple[float, float]]:
    return [
        at(cx + dx, cy + dy)
        for dx, dy in ((-half, -half), (half, -half), (half, half), (-half, half))
    ]


def polygon(fence_id: int, geometry: BaseGeometry, dwell_s: int = 300) -> Fence:
    return Fence(
        fence_id, store_id=fence_id * 10, geometry=geometry, radius_m=None, dwell_s=dwell_s
    )


def circle(fence_id: int, east_m: float, north_m: float, radius_m: float) -> Fence:
    return Fence(fence_id, fence_id * 10, Point(*at(east_m, north_m)), radius_m, 300)


def ids(index: GeofenceIndex, *points: tuple[float, float]) -> list[set[int]]:
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    return [{f.id for f in fences} for fences in index.containing(lons, lats)]


# Shapes

SHOP = polygon(1, Polygon(square(0, 0, 50)))  # 100 m x 100 m
COURTYARD = polygon(2, Polygon(square(300, 0, 50), [square(300, 0, 20)]))
TWIN = polygon(3, MultiPolygon([Polygon(square(0, 300, 20)), Polygon(square(100, 300, 20))]))


def test_point_in_polygon() -> None:
    index = GeofenceIndex([SHOP])
    assert ids(index, at(0, 0), at(49, -49), at(51, 0), at(0, -60)) == [{1}, {1}, set(), set()]


def test_point_in_a_hole_is_not_inside() -> None:
    index = GeofenceIndex([COURTYARD])
    hole, ring, outside = at(300, 0), at(300 + 35, 0), at(300 + 60, 0)
    assert ids(index, hole, at(300 + 19, 19), ring, outside) == [set(), set(), {2}, set()]


def test_multipolygon_parts_and_the_gap_between() -> None:
    index = GeofenceIndex([TWIN])
    assert ids(index, at(0, 300), at(100, 300), at(50, 300), at(100, 330)) == [
        {3},
        {3},
        set(),
        set(),
    ]


def test_multipolygon_with_a_hole_in_one_part() -> None:
    geom = MultiPolygon(
        [Polygon(square(0, 0, 50), [square(0, 0, 10)]), Polygon(square(200, 0, 30))]
    )
    index = GeofenceIndex([polygon(4, geom)])
    assert ids(index, at(0, 0), at(30, 0), at(200, 0), at(100, 0)) == [set(), {4}, {4}, set()]


def test_point_on_the_boundary_counts_as_inside() -> None:
    # ST_Intersects counts the boundary too; the index must answer as PostGIS does.
    geom = Polygon([(2.0, 48.0), (2.001, 48.0), (2.001, 48.001), (2.0, 48.001)])
    index = GeofenceIndex([polygon(5, geom)])
    assert ids(index, (2.0, 48.0005), (2.001, 48.001)) == [{5}, {5}]


@pytest.mark.parametrize(
    ("distance_m", "inside"),
    [(0.0, True), (99.0, True), (99.9, True), (100.1, False), (101.0, False)],
)
def test_circle_rim_by_haversine(distance_m: float, inside: bool) -> None:
    fence = circle(6, 0, 0, 100.0)
    index = GeofenceIndex([fence])
    north, east = at(0, distance_m), at(distance_m, 0)
    for lon, lat in (north, east):
        assert float(haversine_m(lon, lat, LON0, LAT0)) == pytest.approx(distance_m, abs=1e-6)
    assert ids(index, north) == [{6} if inside else set()]
    # East-west the envelope is widest in degrees: the haversine still decides.
    assert ids(index, east) == [{6} if inside else set()]


def test_circle_far_north_uses_the_sphere_not_degrees() -> None:
    fence = Fence(7, 70, Point(25.0, 70.0), 100.0, 300)
    index = GeofenceIndex([fence])
    dlon_99 = math.degrees(99.0 / (EARTH_RADIUS_M * math.cos(math.radians(70.0))))
    dlon_101 = math.degrees(101.0 / (EARTH_RADIUS_M * math.cos(math.radians(70.0))))
    assert ids(index, (25.0 + dlon_99, 70.0), (25.0 - dlon_101, 70.0)) == [{7}, set()]


def test_haversine_known_distance() -> None:
    # One degree of latitude on the mean sphere, and Paris-London (~343.5 km).
    assert float(haversine_m(2.0, 48.0, 2.0, 49.0)) == pytest.approx(M_PER_DEG)
    assert float(haversine_m(2.3522, 48.8566, -0.1276, 51.5072)) == pytest.approx(343_500, rel=2e-3)


def test_overlapping_fences_all_answer() -> None:
    index = GeofenceIndex([SHOP, circle(8, 0, 0, 80.0), circle(9, 500, 500, 50.0)])
    assert ids(index, at(0, 0), at(60, 0), at(500, 500), at(1000, 1000)) == [
        {1, 8},
        {8},
        {9},
        set(),
    ]


def test_containing_answers_fences_and_keeps_point_order() -> None:
    index = GeofenceIndex([SHOP, COURTYARD])
    result = index.containing(*zip(at(300, 40), at(0, 0), at(999, 999), strict=True))
    assert result == [[COURTYARD], [SHOP], []]


def test_empty_index_and_empty_batch() -> None:
    assert GeofenceIndex().containing([LON0], [LAT0]) == [[]]
    assert GeofenceIndex([SHOP]).containing([], []) == []
    assert len(GeofenceIndex()) == 0


# Editing the index


def test_get_and_len() -> None:
    index = GeofenceIndex([SHOP, COURTYARD])
    assert len(index) == 2
    assert index.get(1) is SHOP
    assert index.get(2) is COURTYARD
    assert index.get(99) is None


def test_upsert_adds_a_fence() -> None:
    index = GeofenceIndex([SHOP])
    index.upsert(TWIN)
    assert len(index) == 2
    assert index.get(3) is TWIN
    assert ids(index, at(0, 0), at(0, 300)) == [{1}, {3}]


def test_upsert_replaces_a_fence_in_the_snapshot() -> None:
    index = GeofenceIndex([SHOP])
    moved = polygon(1, Polygon(square(1000, 0, 50)))
    index.upsert(moved)
    assert len(index) == 1
    assert index.get(1) is moved
    assert ids(index, at(0, 0), at(1000, 0)) == [set(), {1}]


def test_upsert_twice_keeps_the_latest() -> None:
    index = GeofenceIndex()
    index.upsert(circle(1, 0, 0, 50))
    latest = circle(1, 500, 0, 50)
    index.upsert(latest)
    assert len(index) == 1
    assert index.get(1) is latest
    assert ids(index, at(0, 0), at(500, 0)) == [set(), {1}]


def test_remove_from_snapshot_and_from_overlay() -> None:
    index = GeofenceIndex([SHOP, COURTYARD])
    index.upsert(TWIN)
    index.remove(1)
    index.remove(3)
    assert len(index) == 1
    assert index.get(1) is None
    assert index.get(3) is None
    assert ids(index, at(0, 0), at(0, 300), at(330, 0)) == [set(), set(), {2}]


def test_remove_unknown_is_harmless() -> None:
    index = GeofenceIndex([SHOP])
    index.remove(42)
    assert len(index) == 1
    assert ids(index, at(0, 0)) == [{1}]


def test_readd_after_remove() -> None:
    index = GeofenceIndex([SHOP])
    index.remove(1)
    index.upsert(SHOP)
    assert len(index) == 1
    assert ids(index, at(0, 0)) == [{1}]


def test_replace_all_drops_the_overlay() -> None:
    index = GeofenceIndex([SHOP])
    index.upsert(TWIN)
    index.remove(1)
    index.replace_all([COURTYARD])
    assert len(index) == 1
    assert index.get(3) is None
    assert ids(index, at(0, 0), at(0, 300), at(330, 0)) == [set(), set(), {2}]


def test_rebuild_past_the_overlay_limit_keeps_every_answer() -> None:
    base = [circle(i, i * 200.0, 0, 50) for i in range(1, 11)]
    index = GeofenceIndex(base)
    index.remove(1)
    moved = circle(2, 2 * 200.0, 1000, 50)
    index.upsert(moved)
    added = [circle(100 + i, i * 200.0, 2000, 50) for i in range(OVERLAY_LIMIT + 10)]
    for fence in added:
        index.upsert(fence)
    # The overlay was folded into a new snapshot: the lookup path is the tree again.
    assert len(index._view.overlay) < OVERLAY_LIMIT
    assert len(index) == 9 + len(added)
    assert index.get(1) is None
    assert index.get(2) is moved
    assert index.get(100 + OVERLAY_LIMIT) is added[OVERLAY_LIMIT]
    probes = [at(200, 0), at(400, 0), at(400, 1000), at(600, 0)]
    probes += [at(i * 200.0, 2000) for i in range(len(added))]
    expected = [set(), set(), {2}, {3}] + [{100 + i} for i in range(len(added))]
    assert ids(index, *probes) == expected


def test_remove_after_a_rebuild() -> None:
    index = GeofenceIndex()
    for i in range(OVERLAY_LIMIT + 1):
        index.upsert(circle(i, i * 200.0, 0, 50))
    index.remove(0)
    assert len(index) == OVERLAY_LIMIT
    assert ids(index, at(0, 0), at(200, 0)) == [set(), {1}]


# Fence geometry


def test_zone_key() -> None:
    assert SHOP.zone == f"{SOURCE}:1"


def test_metres_outside_polygon() -> None:
    assert SHOP.metres_outside(*at(0, 0)) == 0.0
    assert SHOP.metres_outside(*at(49, 49)) == 0.0
    assert SHOP.metres_outside(*at(110, 0)) == pytest.approx(60.0, rel=1e-3)
    assert SHOP.metres_outside(*at(0, -75)) == pytest.approx(25.0, rel=1e-3)
    assert SHOP.metres_outside(*at(80, 90)) == pytest.approx(50.0, rel=1e-3)


def test_metres_outside_hole_and_multipolygon() -> None:
    assert COURTYARD.metres_outside(*at(300, 0)) == pytest.approx(20.0, rel=1e-3)
    assert COURTYARD.metres_outside(*at(300, 35)) == 0.0
    assert TWIN.metres_outside(*at(50, 300)) == pytest.approx(30.0, rel=1e-3)


def test_metres_outside_circle() -> None:
    fence = circle(6, 0, 0, 100.0)
    assert fence.metres_outside(*at(0, 0)) == 0.0
    assert fence.metres_outside(*at(0, 99)) == 0.0
    assert fence.metres_outside(*at(0, 150)) == pytest.approx(50.0, rel=1e-6)


def test_envelope_covers_the_circle() -> None:
    fence = circle(6, 0, 0, 100.0)
    box = fence.envelope()
    for east, north in ((100, 0), (-100, 0), (0, 100), (0, -100), (70, 70)):
        assert box.contains(Point(*at(east, north)))
    assert SHOP.envelope() is SHOP.geometry


# Screening

NOW = 1_700_000_000.0


@pytest.mark.parametrize(
    ("fix", "last_at", "expected"),
    [
        (Fix(LON0, LAT0, 10.0, NOW - 5), NOW - 60, None),
        (Fix(LON0, LAT0, 100.0, NOW - 5), NOW - 60, None),
        (Fix(LON0, LAT0, 100.5, NOW - 5), NOW - 60, Rejection.POOR_ACCURACY),
        (Fix(LON0, LAT0, 10.0, NOW - 120), NOW - 60, Rejection.OUT_OF_ORDER),
        (Fix(LON0, LAT0, 10.0, NOW - 60), NOW - 60, Rejection.OUT_OF_ORDER),
        (Fix(LON0, LAT0, 10.0, NOW - 900), float("-inf"), None),
        (Fix(LON0, LAT0, 10.0, NOW - 901), float("-inf"), Rejection.STALE),
        (Fix(LON0, LAT0, 500.0, NOW - 5000), NOW, Rejection.POOR_ACCURACY),
        (Fix(LON0, LAT0, 10.0, NOW - 5000), NOW, Rejection.OUT_OF_ORDER),
    ],
    ids=[
        "good",
        "accuracy-at-limit",
        "poor-accuracy",
        "out-of-order",
        "equal-time-is-replay",
        "age-at-limit",
        "stale",
        "accuracy-checked-first",
        "order-before-age",
    ],
)
def test_screen(fix: Fix, last_at: float, expected: Rejection | None) -> None:
    assert screen(fix, last_at=last_at, now=NOW, rules=RULES) == expected


# Fixes through the index and the presence machine, as track_fixes does


def track(
    index: GeofenceIndex, fixes: list[Fix], rules: Screening = RULES
) -> tuple[Presence, list[ZoneEvent]]:
    state = Presence()
    events: list[ZoneEvent] = []
    for fix, inside in zip(
        fixes, index.containing([f.lon for f in fixes], [f.lat for f in fixes]), strict=True
    ):
        obs = observe(fix, inside, state.zones.keys(), index, rules)
        dwell = {f.zone: float(f.dwell_s) for f in inside}
        state, new = advance(state, obs, dwell)
        events.extend(new)
    return state, events


def fix_at(east_m: float, north_m: float, accuracy_m: float, t: float) -> Fix:
    return Fix(*at(east_m, north_m), accuracy_m=accuracy_m, at=t)


def test_jitter_just_outside_a_border_does_not_exit() -> None:
    index = GeofenceIndex([SHOP])
    # The east edge is at +50 m: wobble 5-20 m past it with 20 m accuracy.
    wobble = [45.0, 55.0, 62.0, 48.0, 70.0, 58.0, 66.0, 40.0, 69.0]
    fixes = [fix_at(east, 0, 20.0, 10.0 * n) for n, east in enumerate(wobble)]
    state, events = track(index, fixes)
    assert [(e.zone, e.transition) for e in events] == [(SHOP.zone, Transition.ENTER)]
    assert SHOP.zone in state.zones


def test_poor_accuracy_widens_the_band() -> None:
    index = GeofenceIndex([SHOP])
    fixes = [fix_at(0, 0, 10.0, 0.0), fix_at(50 + 45, 0, 50.0, 10.0)]
    _, events = track(index, fixes)
    assert [e.transition for e in events] == [Transition.ENTER]


def test_a_clear_step_outside_exits() -> None:
    index = GeofenceIndex([SHOP])
    fixes = [fix_at(0, 0, 10.0, 0.0), fix_at(50 + 60, 0, 10.0, 10.0)]
    state, events = track(index, fixes)
    assert [(e.transition, e.at) for e in events] == [
        (Transition.ENTER, 0.0),
        (Transition.EXIT, 10.0),
    ]
    assert state.zones == {}


def test_exit_at_the_margin_boundary() -> None:
    index = GeofenceIndex([SHOP])
    inside, margin, past = (
        fix_at(0, 0, 5.0, 0.0),
        fix_at(50 + 24, 0, 5.0, 1.0),
        fix_at(50 + 26, 0, 5.0, 2.0),
    )
    _, events = track(index, [inside, margin, past])
    assert [(e.transition, e.at) for e in events] == [
        (Transition.ENTER, 0.0),
        (Transition.EXIT, 2.0),
    ]


def test_jitter_outside_a_circle_does_not_exit() -> None:
    fence = circle(6, 0, 0, 80.0)
    index = GeofenceIndex([fence])
    fixes = [fix_at(0, n, 20.0, float(n)) for n in (0, 85, 95, 70, 99, 88)]
    _, events = track(index, fixes)
    assert [e.transition for e in events] == [Transition.ENTER]
    _, events = track(index, [*fixes, fix_at(0, 80 + 60, 10.0, 100.0)])
    assert [e.transition for e in events] == [Transition.ENTER, Transition.EXIT]


def test_no_entry_from_the_band_alone() -> None:
    index = GeofenceIndex([SHOP])
    _, events = track(index, [fix_at(60, 0, 20.0, 0.0), fix_at(55, 0, 20.0, 1.0)])
    assert events == []


def test_hole_exits_past_the_band() -> None:
    index = GeofenceIndex([COURTYARD])
    ring, hole_edge, hole_centre = (
        fix_at(300 + 35, 0, 5.0, 0.0),
        fix_at(300 + 15, 0, 5.0, 1.0),
        fix_at(300, 0, 5.0, 2.0),
    )
    _, near = track(index, [ring, hole_edge])
    assert [e.transition for e in near] == [Transition.ENTER]
    # The hole is 40 m across: its centre is only 20 m from the ring, within the band.
    _, centre = track(index, [ring, hole_centre], Screening(100.0, 900.0, exit_margin_m=10.0))
    assert [e.transition for e in centre] == [Transition.ENTER, Transition.EXIT]


def test_removed_fence_exits_on_the_next_fix() -> None:
    index = GeofenceIndex([SHOP])
    state, _ = track(index, [fix_at(0, 0, 5.0, 0.0)])
    index.remove(SHOP.id)
    obs = observe(fix_at(0, 0, 5.0, 1.0), [], state.zones.keys(), index, RULES)
    _, events = advance(state, obs, {})
    assert [e.transition for e in events] == [Transition.EXIT]


def test_observe_ignores_other_sources_zones() -> None:
    index = GeofenceIndex([SHOP])
    obs = observe(fix_at(0, 0, 5.0, 1.0), [SHOP], ["beacon:1", SHOP.zone], index, RULES)
    assert obs.source == SOURCE
    assert obs.inside == {SHOP.zone}
    assert obs.holding == frozenset()
