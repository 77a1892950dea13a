"""Invite codes and what a profile may show, as pure rules.

An invite code is 8 symbols of Crockford's Base32 (https://www.crockford.com/base32.html:
digits and capitals without I, L, O and U), 40 bits, read aloud or typed without
confusion: reading is forgiving (case, spaces and hyphens ignored, O read as 0, I and L
as 1), and a pasted link works as well as the bare code. The code travels as a deep link
in the app's own scheme (``vicinity://invite/<code>``). An avatar is an https URL: the
apps load it from friends' screens, so no other scheme (http, data:, javascript:) passes.
A display name carries no bidirectional overrides, which can make one name read as another.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 8
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1", "-": None, " ": None})
_WEB_SCHEMES = frozenset({"http", "https"})
FALLBACK_APP_SCHEME = "vicinity"
# U+202A-U+202E embeddings and overrides, U+2066-U+2069 isolates.
_BIDI_CONTROLS = re.compile(r"[\u202a-\u202e\u2066-\u2069]")


def new_code(choose: Callable[[str], str] = secrets.choice) -> str:
    return "".join(choose(ALPHABET) for _ in range(CODE_LENGTH))


def read_code(raw: str) -> str | None:
    """The code in what a person typed or pasted (a bare code or an invite link), or None
    when it cannot be one."""
    text = raw.strip()
    if "/" in text:
        try:
            text = urlsplit(text).path.rstrip("/").rpartition("/")[2]
        except ValueError:  # e.g. an unclosed IPv6 bracket
            return None
    code = text.upper().translate(_READ_AS)
    if len(code) != CODE_LENGTH or any(c not in ALPHABET for c in code):
        return None
    return code


def app_scheme(schemes: Sequence[str]) -> str:
    """The app's own link scheme: the first configured deep-link scheme that is not the
    web's (an https link would need a host this server does not know)."""
    return next((s for s in schemes if s.lower() not in _WEB_SCHEMES), FALLBACK_APP_SCHEME)


def invite_link(scheme: str, code: str) -> str:
    return f"{scheme}://invite/{code}"


def https_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise ValueError("must be an https URL with a host (https://…)")
    if any(c.isspace() for c in value):
        raise ValueError("must not contain spaces")
    return value


def display_name(value: str) -> str:
    name = value.strip()
    if not name:
        raise ValueError("must not be blank")
    if _BIDI_CONTROLS.search(name):
        raise ValueError("must not contain bidirectional override characters")
    return name
