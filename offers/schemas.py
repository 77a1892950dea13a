from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from beacons.schemas import ZoneName
from kernel.ids import DbId
from kernel.text import Body, DeepLink, Slug, Title
from offers.models import Offer
from presence.core import Transition

PRIORITY = (
    "-100..100, default 0: when the user's daily cap leaves room for fewer pushes than "
    "candidates at a visit, higher priorities go first (then the larger segment overlap, "
    "offers before friends' looks, the lower id)."
)


class OfferCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "title": "-20% on boots today",
                    "body": "Show this at the till in the shoe aisle.",
                    "deep_link": "vicinity://offers/boots",
                    "segments": ["shoes"],
                    "trigger": "enter",
                }
            ]
        },
    )
    title: Title
    body: Body
    deep_link: DeepLink | None = None
    segments: list[Slug] = Field(
        min_length=1, max_length=100, description="Segment slugs the offer targets."
    )
    trigger: Transition = Field(
        default=Transition.ENTER,
        description="`enter`, `dwell` (after the fence's `dwell_s`) or `exit` (on leaving).",
    )
    geofence_ids: list[DbId] = Field(
        default_factory=list,
        max_length=100,
        description="Limit to these geofences; empty = all of the store's. When the last "
        "of them is deleted (and no zone is named) the offer is deactivated, with "
        "`inactive_reason` saying why, rather than widened to every fence.",
    )
    zones: list[ZoneName] = Field(
        default_factory=list,
        max_length=50,
        description='Beacon zones of the store ("shoe aisle") the offer fires in. With '
        "`geofence_ids` empty and zones given, only these zones; both empty = any zone. "
        "Each must be the zone of one of the store's registered beacons (else 422).",
    )
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = Field(default=None, description="Must be in the future.")
    active: bool = True
    priority: int = Field(default=0, ge=-100, le=100, strict=True, description=PRIORITY)


class OfferUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Title | None = None
    body: Body | None = None
    deep_link: DeepLink | None = None
    segments: list[Slug] | None = Field(default=None, min_length=1, max_length=100)
    trigger: Transition | None = None
    geofence_ids: list[DbId] | None = Field(default=None, max_length=100)
    zones: list[ZoneName] | None = Field(default=None, max_length=50)
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    active: bool | None = None
    priority: int | None = Field(default=None, ge=-100, le=100, strict=True, description=PRIORITY)


class OfferOut(BaseModel):
    id: int
    store_id: int
    title: str
    body: str
    deep_link: str | None
    segments: list[str]
    trigger: str
    geofence_ids: list[int]
    zones: list[str]
    starts_at: datetime | None
    ends_at: datetime | None
    active: bool
    priority: int
    inactive_reason: str | None = Field(
        description="Why the system deactivated the offer (e.g. its last geofence was "
        "deleted); null when active or turned off by the store."
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, o: Offer) -> OfferOut:
        return cls(
            id=o.id,
            store_id=o.store_id,
            title=o.title,
            body=o.body,
            deep_link=o.deep_link,
            segments=[s.slug for s in o.segments],
            trigger=o.trigger,
            geofence_ids=[g.id for g in o.geofences],
            zones=list(o.zones),
            starts_at=o.starts_at,
            ends_at=o.ends_at,
            active=o.active,
            priority=o.priority,
            inactive_reason=o.inactive_reason,
            created_at=o.created_at,
            updated_at=o.updated_at,
        )
