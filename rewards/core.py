"""Attribution and awards: pure, no I/O, no clock (times are arguments).

Domain rules:

* A purchase is attributed to a look when its buyer opened that look, a friend's, within
  the store's attribution window before the purchase (``attribution_days``, 7 by default),
  and the look features one of the purchased items or the brand of one of them. Of the
  qualifying opens, the most recent wins (the newer look on a tie); a purchase attributes
  to one look at most; a creator never earns from their own purchase, nor from a buyer
  either of them blocked.
* The award is ``amount * points_per_unit`` in whole currency units, rounded down, capped
  per purchase (``per_purchase_cap``) and by what the creator may still earn at that store
  that UTC day (``per_creator_daily_cap``).
* Amounts are decimal strings in the currency's major unit ("12.50" EUR); they are kept in
  minor units, with the ISO 4217 decimals of the currency (``catalogue.currencies``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from catalogue.currencies import DECIMALS
from kernel.errors import Invalid

MAX_AMOUNT_MINOR = 10**11
"""A billion in major units (more in the 3-decimal currencies' minor units): a larger till
ticket is a typo or an attack, refused rather than turned into points."""


def exponent(currency: str) -> int:
    """Decimals of the currency's minor unit; refuses a code that is not ISO 4217."""
    if currency not in DECIMALS:
        raise Invalid(f"currency: {currency!r} is not an ISO 4217 currency code")
    return DECIMALS[currency]


def to_minor(amount: str, currency: str) -> int:
    """``"12.50"`` EUR → 1250; refuses what is not a positive amount the currency can hold."""
    try:
        value = Decimal(amount)
    except InvalidOperation:
        raise Invalid("amount: a decimal number such as 12.50 is expected") from None
    if not value.is_finite() or value <= 0:
        raise Invalid("amount: must be a positive number")
    minor = value.scaleb(exponent(currency))
    if minor != minor.to_integral_value():
        raise Invalid(f"amount: {currency} has {exponent(currency)} decimals at most")
    if minor > MAX_AMOUNT_MINOR:
        raise Invalid("amount: too large for one purchase")
    return int(minor)


@dataclass(frozen=True, slots=True)
class Rule:
    points_per_unit: int
    per_purchase_cap: int
    per_creator_daily_cap: int
    attribution_days: int
    return_days: int


def award(*, amount_minor: int, currency: str, rule: Rule, earned_today: int) -> int:
    """Points the creator earns for a purchase of ``amount_minor``."""
    scale: int = 10 ** exponent(currency)
    base = amount_minor * rule.points_per_unit // scale
    room = max(0, rule.per_creator_daily_cap - earned_today)
    return max(0, min(base, rule.per_purchase_cap, room))


@dataclass(frozen=True, slots=True)
class Open:
    """The buyer opened a look: when, whose, and what it features."""

    look_id: int
    creator_id: int
    opened_at: datetime
    item_ids: frozenset[int]
    brand_ids: frozenset[int]


@dataclass(frozen=True, slots=True)
class Basket:
    buyer_id: int
    item_ids: frozenset[int]
    brand_ids: frozenset[int]
    bought_at: datetime


def attribute(
    opens: Iterable[Open], basket: Basket, *, window_days: int, blocked: frozenset[int]
) -> Open | None:
    """The open the purchase is attributed to, if any (``blocked``: creators the buyer
    blocked or was blocked by)."""
    since = basket.bought_at - timedelta(days=window_days)
    qualifying = [
        o
        for o in opens
        if o.creator_id != basket.buyer_id
        and o.creator_id not in blocked
        and since <= o.opened_at <= basket.bought_at
        and (o.item_ids & basket.item_ids or o.brand_ids & basket.brand_ids)
    ]
    return max(qualifying, key=lambda o: (o.opened_at, o.look_id), default=None)
