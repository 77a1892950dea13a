"""Catalogue rules, pure: brand slugs, currencies and prices.

* A brand is one row for every store: "Nike", "NIKE " and "Niké" are the same brand, found
  by its slug (accents dropped, lowercased, runs of anything but letters and digits become
  one hyphen, at most 64 characters).
* A price is stored in the currency's minor units (``catalogue.currencies``), an integer
  from 0 to :data:`MAX_PRICE_MINOR`: no float ever holds money.
"""

from __future__ import annotations

import re
import unicodedata

from catalogue.currencies import DECIMALS

MAX_PRICE_MINOR = 10_000_000
"""The largest price accepted, in minor units (100,000.00 EUR): a bigger one is a typo."""

SLUG_MAX = 64
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_DECIMAL = re.compile(r"(\d+)(?:\.(\d+))?")
_TRUE = frozenset({"true", "yes", "1", "y"})
_FALSE = frozenset({"false", "no", "0", "n"})


def brand_slug(name: str) -> str:
    """The brand's key: ``"Lévi's Strauss"`` → ``"levi-s-strauss"``; empty when the name
    has no letter or digit at all."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return _NOT_ALNUM.sub("-", plain.lower()).strip("-")[:SLUG_MAX].rstrip("-")


def currency_problem(code: str) -> str | None:
    """Why ``code`` is not an accepted currency, or None."""
    if not re.fullmatch(r"[A-Z]{3}", code):
        return "must be an ISO 4217 code of three capital letters, e.g. EUR"
    if code not in DECIMALS:
        return f"unknown ISO 4217 currency {code}"
    return None


def to_minor_units(price: str, currency: str) -> int:
    """``"59.90"`` EUR → 5990. Raises ValueError naming the problem: not a plain decimal
    (no sign, exponent or thousands separator), or more decimals than the currency has."""
    match = _DECIMAL.fullmatch(price)
    if match is None:
        raise ValueError(f"price {price[:20]!r} is not a decimal number like 59.90")
    whole, fraction = match.group(1), match.group(2) or ""
    decimals = DECIMALS[currency]
    if len(fraction.rstrip("0")) > decimals:
        raise ValueError(f"price has more decimals than {currency}'s {decimals}")
    fraction = fraction[:decimals].ljust(decimals, "0")
    if len(whole) > 12:  # far past the cap: no need to build a huge integer
        raise ValueError(f"price must be at most {MAX_PRICE_MINOR} minor units")
    return int(whole + fraction)


def parse_flag(value: str) -> bool:
    """A yes/no cell: true/false, yes/no, y/n, 1/0 in any case; empty means yes."""
    word = value.strip().lower()
    if word == "" or word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError(f"active must be true or false, not {value[:20]!r}")
