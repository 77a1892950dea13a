"""Impossible jumps, pure: the speed check with its jitter allowance, and the tracking
step that ignores a teleport without moving presence (properties with hypothesis)."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st
from shapely.geometry import Point, Polygon

from geofence.core import Fence, GeofenceIndex
from geofence.grid import M_PER_DEG
from geofence.jumps import JUMP_SLACK_M, metres_between, too_fast
from geofence.screening import Fix, Screening
from geofence.tracking import track_fixes
from presence.confidence import Confidence
from presence.core import LastFix, Presence, Transition, ZoneVisit, expire

LON0, LAT0 = 2.3470, 48.8578
NOW = 1_800_000_000.0
RULES = Screening(max_accuracy_m=150.0, max_age_s=900.0, exit_margin_m=25.0, max_speed_kmh=300.0)


def moved(
    east_m: float, north_m: float, lon: float = LON0, lat: float = LAT0
) -> tuple[float, float]:
    return (
        lon + east_m / (M_PER_DEG * math.cos(math.radians(lat))),
        lat + north_m / M_PER_DEG,
    )


def square(east_m: float, half: float) -> Polygon:
    corners = [(-half, -half), (half, -half), (half, half), (-half, half)]
    return Polygon([moved(east_m + dx, dy) for dx, dy in corners])


SHOP = Fence(1, 10, square(0.0, 20.0), None, 300)  # 40 m square at the origin
FAR_SHOP = Fence(2, 20, Point(*moved(1_000_000.0, 0.0)), 50.0, 300)  # 1,000 km east
INDEX = GeofenceIndex([SHOP, FAR_SHOP])

bearings = st.floats(0.0, 2 * math.pi)
accuracies = st.floats(1.0, 150.0)
gaps = st.floats(0.001, 3600.0)


def at_bearing(distance_m: float, bearing: float, lon: float = LON0) -> tuple[float, float]:
    return moved(distance_m * math.sin(bearing), distance_m * math.cos(bearing), lon)


def test_a_thousand_km_in_a_minute_is_a_jump_walking_is_not() -> None:
    last = LastFix(LON0, LAT0, 10.0, NOW - 60.0)
    assert too_fast(Fix(*moved(1_000_000.0, 0.0), 10.0, NOW), last, max_speed_kmh=300.0)
    assert not too_fast(Fix(*moved(85.0, 0.0), 10.0, NOW), last, max_speed_kmh=300.0)
    assert not too_fast(Fix(*moved(1_000_000.0, 0.0), 10.0, NOW), None, max_speed_kmh=300.0)
    # The same kilometre is a jump in a second and a drive in a minute.
    assert too_fast(Fix(*moved(1000.0, 0.0), 10.0, NOW - 59.0), last, max_speed_kmh=300.0)
    assert not too_fast(Fix(*moved(1000.0, 0.0), 10.0, NOW), last, max_speed_kmh=300.0)


@given(accuracies, accuracies, st.floats(0.0, 1.0), bearings, gaps)
def test_jitter_within_both_accuracies_is_never_a_jump(
    acc_last: float, acc_fix: float, share: float, bearing: float, gap: float
) -> None:
    """Two fixes of a shopper standing still, however close in time, lie within their
    accuracies of each other: never a teleport."""
    last = LastFix(LON0, LAT0, acc_last, NOW)
    where = at_bearing(share * (acc_last + acc_fix), bearing)
    assert not too_fast(Fix(*where, acc_fix, NOW + gap), last, max_speed_kmh=300.0)


@given(st.floats(0.0, 299.0), bearings, st.floats(1.0, 3600.0), accuracies, accuracies)
def test_any_speed_under_the_bound_passes(
    kmh: float, bearing: float, gap: float, acc_last: float, acc_fix: float
) -> None:
    last = LastFix(LON0, LAT0, acc_last, NOW)
    where = at_bearing(kmh / 3.6 * gap, bearing)
    assert not too_fast(Fix(*where, acc_fix, NOW + gap), last, max_speed_kmh=300.0)


@given(st.floats(1.05, 50.0), bearings, gaps, accuracies, accuracies)
def test_beyond_the_bound_and_the_jitter_allowance_is_a_jump(
    factor: float, bearing: float, gap: float, acc_last: float, acc_fix: float
) -> None:
    last = LastFix(LON0, LAT0, acc_last, NOW)
    allowed = 300.0 / 3.6 * max(gap, 1.0) + acc_last + acc_fix + JUMP_SLACK_M
    where = at_bearing(allowed * factor + 1.0, bearing)
    assert too_fast(Fix(*where, acc_fix, NOW + gap), last, max_speed_kmh=300.0)


def test_the_scalar_distance_agrees_with_a_known_one() -> None:
    # One degree of latitude on the mean-radius sphere.
    assert math.isclose(metres_between(0.0, 0.0, 0.0, 1.0), M_PER_DEG, rel_tol=1e-9)


def walk(steps: int, every_s: float = 10.0, step_m: float = 12.0) -> list[Fix]:
    """Walking east through the shop, ending at NOW."""
    start = NOW - every_s * (steps - 1)
    return [Fix(*moved(-60.0 + step_m * i, 0.0), 10.0, start + every_s * i) for i in range(steps)]


@given(st.integers(1, 9), st.floats(0.01, 0.99), bearings, st.floats(100_000.0, 5_000_000.0))
def test_a_teleport_moves_nothing(
    after: int, within: float, bearing: float, distance_m: float
) -> None:
    """Inserting a far-off fix anywhere after the first into a walk changes neither the
    events nor the presence: it is only counted as ignored."""
    fixes = walk(10)
    when = fixes[after - 1].at + within * (fixes[after].at - fixes[after - 1].at)
    jump = Fix(*at_bearing(distance_m, bearing), 5.0, when)
    plain, plain_state = track_fixes(Presence(), fixes, index=INDEX, rules=RULES, now=NOW)
    jumped, jumped_state = track_fixes(
        Presence(), [*fixes, jump], index=INDEX, rules=RULES, now=NOW
    )
    assert jumped.events == plain.events
    assert jumped_state == plain_state
    assert jumped.accepted == plain.accepted == 10
    assert jumped.ignored == {"teleport": 1}


def test_a_jump_into_a_far_shop_enters_nothing_and_keeps_the_last_credible_fix() -> None:
    state = Presence()
    tracked, state = track_fixes(
        state, [Fix(*moved(0.0, 0.0), 10.0, NOW - 120.0)], index=INDEX, rules=RULES, now=NOW
    )
    assert [(e.zone, e.transition) for e in tracked.events] == [("geofence:1", Transition.ENTER)]
    anchor = state.fix
    assert anchor == LastFix(round(LON0, 4), round(LAT0, 4), 10.0, NOW - 120.0)
    far = Fix(*FAR_SHOP.centre, 5.0, NOW - 60.0)
    tracked, after = track_fixes(state, [far], index=INDEX, rules=RULES, now=NOW)
    assert (tracked.events, tracked.accepted, tracked.ignored) == ([], 0, {"teleport": 1})
    assert after == state
    # Back at walking pace from where the user really was: accepted.
    near = Fix(*moved(30.0, 0.0), 10.0, NOW)
    tracked, after = track_fixes(state, [near], index=INDEX, rules=RULES, now=NOW)
    assert tracked.accepted == 1
    assert tracked.ignored == {}
    assert after.fix is not None
    assert after.fix.at == NOW


def test_a_wrong_anchor_is_outgrown_as_time_passes() -> None:
    """A first fix 2 km off is not a prison: fixes at the true place are jumps at first,
    then plausible once 2 km could have been covered at the bound."""
    wrong = Presence(fix=LastFix(*moved(2000.0, 0.0), 10.0, NOW - 100.0))
    here = moved(0.0, 0.0)
    early, _ = track_fixes(wrong, [Fix(*here, 10.0, NOW - 90.0)], index=INDEX, rules=RULES, now=NOW)
    later, _ = track_fixes(wrong, [Fix(*here, 10.0, NOW - 70.0)], index=INDEX, rules=RULES, now=NOW)
    assert early.ignored == {"teleport": 1}
    assert later.accepted == 1


def test_the_last_fix_round_trips_coarsened_and_is_forgotten_when_stale() -> None:
    _, state = track_fixes(
        Presence(), [Fix(2.3470123, 48.8578456, 7.2, NOW - 10.0)], index=INDEX, rules=RULES, now=NOW
    )
    assert state.fix == LastFix(2.347, 48.8578, 8.0, NOW - 10.0)
    assert Presence.from_json(state.to_json()) == state
    assert "fix" not in Presence().to_json()
    kept, _ = expire(state, now=NOW + 100.0, stale_s=600.0)
    assert kept.fix == state.fix
    gone, events = expire(state, now=NOW + 601.0, stale_s=600.0)
    assert gone.fix is None
    assert [e.timeout for e in events] == [True]  # the shop's zone times out with it


def test_fix_events_are_rated_by_accuracy_against_the_fence() -> None:
    def enter(accuracy_m: float) -> Confidence:
        tracked, _ = track_fixes(
            Presence(), [Fix(LON0, LAT0, accuracy_m, NOW)], index=INDEX, rules=RULES, now=NOW
        )
        (event,) = tracked.events
        return event.confidence

    # The 40 m square is a circle of 22.6 m radius.
    assert enter(8.0) is Confidence.HIGH
    assert enter(15.0) is Confidence.MEDIUM
    assert enter(60.0) is Confidence.LOW


def test_a_fix_agreeing_with_the_stores_beacon_is_high() -> None:
    heard = Presence(
        zones={"beacon:10:till": ZoneVisit(NOW - 50.0)},
        last_at={"beacon": NOW - 40.0},
    )
    tracked, _ = track_fixes(heard, [Fix(LON0, LAT0, 60.0, NOW)], index=INDEX, rules=RULES, now=NOW)
    assert [e.confidence for e in tracked.events] == [Confidence.HIGH]
    # Heard too long ago, or another store's beacon: the fix alone.
    old = Presence(zones=heard.zones, last_at={"beacon": NOW - 1000.0})
    other = Presence(zones={"beacon:99:till": heard.zones["beacon:10:till"]}, last_at=heard.last_at)
    for state in (old, other):
        tracked, _ = track_fixes(
            state, [Fix(LON0, LAT0, 60.0, NOW)], index=INDEX, rules=RULES, now=NOW
        )
        assert [e.confidence for e in tracked.events] == [Confidence.LOW]
