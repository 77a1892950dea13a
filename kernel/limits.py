"""Batch limits checked before the items of a batch are validated one by one."""

from __future__ import annotations

from typing import Any

from kernel.config import get_settings
from kernel.errors import PayloadTooLarge


def refuse_oversized_batch(data: Any, field: str, what: str) -> Any:
    """For a ``mode="before"`` model validator: count the raw list, build nothing.

    Raises :class:`PayloadTooLarge` (413) rather than a ``ValueError``: pydantic lets other
    exceptions through, so the answer is the documented 413, not a 422 per item.
    """
    items = data.get(field) if isinstance(data, dict) else None
    limit = get_settings().max_batch
    if isinstance(items, list) and len(items) > limit:
        raise PayloadTooLarge(f"{len(items)} {what} in one batch; the maximum is {limit}")
    return data
