"""Text as it may arrive in a request: bounded in length and free of control characters.

Every string field of a request schema uses one of these types, so a 10 MB name is refused
by its length before anything else looks at it, a NUL byte never reaches the database, and
the error names the field and the rule, never the value.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Annotated
from urllib.parse import urlsplit
from zoneinfo import available_timezones

from fastapi import Path
from pydantic import AfterValidator, Field, StringConstraints

from kernel.config import get_settings

# C0 (U+0000-U+001F), DEL and C1 (U+0080-U+009F): never meaningful in a name, a title or
# a push body, and NUL is refused by PostgreSQL text columns (a 500 rather than a 422).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def no_control_chars(value: str) -> str:
    found = _CONTROL.search(value)
    if found is not None:
        raise ValueError(
            f"must not contain control characters (U+{ord(found.group()):04X} "
            f"at position {found.start()})"
        )
    return value


def _text(max_length: int, min_length: int = 1) -> StringConstraints:
    return StringConstraints(min_length=min_length, max_length=max_length)


_Clean = AfterValidator(no_control_chars)

Slug = Annotated[str, _text(64), _Clean]
"""A short identifier: a segment slug, a version, a source, a platform."""
Name = Annotated[str, _text(200), _Clean]
"""A name or label shown to people: a store, a geofence, an API key."""
Title = Annotated[str, _text(120), _Clean]
"""A push title, a segment label."""
Body = Annotated[str, _text(1000), _Clean]
"""A push body, an address, a note."""
Token = Annotated[str, _text(4096), _Clean]
"""An opaque token from elsewhere (an FCM registration token)."""
SlugPath = Annotated[str, Path(min_length=1, max_length=64), AfterValidator(no_control_chars)]
"""A slug in a URL path."""
Document = Annotated[str, _text(200_000), Field(description="Long text, e.g. a policy.")]
"""Long text that may have line breaks (a policy's full text): length-bounded only."""


@cache
def known_time_zones() -> frozenset[str]:
    """The IANA names on this machine, read once: listing them reads hundreds of files."""
    return frozenset(available_timezones())


def known_time_zone(value: str) -> str:
    if value not in known_time_zones():
        raise ValueError("unknown time zone; use an IANA name such as Europe/Paris")
    return value


TimeZoneName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64),
    AfterValidator(known_time_zone),
    Field(description="IANA time zone, e.g. Europe/Paris.", examples=["Europe/Paris"]),
]


def allowed_deep_link(value: str) -> str:
    # Read per call, not at import: the schemes are a setting (VICINITY_DEEP_LINK_SCHEMES).
    schemes = get_settings().deep_link_schemes
    scheme = urlsplit(value).scheme.lower()
    if scheme not in schemes:
        raise ValueError(f"a deep link must use one of the schemes {', '.join(schemes)}")
    return value


DeepLink = Annotated[
    str,
    StringConstraints(min_length=1, max_length=1000),
    _Clean,
    AfterValidator(allowed_deep_link),
    Field(description="An https URL or a link in one of the app's schemes (vicinity://…)."),
]
