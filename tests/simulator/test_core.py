"""The simulator's pure core: walks, GPS noise, beacons, taps, batching, determinism."""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter

import pytest

from simulator.core import (
    BEACON_RANGE_M,
    WALK_SPEED_M_S,
    BadFix,
    Beacon,
    Behaviour,
    Fix,
    Frame,
    Send,
    Shop,
    Sighting,
    Tap,
    behaviours,
    catch_up,
    plan,
    shopper,
)
from simulator.sensors import GpsNoise, rssi_at

SHOPS = [
    Shop(i, 2.340 + 0.003 * (i % 5), 48.855 + 0.002 * (i // 5), Beacon("u", i, 1), f"5E{i:012X}")
    for i in range(1, 21)
]
FRAME = Frame(SHOPS[0].lon, SHOPS[0].lat)


def _sends(index: int, behaviour: Behaviour, duration_s: float = 600.0) -> list[Send]:
    return list(shopper(SHOPS, behaviour, f"7:{index}", duration_s))


def test_the_same_seed_walks_the_same_way_and_another_seed_does_not() -> None:
    behaviour = Behaviour(tick_s=2.0, batch=3, bad_share=0.05, tap_share=0.5)
    assert _sends(1, behaviour) == _sends(1, behaviour)
    assert _sends(1, behaviour) != _sends(2, behaviour)


def test_phones_add_up_to_the_chosen_rate() -> None:
    users, rate, duration = 100, 40.0, 120.0
    phones = behaviours(users, rate, 3, batch_share=0.3, bad_share=0.0)
    events = sum(
        len(send.events)
        for i, phone in enumerate(phones)
        for send in shopper(SHOPS, phone, f"3:{i}", duration)
    )
    assert events == pytest.approx(rate * duration, rel=0.03)
    assert 0.15 < sum(p.batch > 1 for p in phones) / users < 0.45


def test_legs_are_walked_at_walking_speed_and_visits_last_minutes() -> None:
    for seed in range(20):
        itinerary = plan(SHOPS, FRAME, random.Random(seed), until=3_600.0, tap_share=0.5)
        for leg in itinerary.legs:
            length = sum(math.dist(a, b) for a, b in zip(leg.points, leg.points[1:], strict=False))
            if leg.end > leg.start:
                assert WALK_SPEED_M_S[0] - 1e-9 <= length / (leg.end - leg.start)
                assert length / (leg.end - leg.start) <= WALK_SPEED_M_S[1] + 1e-9
        for stop in itinerary.stops:
            assert 120.0 <= stop.end - stop.start <= 480.0
        # Legs and stops alternate without gaps: the shopper is always somewhere.
        times = sorted(
            [(leg.start, leg.end) for leg in itinerary.legs]
            + [(stop.start, stop.end) for stop in itinerary.stops]
        )
        for (_, end), (start, _) in itertools.pairwise(times):
            assert start == pytest.approx(end)


def test_reported_accuracy_is_what_phones_report_and_holds_the_truth_68_percent() -> None:
    noise, rng = GpsNoise(random.Random(5)), random.Random(6)
    outdoor = [noise.accuracy(indoors=False) for _ in range(5_000)]
    indoor = [noise.accuracy(indoors=True) for _ in range(5_000)]
    assert 6.0 < sorted(outdoor)[2_500] < 11.0  # median around 8 m
    assert sorted(indoor)[2_500] > 25.0  # worse indoors
    assert 0.01 < sum(a >= 100 for a in outdoor + indoor) / 10_000 < 0.03  # network fixes
    assert all(3.0 <= a <= 300.0 for a in outdoor + indoor)
    # Independent draws (a period apart): the error's 68 % radius is the reported accuracy.
    inside = 0
    for n in range(4_000):
        noise = GpsNoise(rng)
        ex, ey = noise.error(float(n), 10.0)
        inside += math.hypot(ex, ey) <= 10.0
    assert inside / 4_000 == pytest.approx(0.68, abs=0.03)


def test_the_error_drifts_rather_than_jumping_between_close_fixes() -> None:
    noise = GpsNoise(random.Random(8))
    errors = [noise.error(t, 10.0) for t in range(0, 200)]
    steps = [math.dist(a, b) for a, b in itertools.pairwise(errors)]
    assert sum(steps) / len(steps) < 4.0  # a 1 s step moves it far less than its 6.6 m sigma


def test_rssi_falls_with_distance_by_the_path_loss_model() -> None:
    rng = random.Random(1)
    near = sum(rssi_at(1.0, rng) for _ in range(500)) / 500
    far = sum(rssi_at(10.0, rng) for _ in range(500)) / 500
    assert near == pytest.approx(-59, abs=1)
    assert near - far == pytest.approx(25, abs=1.5)  # 10·n dB per decade, n = 2.5
    assert all(-105 <= rssi_at(d, rng) <= -30 for d in (0.0, 0.1, 1e3, 1e6))


def test_sightings_come_from_the_shop_being_visited_within_range_and_taps_once_per_visit() -> None:
    behaviour = Behaviour(tick_s=1.0, batch=1, bad_share=0.0, tap_share=1.0)
    sends = _sends(3, behaviour, 1_800.0)
    taps = [e for s in sends for e in s.events if isinstance(e, Tap)]
    sightings = [e for s in sends for e in s.events if isinstance(e, Sighting)]
    assert sightings
    assert taps
    # One tap per visit: visits last at least two minutes.
    assert all(b.at - a.at >= 120.0 for a, b in itertools.pairwise(taps))
    weakest = rssi_at(BEACON_RANGE_M, random.Random(0))
    assert all(s.rssi >= weakest - 20 for s in sightings)  # heard only within BLE range


def test_bad_fixes_are_the_configured_share_and_a_fix_without_accuracy_travels_alone() -> None:
    behaviour = Behaviour(tick_s=1.0, batch=5, bad_share=0.1, tap_share=0.0)
    sends = [s for i in range(10) for s in _sends(i, behaviour, 600.0)]
    fixes = [e for s in sends for e in s.events if isinstance(e, Fix)]
    kinds = Counter(f.bad for f in fixes if f.bad is not None)
    assert sum(kinds.values()) / len(fixes) == pytest.approx(0.1, abs=0.02)
    assert set(kinds) == set(BadFix)
    for send in sends:
        assert len(send.events) <= 5
        assert len({type(e) for e in send.events}) == 1  # fixes or sightings, never both
        if any(isinstance(e, Fix) and e.accuracy_m is None for e in send.events):
            assert len(send.events) == 1
    jumps = [f for f in fixes if f.bad is BadFix.JUMP]
    assert all(math.hypot(*FRAME.to_m(f.lon, f.lat)) > 1_500 for f in jumps)


def test_sends_are_in_time_order_and_within_the_run() -> None:
    behaviour = Behaviour(tick_s=0.5, batch=4, bad_share=0.05, tap_share=0.5)
    sends = _sends(4, behaviour, 120.0)
    assert [s.at for s in sends] == sorted(s.at for s in sends)
    assert all(0.0 <= s.at <= 120.0 for s in sends)


def test_a_phone_behind_schedule_sends_its_due_backlog_as_one_batch() -> None:
    fix = [Send(float(t), (Fix(48.85, 2.34, 10.0, float(t)),)) for t in range(6)]
    alone = Send(6.0, (Fix(48.85, 2.34, None, 6.0),))
    tap = Send(7.0, (Tap("5E000000000001", 1, 7.0),))
    rest = iter([*fix[1:], alone, tap])
    merged, following = catch_up(fix[0], rest, now=3.5, max_batch=100)
    assert [e.at for e in merged.events] == [0.0, 1.0, 2.0, 3.0]
    assert following == fix[4]
    merged, following = catch_up(fix[4], rest, now=10.0, max_batch=100)
    assert len(merged.events) == 2  # the fix without accuracy still travels alone
    assert following == alone
    merged, following = catch_up(alone, rest, now=10.0, max_batch=100)
    assert (merged, following) == (alone, tap)
    on_time = iter(fix[2:])
    assert catch_up(fix[1], on_time, now=1.0, max_batch=100) == (fix[1], fix[2])
    capped = iter(fix[1:])
    assert len(catch_up(fix[0], capped, now=10.0, max_batch=3)[0].events) == 3
