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
    presence: dict[str, Any] = Field(description="The zones you are in now, if any.")
