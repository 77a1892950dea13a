from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from kernel.ids import DbId
from kernel.text import no_control_chars
from social import core

DisplayName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=60),
    AfterValidator(no_control_chars),
    AfterValidator(core.display_name),
    Field(description="The name friends see (surrounding spaces are dropped)."),
]
AvatarUrl = Annotated[
    str,
    StringConstraints(min_length=1, max_length=1000),
    AfterValidator(no_control_chars),
    AfterValidator(core.https_url),
    Field(description="An https URL of the picture friends see."),
]
InviteCode = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200),
    AfterValidator(no_control_chars),
    Field(description="The 8-symbol code (case, spaces and hyphens ignored) or the link."),
]


class ProfileIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"display_name": "Camille", "avatar_url": "https://example.org/c.jpg"}]
        },
    )
    display_name: DisplayName
    avatar_url: AvatarUrl | None = Field(default=None, description="Omit or null for none.")


class ProfileOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    display_name: str
    avatar_url: str | None
    updated_at: datetime


class InviteCreated(BaseModel):
    id: int
    code: str = Field(description="Shown once; only its hash is kept.")
    link: str = Field(description="The same code as a link the app opens.")
    expires_at: datetime


class InviteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    created_at: datetime
    expires_at: datetime


class CodeIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"code": "7K3M-Q9TX"}]}
    )
    code: InviteCode


class FriendOut(BaseModel):
    """All a friend sees of a user."""

    user_id: int
    display_name: str
    avatar_url: str | None
    since: datetime


class BlockIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: DbId


class BlockOut(BaseModel):
    user_id: int
    display_name: str = Field(description="Empty when the user never set one.")
    since: datetime


class FavouriteOut(BaseModel):
    store_id: int
    name: str
    since: datetime
    friends: int = Field(description="How many of my friends favour this shop too.")
