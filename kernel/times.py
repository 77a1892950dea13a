"""Timestamps as clients send them: an ISO 8601 date-time string with a zone offset.

Pydantic's lax ``datetime`` also takes numbers (and numeric strings) as epoch seconds;
a client sending those has a bug the API should name, not guess around.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BeforeValidator, WithJsonSchema

EXAMPLE = "2026-11-23T10:00:00Z"


def _iso_8601(value: object) -> datetime:
    if isinstance(value, datetime):  # built in code, not parsed from a request
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"must be an ISO 8601 date-time, e.g. {EXAMPLE}") from None
    else:
        raise ValueError(f"must be an ISO 8601 date-time string, e.g. {EXAMPLE}, not a number")
    if parsed.tzinfo is None:
        raise ValueError(f"needs a time zone offset, e.g. {EXAMPLE}")
    return parsed


Timestamp = Annotated[
    datetime,
    BeforeValidator(_iso_8601),
    WithJsonSchema({"type": "string", "format": "date-time", "examples": [EXAMPLE]}),
]
