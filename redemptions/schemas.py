"""Redemption codes as requests carry them and as users and stores are shown them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Path
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from kernel.ids import DbId
from kernel.text import no_control_chars
from offers.models import Offer
from redemptions import qr
from redemptions.core import ALPHABET, LENGTH, effective_expiry, parse_code
from redemptions.models import Code
from redemptions.repository import Listed

_TYPED = 32  # room for the separators a person may type: "ABCD-2345", "abcd 2345"
_DESCRIPTION = (
    f"A redemption code: {LENGTH} characters from {ALPHABET}; case, spaces and hyphens are ignored."
)

RedemptionCode = Annotated[
    str,
    StringConstraints(min_length=1, max_length=_TYPED),
    AfterValidator(no_control_chars),
    AfterValidator(parse_code),
    Field(description=_DESCRIPTION, examples=["ABCD2345"]),
]
"""A code in a request body, read back to its stored form (rewards' endpoints use it too)."""

RedemptionCodePath = Annotated[
    str,
    Path(min_length=1, max_length=_TYPED, description=_DESCRIPTION),
    AfterValidator(no_control_chars),
    AfterValidator(parse_code),
]


class PurchaseTokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    store_id: DbId = Field(description="The store where the purchase is being made.")


class RedemptionCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"code": "ABCD2345"}]}
    )
    code: RedemptionCode


class CodeOut(BaseModel):
    code: str
    kind: str = Field(description="`offer`, `spend` (points) or `purchase` (a purchase token).")
    store_id: int
    store_name: str
    offer_id: int | None
    offer_title: str | None
    points: int | None = Field(description="Points a spend code spends; null otherwise.")
    expires_at: datetime = Field(description="Its own expiry or its offer's end, if earlier.")
    used_at: datetime | None
    qr_payload: str = Field(description="The text its QR image encodes.")
    qr_png: str = Field(description="Path of its QR image (PNG).")
    buy_now_link: str | None = Field(
        description="Deep link opening the offer's checkout with the code; offer codes only."
    )

    @classmethod
    def of(cls, listed: Listed, *, buy_now_link: str | None) -> CodeOut:
        c = listed.code
        return cls(
            code=c.code,
            kind=c.kind,
            store_id=c.store_id,
            store_name=listed.store_name,
            offer_id=c.offer_id,
            offer_title=listed.offer_title,
            points=c.points,
            expires_at=effective_expiry(c.expires_at, listed.offer_ends_at),
            used_at=c.used_at,
            qr_payload=qr.payload(c.code),
            qr_png=f"/v1/me/codes/{c.code}/qr.png",
            buy_now_link=buy_now_link,
        )


class RedemptionOut(BaseModel):
    """What the store learns: the code and its offer, nothing about the shopper."""

    code: str
    store_id: int
    offer_id: int
    offer_title: str
    redeemed_at: datetime

    @classmethod
    def of(cls, code: Code, offer: Offer) -> RedemptionOut:
        assert code.used_at is not None, "a redeemed code has its time"
        return cls(
            code=code.code,
            store_id=code.store_id,
            offer_id=offer.id,
            offer_title=offer.title,
            redeemed_at=code.used_at,
        )
