from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from preferences.service import Purpose


class SegmentOut(BaseModel):
    slug: str
    parent: str | None
    label_en: str
    label_fr: str


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
    policy_version: str = Field(min_length=1, max_length=32)
    source: str = Field(default="app", min_length=1, max_length=64)
    app_version: str | None = Field(default=None, max_length=32)


class ConsentOut(BaseModel):
    purpose: Purpose
    granted: bool
    policy_version: str | None


class ConsentState(BaseModel):
    current_policy_version: str
    purposes: list[ConsentOut]


class InterestsIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"segments": ["fashion", "fine-food"]}]}
    )
    segments: list[str] = Field(max_length=100, description="Segment slugs; replaces the set.")


class InterestsOut(BaseModel):
    segments: list[str]
