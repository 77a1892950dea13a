from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Annotated, Any
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from kernel.text import Body, Name
from stores.labels import ExternalId, Location, Metadata, Tags
from stores.models import Store


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
        json_schema_extra={
            "examples": [
                {
                    "name": "Galeries Rivoli",
                    "address": "1 rue de Rivoli",
                    "location": {"lon": 2.3470, "lat": 48.8603},
                    "external_id": "RIV-001",
                    "tags": ["flagship"],
                }
            ]
        },
    )
    name: Name
    address: Body | None = None
    timezone: TimeZone = "UTC"
    location: Location | None = Field(
        default=None,
        description="The store's point: the console's map centres on it, and a geofence "
        "farther than `VICINITY_MAX_FENCE_DISTANCE_M` from it is refused.",
    )
    external_id: ExternalId | None = None
    tags: Tags = Field(default_factory=list)
    metadata: Metadata = Field(default_factory=dict)


class StoreUpdate(BaseModel):
    """Only what is sent changes; `null` clears the location or the external id."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"tags": ["flagship", "renovated"]}]}
    )
    name: Name | None = None
    address: Body | None = None
    timezone: TimeZone | None = None
    location: Location | None = None
    external_id: ExternalId | None = None
    tags: Tags | None = None
    metadata: Metadata | None = None

    def changes(self) -> dict[str, Any]:
        """The sent fields, by the service's names; a null name, time zone, tag list or
        metadata means "unchanged", as before these fields could be cleared."""
        sent = {k: getattr(self, k) for k in self.model_fields_set}
        for keep in ("name", "address", "timezone", "tags", "metadata"):
            if sent.get(keep, "") is None:
                del sent[keep]
        if "location" in sent:
            where = sent["location"]
            sent["location"] = None if where is None else (where.lon, where.lat)
        return sent


class StoreOut(BaseModel):
    id: int
    name: str
    address: str | None
    timezone: str
    location: Location | None
    external_id: str | None
    tags: list[str]
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, store: Store) -> StoreOut:
        where = store.location
        return cls(
            id=store.id,
            name=store.name,
            address=store.address,
            timezone=store.timezone,
            location=None if where is None else Location(lon=where[0], lat=where[1]),
            external_id=store.external_id,
            tags=list(store.tags or []),
            metadata=dict(store.meta or {}),
            created_at=store.created_at,
            updated_at=store.updated_at,
        )
