from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from zoneinfo import available_timezones

from pydantic import BaseModel, ConfigDict, Field, field_validator


class UserCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"locale": "fr", "timezone": "Europe/Paris"}]},
    )
    locale: str = Field(default="en", pattern=r"^[a-z]{2}(-[A-Z]{2})?$")
    timezone: str = Field(default="UTC", description="IANA time zone, e.g. Europe/Paris.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value not in available_timezones():
            raise ValueError(f"unknown time zone {value!r}")
        return value


class UserCreated(BaseModel):
    id: int
    token: str = Field(description="Bearer token for this user; shown once, stored hashed.")


class Platform(StrEnum):
    ANDROID = "android"
    IOS = "ios"
    WEB = "web"


class DeviceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(min_length=1, max_length=4096, description="FCM registration token.")
    platform: Platform


class DeviceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    platform: str
    created_at: datetime
    last_seen_at: datetime
