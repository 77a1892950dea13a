"""Keyset pagination shared by every list endpoint: ``?after=<cursor>&limit=<n>``.

One convention everywhere: pass the page's ``next_after`` as ``after`` to get the next page;
``next_after`` is null on the last page. Oldest-first lists return ids above the cursor;
newest-first lists (a user's notifications) return ids below it, and ``after=0`` starts at
the newest. :func:`keyset` is the one place that writes the query.
"""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field
from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute

from kernel.ids import MAX_ID

T = TypeVar("T")
Row = TypeVar("Row")

After = Annotated[
    int,
    Query(
        ge=0,
        le=MAX_ID,
        description="The previous page's `next_after`; 0 (the default) for the first page.",
    ),
]
Limit = Annotated[int, Query(ge=1, le=200, description="Page size (1 to 200).")]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_after: int | None = Field(
        description="Pass as `after` to get the next page; null on the last page."
    )


def keyset(
    query: Select[Row],
    key: InstrumentedAttribute[int],
    *,
    after: int,
    limit: int,
    newest_first: bool = False,
) -> Select[Row]:
    """``query`` restricted to one page after the cursor, ordered by ``key``."""
    if newest_first:
        if after:
            query = query.where(key < after)
        return query.order_by(key.desc()).limit(limit)
    return query.where(key > after).order_by(key).limit(limit)


def next_cursor(ids: list[int], limit: int) -> int | None:
    return ids[-1] if len(ids) == limit else None
