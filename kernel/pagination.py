"""Keyset pagination shared by every list endpoint: ``?after=<id>&limit=<n>``."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field

from kernel.ids import MAX_ID

T = TypeVar("T")

After = Annotated[
    int, Query(ge=0, le=MAX_ID, description="Return items with an id above this cursor.")
]
Limit = Annotated[int, Query(ge=1, le=200, description="Page size (1 to 200).")]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_after: int | None = Field(
        description="Pass as `after` to get the next page; null on the last page."
    )


def next_cursor(ids: list[int], limit: int) -> int | None:
    return ids[-1] if len(ids) == limit else None
