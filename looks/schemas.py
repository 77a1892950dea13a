from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from kernel.ids import DbId
from kernel.text import no_control_chars

_HASHTAG = re.compile(r"\w{1,64}")


def _bare_hashtag(value: str) -> str:
    bare = value.removeprefix("#").lower()
    if not _HASHTAG.fullmatch(bare):
        raise ValueError("a hashtag is 1 to 64 letters, digits or '_', after an optional '#'")
    return bare


def _https(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise ValueError("must be an https URL with a host")
    return value


Caption = Annotated[str, StringConstraints(max_length=500), AfterValidator(no_control_chars)]
Hashtag = Annotated[
    str,
    StringConstraints(min_length=1, max_length=65),
    AfterValidator(_bare_hashtag),
    Field(description="Letters, digits or '_', with or without the leading '#'; kept lowercase."),
]
ImageUrl = Annotated[
    str,
    StringConstraints(min_length=1, max_length=1000),
    AfterValidator(no_control_chars),
    AfterValidator(_https),
    Field(description="An https URL of the look's image (or upload one instead)."),
]
Hashtags = Annotated[list[Hashtag], Field(max_length=30)]


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


class TagIn(BaseModel):
    """Exactly one of ``item_id`` (a catalogue item, active) or ``brand_id``."""

    model_config = ConfigDict(extra="forbid")
    item_id: DbId | None = None
    brand_id: DbId | None = None

    @model_validator(mode="after")
    def _one_of(self) -> TagIn:
        if (self.item_id is None) == (self.brand_id is None):
            raise ValueError("a tag names exactly one of item_id or brand_id")
        return self


Tags = Annotated[list[TagIn], Field(max_length=20)]


class LookCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "caption": "Sunday in the Marais",
                    "hashtags": ["ootd", "#vintage"],
                    "tags": [{"item_id": 12}, {"brand_id": 3}],
                }
            ]
        },
    )
    caption: Caption = ""
    hashtags: Hashtags = Field(default_factory=list)
    image_url: ImageUrl | None = None
    tags: Tags = Field(default_factory=list)

    @model_validator(mode="after")
    def _dedupe(self) -> LookCreate:
        self.hashtags = _unique(self.hashtags)
        return self


class LookUpdate(BaseModel):
    """Only what is sent changes; ``tags`` replaces the whole set; ``image_url: null``
    removes the URL. Setting an ``image_url`` removes an uploaded image."""

    model_config = ConfigDict(extra="forbid")
    caption: Caption | None = None
    hashtags: Hashtags | None = None
    image_url: ImageUrl | None = None
    tags: Tags | None = None

    @model_validator(mode="after")
    def _checked(self) -> LookUpdate:
        for name in ("caption", "hashtags", "tags"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f'{name} cannot be null; send "" or [] to empty it')
        if self.hashtags is not None:
            self.hashtags = _unique(self.hashtags)
        return self


class SuggestionsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    caption: Caption = ""
    hashtags: Hashtags = Field(default_factory=list)
    store_ids: list[DbId] = Field(
        default_factory=list,
        max_length=20,
        description="Stores nearby; the user's favourite stores are always searched too.",
    )


class AuthorOut(BaseModel):
    user_id: int
    display_name: str | None
    avatar_url: str | None


class TagOut(BaseModel):
    item_id: int | None
    brand_id: int | None
    name: str = Field(description="The item's or the brand's name.")


class LookOut(BaseModel):
    id: int
    author: AuthorOut
    caption: str
    hashtags: list[str]
    image_url: str | None = Field(description="The image's https URL, when given as a URL.")
    image_path: str | None = Field(
        description="Where to fetch the uploaded image (`GET /v1/looks/{id}/image`), if any."
    )
    tags: list[TagOut]
    created_at: datetime
    updated_at: datetime


class SuggestionOut(BaseModel):
    kind: str = Field(description="`item` or `brand`.")
    id: int
    name: str
    brand_name: str | None
    store_id: int | None = Field(description="The item's store; null for a brand.")
    score: float = Field(description="0 to 100.")
    matched: list[str] = Field(description="The words of the caption or hashtags that matched.")
