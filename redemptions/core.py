"""Redemption codes: their alphabet, how they are made and read back, and how long they live.

A code is read aloud, typed at a till or scanned, so it is short and unambiguous: eight
characters from Crockford's base 32 without the letter U (0, 1, I, L, O and U are left
out; 30 symbols, 30^8, about 6.6e11 codes), uppercase, drawn with ``secrets``. What a person
types is read back leniently (lowercase, spaces and hyphens such as ``ABCD-2345``).

Lifetimes: an offer's code lives as long as its offer (30 days when the offer has no end);
a purchase token and a spend code, shown at the till, live 15 minutes.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta
from enum import StrEnum


class Kind(StrEnum):
    OFFER = "offer"  # carried by a pushed offer, confirmed by the store's staff
    SPEND = "spend"  # spends points at a store (rewards confirms it)
    PURCHASE = "purchase"  # identifies the shopper when a store reports a purchase


ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 8

OFFER_DEFAULT_TTL = timedelta(days=30)
PURCHASE_TTL = timedelta(minutes=15)
SPEND_TTL = timedelta(minutes=15)

_SEPARATORS = re.compile(r"[ \-]")
_CODE = re.compile(f"[{ALPHABET}]{{{LENGTH}}}")


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def parse_code(text: str) -> str:
    """The code in ``text`` as stored (uppercase, no separators); ``ValueError`` if it
    cannot be one. The message names the rule, never the value."""
    code = _SEPARATORS.sub("", text).upper()
    if _CODE.fullmatch(code) is None:
        raise ValueError(
            f"a redemption code is {LENGTH} characters from {ALPHABET} "
            "(spaces and hyphens allowed between them)"
        )
    return code


def offer_code_expiry(ends_at: datetime | None, now: datetime) -> datetime:
    """An offer's code expires with the offer; an offer without an end, after 30 days."""
    return ends_at if ends_at is not None else now + OFFER_DEFAULT_TTL


def effective_expiry(code_expiry: datetime, offer_ends_at: datetime | None) -> datetime:
    """When a code stops working: its own expiry, or its offer's end if the store has
    since moved that earlier."""
    if offer_ends_at is not None and offer_ends_at < code_expiry:
        return offer_ends_at
    return code_expiry
