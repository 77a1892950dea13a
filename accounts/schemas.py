from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from kernel.ids import DbId
from kernel.principal import Role
from kernel.text import Name, TimeZoneName, Token


class UserCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"locale": "fr", "timezone": "Europe/Paris"}]},
    )
    locale: str = Field(default="en", pattern=r"^[a-z]{2}(-[A-Z]{2})?$")
    timezone: TimeZoneName = "UTC"


class UserCreated(BaseModel):
    id: int
    token: str = Field(description="Bearer token for this user; shown once, stored hashed.")


class Platform(StrEnum):
    ANDROID = "android"
    IOS = "ios"
    WEB = "web"


class DeviceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: Token = Field(description="FCM registration token.")
    platform: Platform


class DeviceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    platform: str
    created_at: datetime
    last_seen_at: datetime


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "Ana (field tech)", "role": "tech", "store_ids": [12]}]
        },
    )
    name: Name = Field(description="Who holds the key.")
    role: Role
    store_ids: list[DbId] = Field(
        default_factory=list, max_length=500, description="The stores a store or tech key acts on."
    )
    all_stores: bool = Field(
        default=False, description="A tech key for the whole fleet (instead of `store_ids`)."
    )


class ApiKeyOut(BaseModel):
    id: int
    name: str
    role: Role
    store_ids: list[int]
    all_stores: bool
    created_at: datetime
    rotated_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    secret: str = Field(description="The `vk_…` secret; shown once, stored hashed.")
