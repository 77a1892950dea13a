"""Pure zone rules (beacons.zones.observe_zones) and the in-memory sighting store."""

from __future__ import annotations

from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from beacons.frames import EddystoneEid, EddystoneTlm, IBeacon, MalformedFrame
from beacons.proximity import SmoothedRssi
from beacons.store import MemorySightingStore
from beacons.zones import (
    BeaconTrack,
    Reading,
    ZoneRules,
    observe_zones,
    sighting_from_frames,
    store_of_zone,
    zone_of,
)
from presence.core import Presence, Transition, advance

AISLE = zone_of(7, "shoe aisle")
TILL = zone_of(7, "till")
RULES = ZoneRules(path_loss_exponent=2.0, exit_distance_m=8.0, exit_after_s=30.0)


def reading(rssi: float, at: float, beacon_id: int = 1, zone: str = AISLE) -> Reading:
    return Reading(beacon_id, zone, -59, rssi, at)


def track(rssi: float, at: float, zone: str = AISLE) -> BeaconTrack:
    return BeaconTrack(zone, -59, SmoothedRssi(rssi, 1.0, at))


def test_zone_keys_name_the_store() -> None:
    assert AISLE == "beacon:7:shoe aisle"
    assert store_of_zone(AISLE) == 7
    assert store_of_zone("beacon:7:a:b") == 7
    assert store_of_zone("geofence:7") is None
    assert store_of_zone("beacon:x:aisle") is None


def test_near_enters_and_far_does_not() -> None:
    near = observe_zones({}, [reading(-60, 10.0)], (), RULES)
    assert near.observation is not None
    assert near.observation.inside == {AISLE}
    far = observe_zones({}, [reading(-85, 10.0)], (), RULES)
    assert far.observation is not None
    assert far.observation.inside == frozenset()
    assert far.proximity == {AISLE: "far"}


def test_a_beacon_registered_with_an_impossible_power_can_still_be_entered() -> None:
    # +116 dBm at 1 m (iBeacon power byte 0x74) counts as uncalibrated, not as 3 km away.
    impossible = Reading(1, AISLE, 116, -60, 10.0)
    report = observe_zones({}, [impossible], (), RULES)
    assert report.observation is not None
    assert report.observation.inside == {AISLE}
    assert report.proximity == {AISLE: "near"}


def test_a_zone_is_as_near_as_its_nearest_beacon() -> None:
    report = observe_zones({}, [reading(-90, 5.0, 1), reading(-52, 5.0, 2)], (), RULES)
    assert report.proximity == {AISLE: "immediate"}


def test_far_within_the_band_holds_and_beyond_it_exits() -> None:
    held = observe_zones({1: track(-70, 0.0)}, [reading(-73, 1.0)], [AISLE], RULES)
    assert held.proximity == {AISLE: "far"}
    assert held.observation is not None
    assert held.observation.holding == {AISLE}
    strong_far = {1: BeaconTrack(AISLE, -59, SmoothedRssi(-85, 0.1, 0.0))}
    gone = observe_zones(strong_far, [reading(-90, 1.0)], [AISLE], RULES)
    assert gone.observation is not None
    assert AISLE not in gone.observation.holding | gone.observation.inside


def test_silence_is_tolerated_for_exit_after_s_only() -> None:
    tracks = {1: track(-55, 100.0)}
    soon = observe_zones(tracks, [reading(-80, 120.0, 2, TILL)], [AISLE], RULES)
    assert soon.observation is not None
    assert soon.observation.holding == {AISLE}
    late = observe_zones(tracks, [reading(-80, 131.0, 2, TILL)], [AISLE], RULES)
    assert late.observation is not None
    assert late.observation.holding == frozenset()


def test_other_sources_zones_are_never_held_by_beacons() -> None:
    report = observe_zones({}, [reading(-60, 1.0)], ["geofence:3"], RULES)
    assert report.observation is not None
    assert report.observation.holding == frozenset()


def test_through_the_presence_machine_enter_then_exit() -> None:
    state = Presence()
    first = observe_zones({}, [reading(-58, 1.0), reading(-57, 2.0)], (), RULES)
    assert first.observation is not None
    state, events = advance(state, first.observation, {})
    assert [(e.zone, e.transition) for e in events] == [(AISLE, Transition.ENTER)]
    later = observe_zones(first.tracks, [reading(-80, 40.0, 2, TILL)], state.zones, RULES)
    assert later.observation is not None
    state, events = advance(state, later.observation, {})
    assert [(e.zone, e.transition) for e in events] == [(AISLE, Transition.EXIT)]


def test_empty_batch_observes_nothing() -> None:
    report = observe_zones({1: track(-60, 0.0)}, [], [AISLE], RULES)
    assert report.observation is None
    assert report.tracks == {1: track(-60, 0.0)}


@given(
    st.lists(
        st.tuples(st.integers(1, 4), st.integers(-100, -40), st.floats(0, 1000)),
        min_size=1,
        max_size=30,
    )
)
def test_observation_is_at_the_newest_reading_and_enters_only_heard_zones(
    raw: list[tuple[int, int, float]],
) -> None:
    readings = [reading(rssi, at, beacon, zone_of(1, f"z{beacon % 2}")) for beacon, rssi, at in raw]
    report = observe_zones({}, readings, (), RULES)
    assert report.observation is not None
    assert report.observation.at == max(r.at_s for r in readings)
    assert report.observation.inside <= {r.zone for r in readings}
    assert set(report.tracks) == {r.beacon_id for r in readings}
    for beacon_id, t in report.tracks.items():
        assert t.rssi.at_s == max(r.at_s for r in readings if r.beacon_id == beacon_id)


def test_sighting_prefers_a_static_id_and_keeps_telemetry() -> None:
    ibeacon = IBeacon(UUID(int=1), 1, 2, -59)
    eid = EddystoneEid(-20, bytes(8))
    tlm = EddystoneTlm(3000, 20.0, 1, 1)
    both = sighting_from_frames([eid, ibeacon, tlm], -60, 5.0)
    assert (both.identity, both.eid, both.tlm) == (ibeacon.identity, None, tlm)
    only_eid = sighting_from_frames([eid], -60, 5.0)
    assert (only_eid.identity, only_eid.eid) == (None, bytes(8))
    with pytest.raises(MalformedFrame, match="no iBeacon"):
        sighting_from_frames([tlm], -60, 5.0)


def test_memory_store_round_trips_tracks_and_guards_replays() -> None:
    store = MemorySightingStore(track_ttl_s=60, replay_ttl_s=60)
    tracks = {3: BeaconTrack(AISLE, -61, SmoothedRssi(-63.5, 4.2, 17.0, q=2.0, r=20.0))}
    store.save_tracks(5, tracks)
    assert store.load_tracks(5) == tracks
    assert store.load_tracks(6) == {}
    assert store.first_seen(["a", "b", "a"]) == [True, True, False]
    assert store.first_seen(["b", "c"]) == [False, True]
    assert store.first_seen(["5:3:1000", "6:3:1000"]) == [True, True]
    store.clear(5)
    assert store.load_tracks(5) == {}
    assert store.first_seen(["5:3:1000", "6:3:1000"]) == [True, False]
