import json
from collections.abc import Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernel.errors import Invalid
from presence.core import (
    Observation,
    Presence,
    Transition,
    ZoneEvent,
    ZoneKey,
    ZoneVisit,
    advance,
    clock_offset,
    expire,
    is_newer,
    stale_since,
)

SHOP = str(ZoneKey("geofence", 1))
MALL = str(ZoneKey("geofence", 2))
BEACON = str(ZoneKey("beacon", 3, "aisle"))
DWELL = {SHOP: 300.0, MALL: 600.0, BEACON: 60.0}


def gps(at: float, *inside: str, holding: tuple[str, ...] = ()) -> Observation:
    return Observation("geofence", at, frozenset(inside), frozenset(holding))


def ble(at: float, *inside: str, holding: tuple[str, ...] = ()) -> Observation:
    return Observation("beacon", at, frozenset(inside), frozenset(holding))


def run(
    observations: list[Observation],
    dwell: Mapping[str, float] = DWELL,
    presence: Presence | None = None,
) -> tuple[Presence, list[ZoneEvent]]:
    state = presence or Presence()
    events: list[ZoneEvent] = []
    for obs in observations:
        state, new = advance(state, obs, dwell)
        events.extend(new)
    return state, events


def moves(events: list[ZoneEvent]) -> list[tuple[str, Transition, float]]:
    return [(e.zone, e.transition, e.at) for e in events]


def test_zone_key_round_trips_its_string_form() -> None:
    assert str(ZoneKey("geofence", 7)) == "geofence:7"
    assert str(ZoneKey("beacon", 7, "a:b")) == "beacon:7:a:b"
    for key in (ZoneKey("geofence", 7), ZoneKey("beacon", 7, "a:b"), ZoneKey("beacon", 7, "")):
        assert ZoneKey.parse(str(key)) == key
    for bad in ("geofence", "geofence:", "geofence:x", ":7", "beacon:²:a", "beacon:-1:a"):
        with pytest.raises(ValueError, match="not a zone key"):
            ZoneKey.parse(bad)


def test_stale_zones_exit_marked_timeout_at_the_last_observation() -> None:
    state, _ = run([gps(100.0, SHOP), ble(700.0, BEACON)])
    assert stale_since(state) == 100.0
    assert expire(state, now=700.0, stale_s=600.0) == (state, [])
    after, events = expire(state, now=701.0, stale_s=600.0)
    assert events == [ZoneEvent(SHOP, Transition.EXIT, 100.0, timeout=True)]
    assert after.zones.keys() == {BEACON}
    assert after.last_at == state.last_at  # a late fix stays out of order
    assert stale_since(after) == 700.0
    assert stale_since(Presence()) is None


def test_a_clock_a_little_ahead_is_shifted_back_one_far_ahead_refused() -> None:
    assert clock_offset([90.0, 99.0], now=100.0, max_skew_s=30.0) == 0.0
    assert clock_offset([110.0, 120.0], now=100.0, max_skew_s=30.0) == 20.0
    assert clock_offset([], now=100.0, max_skew_s=30.0) == 0.0
    with pytest.raises(Invalid, match="in the future"):
        clock_offset([131.0], now=100.0, max_skew_s=30.0)


def test_enter_when_a_zone_appears() -> None:
    state, events = advance(Presence(), gps(100.0, SHOP), DWELL)
    assert moves(events) == [(SHOP, Transition.ENTER, 100.0)]
    assert state.zones == {SHOP: ZoneVisit(100.0)}
    assert state.last_at == {"geofence": 100.0}


def test_enter_several_zones_in_key_order() -> None:
    _, events = advance(Presence(), gps(1.0, MALL, SHOP), DWELL)
    assert moves(events) == [(SHOP, Transition.ENTER, 1.0), (MALL, Transition.ENTER, 1.0)]


def test_staying_inside_is_silent() -> None:
    state, events = run([gps(1.0, SHOP), gps(2.0, SHOP), gps(3.0, SHOP)])
    assert moves(events) == [(SHOP, Transition.ENTER, 1.0)]
    assert state.zones[SHOP].entered_at == 1.0


def test_exit_when_a_zone_of_the_source_is_gone() -> None:
    state, events = run([gps(1.0, SHOP), gps(2.0)])
    assert moves(events) == [(SHOP, Transition.ENTER, 1.0), (SHOP, Transition.EXIT, 2.0)]
    assert state.zones == {}
    assert state.last_at == {"geofence": 2.0}


def test_moving_between_zones_exits_before_it_enters() -> None:
    _, events = run([gps(1.0, SHOP), gps(2.0, MALL)])
    assert moves(events)[1:] == [(SHOP, Transition.EXIT, 2.0), (MALL, Transition.ENTER, 2.0)]


def test_reentry_after_exit_is_a_new_visit() -> None:
    state, events = run([gps(1.0, SHOP), gps(2.0), gps(3.0, SHOP)])
    assert [e.transition for e in events] == [Transition.ENTER, Transition.EXIT, Transition.ENTER]
    assert state.zones[SHOP] == ZoneVisit(3.0)


def test_no_dwell_before_dwell_s() -> None:
    state, events = run([gps(1000.0, SHOP), gps(1299.0, SHOP)])
    assert [e.transition for e in events] == [Transition.ENTER]
    assert not state.zones[SHOP].dwelled


def test_dwell_exactly_at_dwell_s() -> None:
    state, events = run([gps(1000.0, SHOP), gps(1300.0, SHOP)])
    assert moves(events)[1:] == [(SHOP, Transition.DWELL, 1300.0)]
    assert state.zones[SHOP] == ZoneVisit(1000.0, dwelled=True)


def test_dwell_fires_on_the_first_observation_past_dwell_s() -> None:
    _, events = run([gps(1000.0, SHOP), gps(1100.0, SHOP), gps(1900.0, SHOP)])
    assert moves(events)[1:] == [(SHOP, Transition.DWELL, 1900.0)]


def test_dwell_only_once_per_visit() -> None:
    times = [1000.0, 1300.0, 1600.0, 5000.0]
    _, events = run([gps(t, SHOP) for t in times])
    assert [e.transition for e in events] == [Transition.ENTER, Transition.DWELL]


def test_dwell_again_on_a_new_visit() -> None:
    times = [
        (0.0, True),
        (300.0, True),
        (301.0, False),
        (400.0, True),
        (699.0, True),
        (700.0, True),
    ]
    _, events = run([gps(t, SHOP) if inside else gps(t) for t, inside in times])
    assert moves(events) == [
        (SHOP, Transition.ENTER, 0.0),
        (SHOP, Transition.DWELL, 300.0),
        (SHOP, Transition.EXIT, 301.0),
        (SHOP, Transition.ENTER, 400.0),
        (SHOP, Transition.DWELL, 700.0),
    ]


def test_dwell_while_holding() -> None:
    _, events = run([gps(0.0, SHOP), gps(400.0, holding=(SHOP,))])
    assert moves(events)[1:] == [(SHOP, Transition.DWELL, 400.0)]


def test_zone_without_dwell_time_never_dwells() -> None:
    _, events = run([gps(0.0, SHOP), gps(1e9, SHOP)], dwell={})
    assert [e.transition for e in events] == [Transition.ENTER]


def test_zero_dwell_fires_on_the_next_observation() -> None:
    _, events = run([gps(5.0, SHOP), gps(6.0, SHOP)], dwell={SHOP: 0.0})
    assert [e.transition for e in events] == [Transition.ENTER, Transition.DWELL]


def test_dwell_and_exit_in_one_observation_keep_dwell_first() -> None:
    _, events = run([gps(0.0, SHOP, MALL), gps(300.0, SHOP)])
    assert moves(events)[2:] == [(SHOP, Transition.DWELL, 300.0), (MALL, Transition.EXIT, 300.0)]


def test_holding_zone_does_not_exit() -> None:
    state, events = run([gps(1.0, SHOP), gps(2.0, holding=(SHOP,)), gps(3.0, holding=(SHOP,))])
    assert [e.transition for e in events] == [Transition.ENTER]
    assert SHOP in state.zones


def test_exit_once_the_holding_band_is_left() -> None:
    _, events = run([gps(1.0, SHOP), gps(2.0, holding=(SHOP,)), gps(3.0)])
    assert moves(events)[1:] == [(SHOP, Transition.EXIT, 3.0)]


def test_holding_alone_never_enters() -> None:
    state, events = advance(Presence(), gps(1.0, holding=(SHOP,)), DWELL)
    assert events == []
    assert state.zones == {}
    assert state.last_at == {"geofence": 1.0}


def test_geofence_observation_never_exits_a_beacon_zone() -> None:
    state, events = run([ble(1.0, BEACON), gps(2.0), gps(3.0, SHOP), gps(4.0)])
    assert BEACON in state.zones
    assert all(e.zone != BEACON for e in events[1:])


def test_beacon_observation_never_exits_a_geofence_zone() -> None:
    state, events = run([gps(1.0, SHOP), ble(2.0, BEACON), ble(3.0)])
    assert moves(events) == [
        (SHOP, Transition.ENTER, 1.0),
        (BEACON, Transition.ENTER, 2.0),
        (BEACON, Transition.EXIT, 3.0),
    ]
    assert set(state.zones) == {SHOP}


def test_a_source_dwells_only_its_own_zones() -> None:
    _, events = run([ble(0.0, BEACON), gps(1000.0, SHOP)])
    assert all(e.transition is not Transition.DWELL for e in events)


def test_sources_keep_separate_clocks() -> None:
    state, events = run([gps(100.0, SHOP), ble(50.0, BEACON)])
    assert [e.transition for e in events] == [Transition.ENTER, Transition.ENTER]
    assert state.last_at == {"geofence": 100.0, "beacon": 50.0}


def test_replay_of_the_same_time_is_ignored() -> None:
    state, _ = run([gps(10.0, SHOP)])
    after, events = advance(state, gps(10.0), DWELL)
    assert events == []
    assert after is state


def test_out_of_order_observation_is_ignored() -> None:
    state, _ = run([gps(10.0, SHOP), gps(20.0, SHOP)])
    for obs in (gps(15.0), gps(5.0, MALL), gps(15.0, SHOP)):
        after, events = advance(state, obs, DWELL)
        assert events == []
        assert after is state


def test_late_observation_does_not_dwell() -> None:
    state, _ = run([gps(0.0, SHOP), gps(100.0, SHOP)])
    _, events = advance(state, gps(50.0, SHOP), {SHOP: 10.0})
    assert events == []


def test_is_newer() -> None:
    state = Presence(last_at={"geofence": 10.0})
    assert is_newer(state, "geofence", 10.5)
    assert not is_newer(state, "geofence", 10.0)
    assert not is_newer(state, "geofence", 9.0)
    assert is_newer(state, "beacon", -1e12)


def test_advance_does_not_mutate_its_input() -> None:
    state, _ = run([gps(0.0, SHOP, MALL)])
    zones, last_at = dict(state.zones), dict(state.last_at)
    advance(state, gps(1000.0, SHOP), DWELL)
    assert state.zones == zones
    assert state.last_at == last_at


def test_presence_json_round_trip() -> None:
    state, _ = run([gps(0.0, SHOP, MALL), gps(300.5, SHOP, MALL), ble(12.25, BEACON)])
    data = json.loads(json.dumps(state.to_json()))
    assert data == {
        "zones": {SHOP: [0.0, True], MALL: [0.0, False], BEACON: [12.25, False]},
        "last_at": {"geofence": 300.5, "beacon": 12.25},
    }
    again = Presence.from_json(data)
    assert again == state
    assert again.zones[SHOP] == ZoneVisit(0.0, dwelled=True)


def test_presence_from_json_tolerates_missing_keys_and_ints() -> None:
    assert Presence.from_json({}) == Presence()
    state = Presence.from_json({"zones": {SHOP: [5, 0]}, "last_at": {"geofence": 5}})
    assert state.zones[SHOP] == ZoneVisit(5.0, dwelled=False)
    assert isinstance(state.last_at["geofence"], float)


def test_round_tripped_presence_behaves_the_same() -> None:
    state, _ = run([gps(0.0, SHOP), ble(1.0, BEACON)])
    again = Presence.from_json(json.loads(json.dumps(state.to_json())))
    for obs in (gps(0.0, SHOP), gps(300.0, SHOP), ble(2.0)):
        assert advance(again, obs, DWELL)[1] == advance(state, obs, DWELL)[1]


# Property: any sequence of observations, including replays and late ones.

SOURCES = {"geofence": [str(ZoneKey("geofence", i)) for i in range(4)], "beacon": [BEACON]}
ALL_ZONES = [z for zones in SOURCES.values() for z in zones]


@st.composite
def observations(draw: st.DrawFn) -> Observation:
    source = draw(st.sampled_from(sorted(SOURCES)))
    zones = SOURCES[source]
    inside = draw(st.frozensets(st.sampled_from(zones)))
    holding = draw(st.frozensets(st.sampled_from(zones)))
    at = draw(st.integers(0, 60).map(lambda m: m * 30.0))
    return Observation(source, at, inside, holding)


dwell_times = st.dictionaries(st.sampled_from(ALL_ZONES), st.sampled_from([0.0, 30.0, 90.0, 600.0]))


@given(st.lists(observations(), max_size=40), dwell_times)
def test_events_alternate_per_zone(obs_list: list[Observation], dwell: dict[str, float]) -> None:
    state = Presence()
    open_visit: dict[str, float] = {}
    dwelled: set[str] = set()
    for obs in obs_list:
        before = state
        state, events = advance(state, obs, dwell)
        if not is_newer(before, obs.source, obs.at):
            assert events == []
            assert state is before
            continue
        for e in events:
            assert e.at == obs.at
            if e.transition is Transition.ENTER:
                assert e.zone not in open_visit
                assert e.zone in obs.inside
                open_visit[e.zone] = e.at
                dwelled.discard(e.zone)
            elif e.transition is Transition.DWELL:
                assert e.zone in open_visit, "DWELL outside a visit"
                assert e.zone not in dwelled, "two DWELLs in one visit"
                assert e.at - open_visit[e.zone] >= dwell[e.zone]
                dwelled.add(e.zone)
            else:
                assert e.zone in open_visit, "EXIT without an ENTER"
                assert e.zone.startswith(obs.source + ":")
                assert e.zone not in obs.inside | obs.holding
                del open_visit[e.zone]
        assert set(state.zones) == set(open_visit)
        assert {z for z, v in state.zones.items() if v.dwelled} == dwelled & set(open_visit)
        assert state.last_at[obs.source] == obs.at
        own = {z for z in state.zones if z.startswith(obs.source + ":")}
        assert obs.inside <= own <= obs.inside | obs.holding
    assert Presence.from_json(json.loads(json.dumps(state.to_json()))) == state


def test_dwell_checkpoints_follow_the_dwell_every_step_while_the_user_stays() -> None:
    """After the DWELL at 300 s, a checkpoint at the first observation past each further
    step of 120 s (one per observation, however many steps it skipped), with the time
    spent; none without a step."""
    state = Presence()
    seen: list[tuple[float, float | None, bool]] = []
    for at in (0.0, 310.0, 400.0, 425.0, 430.0, 700.0, 705.0):
        state, new = advance(state, gps(at, SHOP), DWELL, 120.0)
        seen.extend(
            (e.at, e.dwelled_s, e.checkpoint) for e in new if e.transition is Transition.DWELL
        )
    assert seen == [(310.0, 310.0, False), (425.0, 425.0, True), (700.0, 700.0, True)]
    assert state.zones[SHOP] == ZoneVisit(0.0, dwelled=True, checkpoints=3)
    again = Presence.from_json(json.loads(json.dumps(state.to_json())))
    assert again == state
    assert state.to_json()["zones"][SHOP] == [0.0, True, 3]
    _, plain = run([gps(0.0, SHOP), gps(310.0, SHOP), gps(1000.0, SHOP)])
    assert [e.checkpoint for e in plain if e.transition is Transition.DWELL] == [False]
    # Leaving ends the visit: the next one starts over.
    state, exits = advance(state, gps(710.0), DWELL, 120.0)
    assert [e.transition for e in exits] == [Transition.EXIT]
    assert SHOP not in state.zones
