from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Annotated
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from kernel.text import Body, Name


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _known_zone(name: str) -> str:
    if name not in _zones():
        raise ValueError(f"{name!r} is not an IANA time zone (e.g. 'Europe/Paris', 'UTC')")
    return name


TimeZone = Annotated[
    str,
    Field(
        max_length=64,
        description="IANA time zone of the store (default UTC): offers' schedules and daily "
        "budgets follow its clock.",
        examples=["Europe/Paris"],
    ),
    AfterValidator(_known_zone),
]


class StoreCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "Galeries Rivoli", "address": "1 rue de Rivoli"}]},
    )
    name: Name
    address: Body | None = None
    timezone: TimeZone = "UTC"


class StoreUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    address: Body | None = None
    timezone: TimeZone | None = None


class StoreOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    address: str | None
    timezone: str
    created_at: datetime
    updated_at: datetime
