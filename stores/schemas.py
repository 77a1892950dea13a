from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from kernel.text import Body, Name


class StoreCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "Galeries Rivoli", "address": "1 rue de Rivoli"}]},
    )
    name: Name
    address: Body | None = None


class StoreUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    address: Body | None = None


class StoreOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    address: str | None
    created_at: datetime
    updated_at: datetime
