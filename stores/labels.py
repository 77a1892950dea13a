"""What a store's own systems attach to its stores and geofences: an external id (the
key their system uses, so an import can match rows), tags and free metadata; and a
store's point location.

Each is bounded here, at the request's edge: a tag is a short slug, metadata a small JSON
object, so a row never grows without limit and a tag filter is an exact match.
"""

from __future__ import annotations

import json
import math
import re
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from kernel.text import no_control_chars

MAX_TAGS = 20
MAX_TAG_LENGTH = 40
MAX_METADATA_KEYS = 50
MAX_METADATA_BYTES = 4096
MAX_EXTERNAL_ID = 128

_TAG = re.compile(rf"[a-z0-9][a-z0-9_-]{{0,{MAX_TAG_LENGTH - 1}}}")


def _trimmed_key(value: str) -> str:
    no_control_chars(value)
    if value != value.strip():
        raise ValueError("must not start or end with spaces")
    return value


ExternalId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_EXTERNAL_ID),
    AfterValidator(_trimmed_key),
    Field(
        description="The key the store's own system uses for it (unique: an import matches "
        "rows by it). Up to 128 characters, no control characters or surrounding spaces.",
        examples=["RIV-001"],
    ),
]


def _tags(values: list[str]) -> list[str]:
    for value in values:
        if not _TAG.fullmatch(value):
            raise ValueError(
                f"tag {value[: MAX_TAG_LENGTH + 1]!r} is not a slug: lower-case letters, digits, "
                f"'-' and '_', starting with a letter or digit, at most {MAX_TAG_LENGTH} long"
            )
    return list(dict.fromkeys(values))  # a repeated tag counts once, in first-seen order


Tags = Annotated[
    list[str],
    Field(
        max_length=MAX_TAGS,
        description=f"Up to {MAX_TAGS} slugs (a-z, 0-9, '-', '_'; at most {MAX_TAG_LENGTH} "
        "characters each); repeats count once.",
        examples=[["flagship", "paris-centre"]],
    ),
    AfterValidator(_tags),
]


def metadata_size(value: dict[str, Any]) -> int:
    """Bytes of the object as compact UTF-8 JSON: the bound is on what is stored."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return len(text.encode("utf-8"))


def _metadata(value: dict[str, Any]) -> dict[str, Any]:
    if len(value) > MAX_METADATA_KEYS:
        raise ValueError(f"{len(value)} keys; at most {MAX_METADATA_KEYS}")
    try:
        size = metadata_size(value)
    except ValueError as error:  # NaN or Infinity, which JSON cannot carry
        raise ValueError("numbers must be finite") from error
    if size > MAX_METADATA_BYTES:
        raise ValueError(f"{size:,} bytes as JSON; at most {MAX_METADATA_BYTES:,}")
    return value


Metadata = Annotated[
    dict[str, Any],
    Field(
        description=f"A free JSON object for the store's own system: at most "
        f"{MAX_METADATA_KEYS} keys and {MAX_METADATA_BYTES:,} bytes as compact JSON.",
        examples=[{"region": "IDF", "floor_m2": 120}],
    ),
    AfterValidator(_metadata),
]


class Location(BaseModel):
    """A point in WGS84 degrees: the store's door, where the map centres."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"lon": 2.3522, "lat": 48.8566}]}
    )
    lon: float = Field(description="Longitude, degrees (-180 to 180).")
    lat: float = Field(description="Latitude, degrees (-90 to 90).")

    @model_validator(mode="after")
    def _in_range(self) -> Location:
        check_location(self.lon, self.lat)
        return self


def check_location(lon: float, lat: float) -> None:
    """Raise ``ValueError`` naming the coordinate out of range, with a hint when swapping
    the two would make sense of them."""
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise ValueError("lon and lat must be finite numbers")
    if not -90.0 <= lat <= 90.0:
        hint = (
            ": were lon and lat swapped?" if -90.0 <= lon <= 90.0 and -180.0 <= lat <= 180.0 else ""
        )
        raise ValueError(f"lat {lat} is out of range [-90, 90]{hint}")
    if not -180.0 <= lon <= 180.0:
        raise ValueError(f"lon {lon} is out of range [-180, 180]")
