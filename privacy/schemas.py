from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class ExportOut(BaseModel):
    user_id: int
    exported_at: datetime
    tables: dict[str, list[dict[str, Any]]] = Field(
        description="Every row held about you, by table (notifications with their deliveries)."
    )
    presence: dict[str, Any] = Field(
        description="The zones you are in now (`zones`: zone, entered_at, dwelled) and when "
        "each source last saw you (`last_seen`); ISO 8601 UTC times."
    )
    beacon_tracks: list[dict[str, Any]] = Field(
        description="Beacons heard recently: beacon_id, zone, smoothed rssi_dbm, "
        "measured_power_1m, heard_at (ISO 8601 UTC). Kept for minutes."
    )
