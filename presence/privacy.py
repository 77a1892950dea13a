"""Presence lives in Redis only, under per-user keys that expire by themselves."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kernel.personal_data import register_redis
from presence.core import Presence
from presence.store import KEY

register_redis("presence", KEY.format("{user_id}"), "vicinity:lock:presence:{user_id}")


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat()


def export_presence(state: Presence) -> dict[str, Any]:
    """Presence as a person reads it: which zones, since when, ISO 8601 UTC times."""
    return {
        "zones": [
            {"zone": str(zone), "entered_at": _iso(visit.entered_at), "dwelled": visit.dwelled}
            for zone, visit in state.zones.items()
        ],
        "last_seen": {source: _iso(at) for source, at in state.last_at.items()},
        # Kept for the impossible-jump check only, rounded, and gone with the zones.
        **(
            {}
            if state.fix is None
            else {
                "last_fix": {
                    "lon": state.fix.lon,
                    "lat": state.fix.lat,
                    "accuracy_m": state.fix.accuracy_m,
                    "at": _iso(state.fix.at),
                }
            }
        ),
    }
