"""Per-event confidence, pure: the thresholds, the order an offer's condition uses, and
what each source gives its events (beacon proximity, an NFC tap, agreement)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from shapely.geometry import Point

from beacons.tracking import Placed, SightingRules, track_sightings
from beacons.zones import Sighting, ZoneRules
from geofence.core import Fence, GeofenceIndex
from nfc.core import tap
from presence.confidence import (
    AGREEMENT_S,
    Confidence,
    agreeing_stores,
    equivalent_radius_m,
    meets,
    of_fix,
    of_proximity,
)
from presence.core import Presence, Transition, ZoneEvent, ZoneVisit, expire

NOW = 1_800_000_000.0
levels = st.sampled_from(list(Confidence))


@pytest.mark.parametrize(
    ("accuracy_m", "radius_m", "expected"),
    [
        (5.0, 50.0, Confidence.HIGH),
        (20.0, 40.0, Confidence.HIGH),  # both bounds, inclusive
        (21.0, 100.0, Confidence.MEDIUM),  # past FIX_HIGH_M however large the fence
        (20.0, 39.0, Confidence.MEDIUM),  # more than half the fence
        (65.0, 65.0, Confidence.MEDIUM),
        (66.0, 500.0, Confidence.LOW),  # past FIX_MEDIUM_M
        (30.0, 29.0, Confidence.LOW),  # the accuracy is larger than the fence
    ],
)
def test_a_fix_is_rated_by_its_accuracy_against_the_fence(
    accuracy_m: float, radius_m: float, expected: Confidence
) -> None:
    assert of_fix(accuracy_m, radius_m) is expected


@given(st.floats(0.0, 1000.0), st.floats(0.0, 1000.0), st.floats(0.0, 1000.0))
def test_a_better_fix_or_a_larger_fence_is_never_less_sure(
    accuracy_m: float, better_by: float, radius_m: float
) -> None:
    worse = of_fix(accuracy_m + better_by, radius_m)
    assert of_fix(accuracy_m, radius_m).level >= worse.level
    assert of_fix(accuracy_m, radius_m + better_by).level >= of_fix(accuracy_m, radius_m).level


@given(levels, levels)
def test_an_offer_condition_is_low_below_medium_below_high(
    event: Confidence, minimum: Confidence
) -> None:
    assert meets(event, minimum) == (event.level >= minimum.level)
    assert meets(event, None)
    assert meets(Confidence.HIGH, minimum)


def test_levels_are_radars_one_to_three() -> None:
    assert [c.level for c in (Confidence.LOW, Confidence.MEDIUM, Confidence.HIGH)] == [1, 2, 3]


def test_beacon_proximity_and_the_equivalent_radius() -> None:
    assert of_proximity("immediate") is Confidence.HIGH
    assert of_proximity("near") is Confidence.MEDIUM
    assert of_proximity("far") is Confidence.LOW
    assert of_proximity(None) is Confidence.LOW
    assert equivalent_radius_m(3.141592653589793 * 100.0) == pytest.approx(10.0)


def test_agreement_needs_another_source_at_the_same_store_recently() -> None:
    zones = ["beacon:7:till", "geofence:3", "nfc:8:counter"]
    last_at = {"beacon": NOW - 10.0, "geofence": NOW, "nfc": NOW - AGREEMENT_S - 1.0}

    def store_of(zone: str) -> int | None:
        return {"geofence:3": 9}.get(zone, int(zone.split(":")[1]))

    found = agreeing_stores(
        zones, last_at, kinds=frozenset({"beacon", "nfc"}), at=NOW, store_of=store_of
    )
    assert found == {7}  # the tap is too old, the geofence is not a kind asked for


def test_a_tap_is_high_and_a_timeout_low() -> None:
    tapped = tap(Presence(), store_id=4, placement="counter", at=NOW)
    assert [(e.transition, e.confidence) for e in tapped.events] == [
        (Transition.ENTER, Confidence.HIGH)
    ]
    _, timeouts = expire(tapped.presence, now=NOW + 10_000.0, stale_s=600.0)
    assert [(e.timeout, e.confidence) for e in timeouts] == [(True, Confidence.LOW)]
    assert ZoneEvent("geofence:1", Transition.ENTER, NOW).confidence is Confidence.LOW


RULES = SightingRules(
    zones=ZoneRules(),
    dwell_s=120.0,
    max_age_s=900.0,
    max_fix_distance_m=1000.0,
    track_ttl_s=600.0,
    silent_after_s=3600.0,
    low_battery_mv=2400,
)
SHOP = Fence(3, 7, Point(2.347, 48.86), 50.0, 300)


def _heard(state: Presence, rssi: float) -> ZoneEvent:
    placed = Placed(1, 7, "beacon:7:till", -59, 2.347, 48.86)
    tracked, _, _ = track_sightings(
        state,
        {},
        [(Sighting("ibeacon:x", None, rssi, NOW), placed)],
        index=GeofenceIndex([SHOP]),
        rules=RULES,
        now=NOW,
    )
    (event,) = tracked.events
    return event


def test_a_beacon_zone_is_rated_by_proximity_or_raised_by_the_stores_geofence() -> None:
    assert _heard(Presence(), -45.0).confidence is Confidence.HIGH  # immediate
    assert _heard(Presence(), -60.0).confidence is Confidence.MEDIUM  # near
    in_fence = Presence(zones={"geofence:3": ZoneVisit(NOW - 60.0)}, last_at={"geofence": NOW - 30})
    assert _heard(in_fence, -60.0).confidence is Confidence.HIGH
