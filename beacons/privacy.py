"""Beacon data about users lives in Redis only, under per-user keys that expire by themselves:
smoothed RSSI tracks (minutes) and replay guards (the sighting age limit)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from beacons.store import REPLAY_KEY, TRACKS_KEY
from beacons.zones import BeaconTrack
from kernel.personal_data import register_redis

register_redis("beacons", TRACKS_KEY.format("{user_id}"), REPLAY_KEY.format("{user_id}:*"))


def export_tracks(tracks: Mapping[int, BeaconTrack]) -> list[dict[str, Any]]:
    """The beacons recently heard by the user, with the smoothed signal kept for each."""
    return [
        {
            "beacon_id": beacon_id,
            "zone": track.zone,
            "rssi_dbm": round(track.rssi.rssi, 1),
            "measured_power_1m": track.measured_power_1m,
            "heard_at": datetime.fromtimestamp(track.rssi.at_s, UTC).isoformat(),
        }
        for beacon_id, track in sorted(tracks.items())
    ]
