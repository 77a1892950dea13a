"""The embedded sighting store is bounded: entries leave at their TTL without being read,
and the number held never exceeds its size."""

from __future__ import annotations

from beacons.proximity import SmoothedRssi
from beacons.store import MemorySightingStore
from beacons.zones import BeaconTrack

TRACKS = {3: BeaconTrack("beacon:7:till", -61, SmoothedRssi(-63.5, 4.2, 17.0, q=2.0, r=20.0))}


def test_expired_tracks_and_replay_guards_are_gone_without_a_read() -> None:
    clock = {"now": 0.0}
    store = MemorySightingStore(track_ttl_s=60, replay_ttl_s=30, timer=lambda: clock["now"])
    store.save_tracks(1, TRACKS)
    assert store.first_seen(["1:3:1000", "1:3:2000"]) == [True, True]
    assert store.sizes() == (1, 2)
    clock["now"] = 31.0
    assert store.sizes() == (1, 0)
    clock["now"] = 61.0
    assert store.sizes() == (0, 0)
    assert store.first_seen(["1:3:1000"]) == [True]  # the guard expired with its window


def test_the_store_never_holds_more_than_its_size() -> None:
    store = MemorySightingStore(track_ttl_s=3600, replay_ttl_s=3600, maxsize=5)
    for user in range(100):
        store.save_tracks(user, TRACKS)
        store.first_seen([f"{user}:3:{n}" for n in range(10)])
    assert store.sizes() == (5, 50)
    assert store.load_tracks(99) == TRACKS
