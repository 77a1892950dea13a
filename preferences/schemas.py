from __future__ import annotations

from datetime import datetime, time
from typing import Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from kernel.ids import DbId
from kernel.text import Body, Document, Slug, TimeZoneName, Title
from preferences.core import Purpose

SLUG_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"


class SegmentOut(BaseModel):
    slug: str
    parent: str | None
    label_en: str
    label_fr: str


class SegmentCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "slug": "sneakers",
                    "parent": "shoes",
                    "label_en": "Sneakers",
                    "label_fr": "Baskets",
                }
            ]
        },
    )
    slug: str = Field(min_length=1, max_length=64, pattern=SLUG_PATTERN)
    parent: Slug | None = Field(default=None, description="Parent slug; null for a top level.")
    label_en: Title
    label_fr: Title


class SegmentUpdate(BaseModel):
    """Only the fields sent change; ``"parent": null`` moves the segment to the top."""

    model_config = ConfigDict(extra="forbid")
    parent: Slug | None = None
    label_en: Title | None = None
    label_fr: Title | None = None


class PolicyIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "version": "2027-01",
                    "summary": "Beacon offers now also use the store's opening hours.",
                    "text": "…",
                    "changed_purposes": ["beacon_proximity"],
                }
            ]
        },
    )
    version: Slug = Field(max_length=32)
    summary: Body = Field(max_length=500)
    text: Document
    changed_purposes: list[Purpose] = Field(
        description="Purposes whose terms changed: their consent must be asked again."
    )


class PolicyOut(BaseModel):
    version: str
    published_at: datetime | None = Field(description="Null for the configured default version.")
    summary: str
    text: str
    changed_purposes: list[Purpose]


class ConsentIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "purposes": {"location_offers": True},
                    "policy_version": "2026-11",
                    "source": "onboarding",
                    "app_version": "3.2.0",
                }
            ]
        },
    )
    purposes: dict[Purpose, bool] = Field(
        min_length=1, description="Each purpose granted (true) or withdrawn (false)."
    )
    policy_version: Slug = Field(max_length=32)
    source: Slug = "app"
    app_version: Slug | None = Field(default=None, max_length=32)


class ConsentOut(BaseModel):
    purpose: Purpose
    granted: bool
    policy_version: str | None
    in_force: bool = Field(
        description="Granted under the current policy's terms for this purpose: pushes for it "
        "may go out. False after a policy version changed this purpose, until granted again."
    )


class ConsentState(BaseModel):
    current_policy_version: str
    purposes: list[ConsentOut]


class InterestsIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"segments": ["fashion", "fine-food"]}]}
    )
    segments: list[Slug] = Field(max_length=100, description="Segment slugs; replaces the set.")


class InterestsOut(BaseModel):
    segments: list[str]


class ActivationIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"segment": "tableware", "until": "2026-11-30T20:00:00+01:00"}]
        },
    )
    segment: Slug
    until: AwareDatetime = Field(description="When it lapses by itself; with a time zone.")


class ActivationOut(BaseModel):
    id: int
    segment: str
    label_en: str
    label_fr: str
    created_at: datetime
    until: datetime


class QuietHoursIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: time = Field(description="Local time, HH:MM.")
    end: time = Field(description="Local time, HH:MM; before start spans midnight.")

    @field_validator("start", "end")
    @classmethod
    def _local(cls, value: time) -> time:
        if value.tzinfo is not None:
            raise ValueError("quiet hours are local times in your time zone; drop the offset")
        return value.replace(second=0, microsecond=0)

    @model_validator(mode="after")
    def _window(self) -> Self:
        if self.start == self.end:
            raise ValueError("quiet hours start and end at the same time; give a real window")
        return self


class DeliveryIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "max_per_day": 3,
                    "quiet_hours": {"start": "21:00", "end": "08:30"},
                    "muted_store_ids": [12],
                    "timezone": "Europe/Paris",
                }
            ]
        },
    )
    max_per_day: int | None = Field(
        default=None, ge=0, le=100, description="Pushes per local day; null for no cap."
    )
    quiet_hours: QuietHoursIn | None = None
    muted_store_ids: list[DbId] = Field(default_factory=list, max_length=500)
    timezone: TimeZoneName | None = Field(
        default=None, description="IANA time zone for quiet hours and the daily cap."
    )


class QuietHoursOut(BaseModel):
    start: time
    end: time


class DeliveryOut(BaseModel):
    max_per_day: int | None
    quiet_hours: QuietHoursOut | None
    muted_store_ids: list[int]
    timezone: str


class IdSharesIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"store_ids": [12]}]})
    store_ids: list[DbId] = Field(
        max_length=500,
        description="The stores whose webhooks may carry your user id (empty: none). In "
        "force only while the `share_id_with_stores` consent is granted.",
    )


class IdSharesOut(BaseModel):
    store_ids: list[int]
    in_force: bool = Field(
        description="Whether the `share_id_with_stores` consent is granted now: without it, "
        "no store is sent your id, whatever the list says."
    )
