from __future__ import annotations

from datetime import datetime
from typing import Annotated, Self

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from kernel.ids import DbId
from kernel.text import Slug

StorePurchaseId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$"),
    Field(description="The store's own id of the purchase (letters, digits, `._:-`)."),
]
StorePurchaseIdPath = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
]
Currency = Annotated[
    str,
    StringConstraints(min_length=3, max_length=3, pattern=r"^[A-Z]{3}$"),
    Field(description="ISO 4217 code, e.g. EUR.", examples=["EUR"]),
]
CodeText = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9 -]+$"),
    Field(description="The code or token shown by the shopper's app."),
]
Points = Annotated[int, Field(ge=1, le=10_000_000)]


class RuleIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "currency": "EUR",
                    "points_per_unit": 2,
                    "per_purchase_cap": 200,
                    "per_creator_daily_cap": 500,
                }
            ]
        },
    )
    currency: Currency
    points_per_unit: int = Field(ge=0, le=1000, description="Points per whole currency unit.")
    per_purchase_cap: int = Field(ge=0, le=10_000_000)
    per_creator_daily_cap: int = Field(
        ge=0, le=10_000_000, description="Most a creator earns at this store per UTC day."
    )
    attribution_days: int = Field(
        default=7, ge=1, le=90, description="How long after opening a look a purchase counts."
    )
    return_days: int = Field(
        default=14, ge=0, le=365, description="Points stay pending this long (returns)."
    )


class RuleOut(RuleIn):
    store_id: int
    configured: bool = Field(description="False: the defaults, which award no points.")


class ItemRef(BaseModel):
    """One purchased item: the store's SKU or the catalogue item id, not both."""

    model_config = ConfigDict(extra="forbid")
    sku: Slug | None = None
    item_id: DbId | None = None

    @model_validator(mode="after")
    def _one_of(self) -> Self:
        if (self.sku is None) == (self.item_id is None):
            raise ValueError("give exactly one of sku and item_id")
        return self


class PurchaseIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "code": "7K3Q-9XPM",
                    "store_purchase_id": "till-4-000123",
                    "amount": "59.90",
                    "currency": "EUR",
                    "items": [{"sku": "BOOT-42"}],
                }
            ]
        },
    )
    code: CodeText
    store_purchase_id: StorePurchaseId
    amount: str = Field(
        min_length=1,
        max_length=24,
        pattern=r"^[0-9]+(\.[0-9]+)?$",
        description='Decimal string in the currency\'s major unit: "59.90" EUR is 59 euros '
        "90 cents (never minor units, never a JSON number).",
    )
    currency: Currency
    items: list[ItemRef] = Field(min_length=1, max_length=200)


class PurchaseOut(BaseModel):
    """What the store learns back: never who the buyer or the creator is."""

    id: int
    store_id: int
    store_purchase_id: str
    amount_minor: int
    currency: str
    item_ids: list[int]
    attributed: bool
    points: int
    status: str = Field(description="none, pending, available, voided or reversed.")
    created_at: datetime
    available_at: datetime
    refunded_at: datetime | None


class SpendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    store_id: DbId
    points: Points


class SpendCodeOut(BaseModel):
    code: str
    store_id: int
    points: int
    expires_at: datetime


class RedemptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: CodeText


class RedemptionOut(BaseModel):
    code: str
    store_id: int
    points: int
    confirmed_at: datetime


class StoreBalance(BaseModel):
    store_id: int
    store_name: str
    pending: int
    available: int


class Origin(BaseModel):
    look_id: int | None = Field(description="The look that earned the points.")
    friend: str | None = Field(
        description="Display name of the friend whose purchase earned them (never an id)."
    )
    store_purchase: bool = Field(description="True when the line comes from a purchase.")


class LineOut(BaseModel):
    id: int
    kind: str = Field(description="earn, release, void, reverse, spend (or forfeit).")
    store_id: int
    pending_change: int
    available_change: int
    created_at: datetime
    origin: Origin


class PointsOut(BaseModel):
    pending: int
    available: int
    stores: list[StoreBalance]
    items: list[LineOut] = Field(description="Ledger lines, newest first.")
    next_after: int | None
