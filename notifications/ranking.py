"""How candidates competing for one slot are ordered, and which rule separated two of them.

Pure. The order, first rule first:

1. ``priority``: the store's priority for the offer (-100..100; a look's is 0), higher first;
2. ``overlap``: more of the user's consented segments matched, first;
3. ``fairness``: the store that pushed this user least recently first (never, first of
   all), so one store does not win every contested slot;
4. ``freshness``: the newer offer or look first (an offer's start, else its creation);
5. ``kind``: offers before friends' looks;
6. ``id``: the lower id, so the order is total and the same on every run.
"""

from __future__ import annotations

ORDER_RULES = ("priority", "overlap", "fairness", "freshness", "kind", "id")
"""The components of :attr:`Candidate.order`, named as a decision's ``decided_by`` says."""

Order = tuple[int, int, float, float, int, int]


def order(
    *,
    priority: int,
    overlap: int,
    store_last_push: float | None,
    fresh_at: float,
    look: bool,
    id: int,
) -> Order:
    never = float("-inf")
    return (
        -priority,
        -overlap,
        never if store_last_push is None else store_last_push,
        -fresh_at,
        1 if look else 0,
        id,
    )


def decided_by(first: Order, second: Order) -> str:
    """The first ordering rule on which two candidates differ."""
    return next(
        (name for name, a, b in zip(ORDER_RULES, first, second, strict=True) if a != b), "id"
    )


def rival(orders: list[Order], i: int, sent: bool) -> str | None:
    """The rule that set candidate ``i`` against its nearest rival: the next one for a
    send, the one before for a held-back one."""
    if len(orders) < 2:
        return None
    if (sent and i + 1 < len(orders)) or i == 0:
        return decided_by(orders[i], orders[i + 1])
    return decided_by(orders[i - 1], orders[i])
