"""NFC tag and tap bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from geofence.schemas import ZoneEventOut
from kernel.ids import DbId
from kernel.text import Slug, no_control_chars
from kernel.times import Timestamp
from nfc.core import PLACEMENT_MAX, normalise_uid, zone_of
from nfc.models import NfcTag

Uid = Annotated[
    str,
    StringConstraints(min_length=8, max_length=40),  # 10 bytes with a separator between each
    AfterValidator(normalise_uid),
    Field(
        description="The tag's ISO/IEC 14443 UID: 4, 7 or 10 bytes of hex; colons, dashes "
        "and spaces between bytes are ignored, case too.",
        examples=["04:A2:2B:1C:5D:80:4D"],
    ),
]
Placement = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=PLACEMENT_MAX),
    AfterValidator(no_control_chars),
    Field(description="Where the tag is in the store, e.g. `counter`.", examples=["counter"]),
]


class TagCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"uid": "04:A2:2B:1C:5D:80:4D", "placement": "counter"}]},
    )
    uid: Uid
    placement: Placement


class TagOut(BaseModel):
    id: int
    store_id: int
    uid: str
    placement: str
    zone: str = Field(description="The presence zone a tap puts the user in.")
    created_at: datetime

    @classmethod
    def of(cls, tag: NfcTag) -> Self:
        return cls(
            id=tag.id,
            store_id=tag.store_id,
            uid=tag.uid,
            placement=tag.placement,
            zone=zone_of(tag.store_id, tag.placement),
            created_at=tag.created_at,
        )


class TapIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"uid": "04A22B1C5D804D", "tapped_at": "2026-11-23T10:00:00Z"}]
        },
    )
    uid: Uid
    tapped_at: Timestamp
    store_id: DbId | None = Field(
        default=None,
        description="The store the app believes the tag is in (e.g. from the tag's NDEF "
        "link); a tag of another store is then unknown (404).",
    )
    code: Slug | None = Field(
        default=None,
        description="An offer's redemption code to present at this store (`GET /v1/me/codes`):"
        " used once, like a code the staff confirm. Someone else's, another store's or an "
        "unknown code is 404, a used or expired one 409; the tap then counts for nothing.",
    )


class RedeemedOut(BaseModel):
    code: str
    offer_id: int | None
    redeemed_at: datetime


class TapOut(BaseModel):
    accepted: bool = Field(description="Whether the tap counted as presence.")
    ignored: str | None = Field(
        description="Why not: `no_consent` (no `beacon_proximity` consent, nothing kept) "
        "or `out_of_order` (older than a tap already counted)."
    )
    store_id: int = Field(
        description="The tag's store: its live codes are `GET /v1/me/codes` with this "
        "`store_id`, to show at the counter."
    )
    placement: str
    events: list[ZoneEventOut]
    notifications: list[int] = Field(description="Ids of the notifications the tap caused.")
    redeemed: RedeemedOut | None = Field(
        default=None, description="The code presented with the tap, now used."
    )
