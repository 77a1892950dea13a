from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from catalogue import core
from catalogue.models import Brand, Item
from kernel.text import Name, Slug, Title, no_control_chars


def _sku(value: str) -> str:
    if value != value.strip():
        raise ValueError("must not start or end with a space")
    return value


def _currency(value: str) -> str:
    if (problem := core.currency_problem(value)) is not None:
        raise ValueError(problem)
    return value


def _image_url(value: str) -> str:
    # Shown in the app as is: only https, to a host, with nothing a browser would re-read.
    try:
        parts = urlsplit(value)
    except ValueError as error:
        raise ValueError("is not a URL") from error
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise ValueError("must be an https:// URL with a host")
    if any(c.isspace() for c in value):
        raise ValueError("must not contain spaces; percent-encode them")
    return value


def _brand_name(value: str) -> str:
    if not core.brand_slug(value):
        raise ValueError("must contain a letter or a digit")
    return value


_Clean = AfterValidator(no_control_chars)

Sku = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64),
    _Clean,
    AfterValidator(_sku),
    Field(description="The store's own stock-keeping unit, unique within the store."),
]
BrandName = Annotated[Title, AfterValidator(_brand_name)]
Currency = Annotated[
    str,
    StringConstraints(min_length=1, max_length=8),
    AfterValidator(_currency),
    Field(description="ISO 4217 code in capitals.", examples=["EUR"]),
]
PriceMinor = Annotated[
    int,
    Field(
        ge=0,
        le=core.MAX_PRICE_MINOR,
        description="Price in the currency's minor units: 5990 is 59.90 EUR (or 5990 JPY).",
        examples=[5990],
    ),
]
ImageUrl = Annotated[
    str, StringConstraints(min_length=1, max_length=1000), _Clean, AfterValidator(_image_url)
]
SegmentSlug = Annotated[Slug, Field(description="A segment slug (see GET /v1/segments).")]


class ItemCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "sku": "AIR-MAX-90-42",
                    "name": "Air Max 90",
                    "brand": "Nike",
                    "segment": "shoes",
                    "image_url": "https://cdn.example.com/airmax90.jpg",
                    "price_minor": 13990,
                    "currency": "EUR",
                }
            ]
        },
    )
    sku: Sku
    name: Name
    brand: BrandName | None = Field(
        default=None, description="The brand's name; found, or created, by its slug."
    )
    segment: SegmentSlug | None = None
    image_url: ImageUrl | None = None
    price_minor: PriceMinor
    currency: Currency
    active: bool = True


class ItemUpdate(BaseModel):
    """Only what is sent changes; ``brand``, ``segment`` and ``image_url`` null clear them."""

    model_config = ConfigDict(extra="forbid")
    sku: Sku | None = None
    name: Name | None = None
    brand: BrandName | None = None
    segment: SegmentSlug | None = None
    image_url: ImageUrl | None = None
    price_minor: PriceMinor | None = None
    currency: Currency | None = None
    active: bool | None = None


class BrandCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"name": "Nike"}]})
    name: BrandName


class BrandOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    slug: str
    created_at: datetime

    @classmethod
    def of(cls, b: Brand) -> BrandOut:
        return cls.model_validate(b)


class ItemOut(BaseModel):
    id: int
    store_id: int
    sku: str
    name: str
    brand: BrandOut | None
    segment: str | None = Field(description="The segment's slug.")
    image_url: str | None
    price_minor: int
    currency: str
    active: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, i: Item) -> ItemOut:
        return cls(
            id=i.id,
            store_id=i.store_id,
            sku=i.sku,
            name=i.name,
            brand=None if i.brand is None else BrandOut.of(i.brand),
            segment=None if i.segment is None else i.segment.slug,
            image_url=i.image_url,
            price_minor=i.price_minor,
            currency=i.currency,
            active=i.active,
            created_at=i.created_at,
            updated_at=i.updated_at,
        )


class Rejection(BaseModel):
    line: int = Field(description="The row's line in the file (the header is line 1).")
    sku: str | None = Field(description="The row's SKU, when it had a readable one.")
    reason: str


class ImportReportOut(BaseModel):
    created: int
    updated: int
    unchanged: int
    rejected: list[Rejection] = Field(description="Rows not imported, in file order.")
