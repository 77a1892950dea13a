"""Who is in an offer's control group: pure, stable per user and offer, proportional.

A user is held out of an offer when a hash of (offer, user) falls in the offer's first
``holdout_pct`` percent: the same user stays in the same group for the offer's whole life
(lift needs stable groups), different offers split users independently, and over many
users the group's share tends to ``holdout_pct``. SHA-256 rather than Python's ``hash``:
the latter is salted per process, and every process must agree.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

BUCKETS = 10_000  # basis points: a percent is 100 buckets


def bucket(offer_id: int, user_id: int) -> int:
    digest = hashlib.sha256(f"holdout:{offer_id}:{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def held_out(user_id: int, offers: Iterable[tuple[int, int]]) -> frozenset[int]:
    """The offers, given as (id, holdout percent), whose control group holds the user."""
    return frozenset(
        offer_id
        for offer_id, pct in offers
        if pct > 0 and bucket(offer_id, user_id) < pct * (BUCKETS // 100)
    )
