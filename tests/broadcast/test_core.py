"""Who a broadcast reaches, in the pure core: the store's centre, the zones within reach,
the nearest live zone of each user, chunks."""

from __future__ import annotations

import pytest
from shapely.geometry import Point, box

from broadcast.core import Member, audience, centre, chunks, distance_to, nearest_zone
from presence.core import Presence, ZoneVisit

NOW = 1_800_000_000.0
STALE_S = 1500.0


def _at(zones: dict[str, float], seen: dict[str, float]) -> Presence:
    return Presence({z: ZoneVisit(at) for z, at in zones.items()}, seen)


def test_the_centre_is_the_centroid_of_the_geofences_together() -> None:
    assert centre([]) is None
    assert centre([box(0, 0, 2, 2)]) == pytest.approx((1.0, 1.0))
    # Two equal shops side by side: halfway between them.
    assert centre([box(0, 0, 1, 1), box(3, 0, 4, 1)]) == pytest.approx((2.0, 0.5))
    assert centre([Point(5, 5).buffer(1)]) == pytest.approx((5.0, 5.0))


def test_zones_within_reach_are_the_near_geofences_and_the_stores_own_zones() -> None:
    distance = distance_to(7, {"geofence:1": 0.0, "geofence:2": 250.0})
    assert distance("geofence:2") == 250.0
    assert distance("geofence:3") is None  # beyond the radius
    assert distance("beacon:7:entrance") == 0.0
    assert distance("nfc:7:till") == 0.0
    assert distance("beacon:8:entrance") is None  # another store's aisle
    assert distance("beacon:7") is None
    assert distance("garbage") is None


def test_each_user_is_decided_once_on_the_nearest_live_zone() -> None:
    distance = distance_to(7, {"geofence:1": 0.0, "geofence:2": 250.0})
    recent = {"geofence": NOW - 10, "beacon": NOW - 10}
    both = _at({"geofence:2": NOW - 60, "beacon:7:entrance": NOW - 60}, recent)
    assert nearest_zone(both, distance=distance, now=NOW, stale_s=STALE_S) == "beacon:7:entrance"
    # A tie: the geofence (location consent), not the beacon zone.
    tie = _at({"geofence:1": NOW - 60, "beacon:7:entrance": NOW - 60}, recent)
    assert nearest_zone(tie, distance=distance, now=NOW, stale_s=STALE_S) == "geofence:1"
    # The beacons went quiet long ago: that zone no longer counts, the geofence does.
    quiet = _at(
        {"geofence:2": NOW - 60, "beacon:7:entrance": NOW - 4000},
        {"geofence": NOW - 10, "beacon": NOW - 4000},
    )
    assert nearest_zone(quiet, distance=distance, now=NOW, stale_s=STALE_S) == "geofence:2"
    away = _at({"geofence:9": NOW - 60}, recent)
    assert nearest_zone(away, distance=distance, now=NOW, stale_s=STALE_S) is None


def test_the_audience_lists_users_once_by_id_and_chunks_split_it() -> None:
    distance = distance_to(7, {"geofence:1": 0.0})
    here = _at({"geofence:1": NOW - 60}, {"geofence": NOW - 10})
    away = _at({"geofence:9": NOW - 60}, {"geofence": NOW - 10})
    # A user listed twice (the index moved underneath) is one member.
    batches = [[(5, here), (3, here)], [(4, away), (5, here)], []]
    members = audience(batches, distance=distance, now=NOW, stale_s=STALE_S)
    assert members == [Member(3, "geofence:1"), Member(5, "geofence:1")]
    assert chunks(members, 1) == [[members[0]], [members[1]]]
    assert chunks(members, 500) == [members]
    assert chunks([], 500) == []
