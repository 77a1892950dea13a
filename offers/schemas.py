from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from beacons.schemas import ZoneName
from kernel.ids import DbId
from kernel.text import Body, DeepLink, Slug, Title
from offers.models import Offer
from presence.confidence import Confidence

HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


class OfferTrigger(StrEnum):
    ENTER = "enter"
    DWELL = "dwell"
    EXIT = "exit"
    TAP = "tap"


TRIGGER = (
    "`enter`, `dwell` (after the fence's or zone's `dwell_s`), `exit` (on leaving), or `tap` "
    "(a tap on one of the store's NFC tags)."
)
PLACE_BOUND = (
    "Only useful while the shopper is there (default): the push expires with the visit "
    "(its TTL is the expected visit, `VICINITY_VISIT_S`, capped by `ends_at`), is withdrawn "
    "from the inbox as expired on the EXIT, and is dropped (with its reason) during the "
    "user's quiet hours. Otherwise a push falling in quiet hours is deferred to their end "
    "if the offer is still valid then."
)
HOLDOUT = (
    "Percent of eligible users (0..50) kept as a control group: stable per user and offer, "
    "recorded as held out and never pushed, so the stats can show the offer's lift."
)
MIN_CONFIDENCE = (
    "Fire only on presence events at least this sure: `low`, `medium` or `high` (low < "
    "medium < high); null (default): any. A GPS fix is rated by its accuracy against the "
    "fence's size, a beacon by its proximity, an NFC tap is high, and GPS and a beacon of "
    "the store agreeing is high. An event less sure is skipped (counted as "
    "`suppressed_low_confidence` in the stats)."
)
Budget = Annotated[int, Field(ge=1, le=10_000_000, strict=True)]


class OfferSchedule(BaseModel):
    """When in the store's week the offer may fire, in the store's time zone."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"days": [0, 1, 2, 3, 4], "start": "11:00", "end": "14:00"}]
        },
    )
    days: list[Annotated[int, Field(ge=0, le=6, strict=True)]] = Field(
        default_factory=lambda: list(range(7)),
        min_length=1,
        max_length=7,
        description="Days of the week, 0 = Monday … 6 = Sunday.",
    )
    start: str = Field(default="00:00", description="HH:MM, store time.")
    end: str = Field(
        default="00:00",
        description="HH:MM, store time; equal to `start`: all day; before it: the window "
        "spans midnight (and belongs to the day it starts on).",
    )

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not HHMM.match(value):
            raise ValueError(f"{value!r} is not a time of day as HH:MM (00:00 to 23:59)")
        return value

    @field_validator("days")
    @classmethod
    def _distinct(cls, value: list[int]) -> list[int]:
        return sorted(set(value))


class CampaignRules(BaseModel):
    """Fields shared by create and update: budgets, schedule, place-bound, holdout."""

    max_sends: Budget | None = Field(
        default=None, description="Most pushes in all (null: no limit)."
    )
    max_sends_per_day: Budget | None = Field(
        default=None, description="Most pushes per day of the store's calendar (null: no limit)."
    )
    schedule: OfferSchedule | None = Field(default=None, description="Null: any time.")
    dwell_minutes: int | None = Field(
        default=None,
        ge=1,
        le=720,
        strict=True,
        description="With trigger `dwell`: fire once the shopper has stayed this many minutes "
        "in the zone (checked every `VICINITY_DWELL_STEP_S` after the zone's own `dwell_s`); "
        "null: at the zone's DWELL.",
    )
    min_confidence: Confidence | None = Field(default=None, description=MIN_CONFIDENCE)


PRIORITY = (
    "-100..100, default 0: when the user's daily cap leaves room for fewer pushes than "
    "candidates at a visit, higher priorities go first (then the larger segment overlap, "
    "offers before friends' looks, the lower id)."
)


class OfferCreate(CampaignRules):
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
    trigger: OfferTrigger = Field(default=OfferTrigger.ENTER, description=TRIGGER)
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
    place_bound: bool = Field(default=True, description=PLACE_BOUND)
    holdout_pct: int = Field(default=0, ge=0, le=50, strict=True, description=HOLDOUT)


class OfferUpdate(CampaignRules):
    model_config = ConfigDict(extra="forbid")
    title: Title | None = None
    body: Body | None = None
    deep_link: DeepLink | None = None
    segments: list[Slug] | None = Field(default=None, min_length=1, max_length=100)
    trigger: OfferTrigger | None = None
    geofence_ids: list[DbId] | None = Field(default=None, max_length=100)
    zones: list[ZoneName] | None = Field(default=None, max_length=50)
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    active: bool | None = None
    priority: int | None = Field(default=None, ge=-100, le=100, strict=True, description=PRIORITY)
    place_bound: bool | None = None
    holdout_pct: int | None = Field(default=None, ge=0, le=50, strict=True)


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
    max_sends: int | None
    max_sends_per_day: int | None
    schedule: dict[str, Any] | None
    dwell_minutes: int | None
    place_bound: bool
    holdout_pct: int
    min_confidence: Confidence | None
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
            max_sends=o.max_sends,
            max_sends_per_day=o.max_sends_per_day,
            schedule=o.schedule,
            dwell_minutes=o.dwell_minutes,
            place_bound=o.place_bound,
            holdout_pct=o.holdout_pct,
            min_confidence=None if o.min_confidence is None else Confidence(o.min_confidence),
            inactive_reason=o.inactive_reason,
            created_at=o.created_at,
            updated_at=o.updated_at,
        )
