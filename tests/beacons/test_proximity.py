"""RSSI smoothing, distance, proximity and calibration (beacons.proximity)."""

import random
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from beacons.frames import EddystoneUid, parse_ibeacon
from beacons.proximity import (
    DEFAULT_MEASURED_POWER_1M,
    Proximity,
    SmoothedRssi,
    calibration,
    classify,
    distance_m,
    median_measured_power,
    update,
)

# RSSI smoothing


def noisy_readings(true_rssi: float, count: int, seed: int = 7) -> list[float]:
    """Readings scattered like BLE RSSI: about +-10 dB at two standard deviations."""
    rng = random.Random(seed)
    return [true_rssi + rng.gauss(0, 5) for _ in range(count)]


def smooth(readings: list[float], start_s: float = 0.0, every_s: float = 1.0) -> list[SmoothedRssi]:
    state = SmoothedRssi.start(readings[0], start_s)
    states = [state]
    for i, rssi in enumerate(readings[1:], start=1):
        state = update(state, rssi, start_s + i * every_s)
        states.append(state)
    return states


def test_first_reading_is_as_uncertain_as_a_reading() -> None:
    state = SmoothedRssi.start(-70, 12.0, r=16.0)

    assert (state.rssi, state.variance, state.at_s) == (-70, 16.0, 12.0)


def test_kalman_converges_on_the_true_rssi() -> None:
    readings = noisy_readings(-70, 120)
    states = smooth(readings)
    settled = [s.rssi for s in states[30:]]

    assert abs(states[-1].rssi + 70) < 2.5
    assert statistics.pstdev(settled) < statistics.pstdev(readings) / 2
    assert states[-1].variance < states[0].variance / 4


def test_kalman_follows_a_step_change() -> None:
    states = smooth(noisy_readings(-60, 60) + noisy_readings(-80, 60, seed=8))

    assert abs(states[59].rssi + 60) < 3
    assert abs(states[-1].rssi + 80) < 3


def test_longer_silence_trusts_the_new_reading_more() -> None:
    state = smooth(noisy_readings(-70, 30))[-1]

    soon = update(state, -50, state.at_s + 1)
    late = update(state, -50, state.at_s + 120)

    assert soon.rssi < late.rssi < -50


def test_late_reading_does_not_rewind_the_clock() -> None:
    state = SmoothedRssi.start(-70, 100.0)

    late = update(state, -60, 95.0)

    assert late.at_s == 100.0
    assert -70 < late.rssi < -60
    assert state == SmoothedRssi.start(-70, 100.0)


@given(
    st.floats(-100, -30),
    st.lists(st.tuples(st.floats(-100, -30), st.floats(0, 60)), min_size=1, max_size=30),
)
def test_estimate_stays_within_the_readings(
    first: float, readings: list[tuple[float, float]]
) -> None:
    state = SmoothedRssi.start(first, 0.0)
    seen = [first]
    for rssi, gap in readings:
        state = update(state, rssi, state.at_s + gap)
        seen.append(rssi)
        assert min(seen) - 1e-9 <= state.rssi <= max(seen) + 1e-9
        assert state.variance > 0


# Distance and proximity


@pytest.mark.parametrize(
    ("rssi", "power", "exponent", "metres"),
    [
        (-59, -59, 2.0, 1.0),
        (-79, -59, 2.0, 10.0),
        (-99, -59, 4.0, 10.0),
        (-53, -59, 2.0, 0.501187),
        (-65, -59, 3.0, 1.584893),
    ],
)
def test_distance_follows_log_distance_path_loss(
    rssi: float, power: float, exponent: float, metres: float
) -> None:
    assert distance_m(rssi, power, exponent) == pytest.approx(metres, rel=1e-5)


def test_eddystone_distance_uses_power_at_one_metre() -> None:
    frame = EddystoneUid(-18, bytes(10), bytes(6))

    assert distance_m(-59, frame.measured_power_1m) == pytest.approx(1.0)


def test_impossible_ibeacon_power_byte_falls_back_to_the_default_calibration() -> None:
    # 0x74 reads +116 dBm at 1 m; BLE transmits at most +20 dBm. Taken at face value it
    # puts a beacon heard at -60 dBm some 3 km away, so it could never be entered.
    frame = parse_ibeacon(bytes.fromhex("0215" + "00" * 16 + "0001" + "0002" + "74"))

    assert frame.measured_power_1m == 116
    assert calibration(frame.measured_power_1m) is None
    assert distance_m(-60, frame.measured_power_1m) == distance_m(-60, DEFAULT_MEASURED_POWER_1M)
    assert classify(distance_m(-60, frame.measured_power_1m)) is Proximity.NEAR


@pytest.mark.parametrize(
    ("power", "usable"),
    [(-100, True), (20, True), (-59, True), (-101, False), (21, False), (116, False)],
)
def test_calibration_outside_minus_100_to_plus_20_dbm_is_missing(power: int, usable: bool) -> None:
    assert (calibration(power) == power) is usable
    assert calibration(None) is None


@given(st.floats(-120, 0), st.floats(-120, 0), st.floats(-100, 0))
def test_weaker_signal_means_farther(a: float, b: float, power: float) -> None:
    stronger, weaker = max(a, b), min(a, b)

    assert distance_m(weaker, power) >= distance_m(stronger, power)


@pytest.mark.parametrize("exponent", [0.0, -2.0])
def test_distance_rejects_non_positive_exponent(exponent: float) -> None:
    with pytest.raises(ValueError, match="path-loss exponent"):
        distance_m(-70, -59, exponent)


@pytest.mark.parametrize(
    ("metres", "proximity"),
    [
        (0.0, Proximity.IMMEDIATE),
        (0.49, Proximity.IMMEDIATE),
        (0.5, Proximity.NEAR),
        (2.99, Proximity.NEAR),
        (3.0, Proximity.FAR),
        (250.0, Proximity.FAR),
    ],
)
def test_classify_by_distance(metres: float, proximity: Proximity) -> None:
    assert classify(metres) is proximity


def test_smoothed_reading_classifies_a_shopper_at_the_shelf() -> None:
    # Readings around -59 dBm from a beacon measured at -59 dBm at 1 m: about 1 m away.
    state = smooth(noisy_readings(-59, 60))[-1]

    assert classify(distance_m(state.rssi, -59)) is Proximity.NEAR


# Calibration


@pytest.mark.parametrize(
    ("samples", "power"),
    [
        ([-59, -60, -58, -90, -30], -59),
        ([-60, -61], -60),  # -60.5 rounds half to even
        ([-59.4], -59),
    ],
)
def test_median_measured_power_ignores_outliers(samples: list[float], power: int) -> None:
    assert median_measured_power(samples) == power


def test_median_measured_power_needs_samples() -> None:
    with pytest.raises(ValueError, match="no RSSI samples"):
        median_measured_power([])
