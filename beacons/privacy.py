"""Beacon data about users lives in Redis only, under per-user keys that expire by themselves:
smoothed RSSI tracks (minutes) and replay guards (the sighting age limit)."""

from __future__ import annotations

from beacons.store import REPLAY_KEY, TRACKS_KEY
from privacy.registry import register_redis

register_redis("beacons", TRACKS_KEY.format("{user_id}"), REPLAY_KEY.format("{user_id}:*"))
