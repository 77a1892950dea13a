"""The points ledger's rules: pure, no I/O, no clock.

Domain rules:

* Every movement of points is one :class:`Transfer` of a positive whole number of points
  from one account (its balance goes down) to another (its balance goes up), never to
  itself. Nothing else changes a balance, so every balance is the sum of its entries and
  all balances together always sum to zero.
* Accounts belong to one store. Per store: ``store_liability`` (minus the points the
  store has handed out and not had back) and ``store_loss`` (minus the points it wrote
  off). Per user and store: ``user_pending`` (earned, inside the store's return window)
  and ``user_available`` (spendable at that store). Only the two store accounts may go
  below zero; a user's balance never does.
* Earning: store liability → the creator's pending. After the return window: pending →
  available (release). A refund inside the window voids the pending points (pending →
  liability). A refund after it reverses the award from the creator's available
  points as far as they go (available → liability); what was already spent is
  the store's loss (store loss → liability), never a negative balance.
* Spending at a store: available → that store's liability, no more than is available.
* A user who erases their account forfeits what they hold: each of their accounts →
  the store's liability.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from kernel.errors import Conflict


class AccountKind(StrEnum):
    STORE_LIABILITY = "store_liability"
    STORE_LOSS = "store_loss"
    USER_PENDING = "user_pending"
    USER_AVAILABLE = "user_available"


MAY_GO_NEGATIVE = frozenset({AccountKind.STORE_LIABILITY, AccountKind.STORE_LOSS})
USER_KINDS = frozenset({AccountKind.USER_PENDING, AccountKind.USER_AVAILABLE})


class TransferKind(StrEnum):
    EARN = "earn"
    RELEASE = "release"
    VOID = "void"
    REVERSE = "reverse"
    LOSS = "loss"
    SPEND = "spend"
    FORFEIT = "forfeit"


@dataclass(frozen=True, slots=True, order=True)
class Account:
    """Which account: its kind, its store and, for a user's account, the user."""

    kind: AccountKind
    store_id: int
    user_id: int | None = None

    def __post_init__(self) -> None:
        if (self.kind in USER_KINDS) != (self.user_id is not None):
            raise ValueError(f"{self.kind} account: a user id exactly when it is a user's")

    @property
    def key(self) -> str:
        """Unique per account: the database refuses a second row for the same one."""
        if self.user_id is None:
            return f"{self.kind}:{self.store_id}"
        return f"{self.kind}:{self.store_id}:{self.user_id}"


def store_liability(store_id: int) -> Account:
    return Account(AccountKind.STORE_LIABILITY, store_id)


def store_loss(store_id: int) -> Account:
    return Account(AccountKind.STORE_LOSS, store_id)


def pending(store_id: int, user_id: int) -> Account:
    return Account(AccountKind.USER_PENDING, store_id, user_id)


def available(store_id: int, user_id: int) -> Account:
    return Account(AccountKind.USER_AVAILABLE, store_id, user_id)


@dataclass(frozen=True, slots=True)
class Transfer:
    """``amount`` points from ``source`` to ``destination``; ``key`` makes it happen once."""

    kind: TransferKind
    source: Account
    destination: Account
    amount: int
    key: str

    def __post_init__(self) -> None:
        if self.amount <= 0:
            raise ValueError(f"a transfer moves a positive amount, not {self.amount}")
        if self.source == self.destination:
            raise ValueError("a transfer moves points between two different accounts")
        if self.source.store_id != self.destination.store_id:
            raise ValueError("points move within one store's books")


def earn(*, purchase_id: int, store_id: int, creator_id: int, points: int) -> list[Transfer]:
    """A creator's award for a purchase, pending through the return window."""
    if points == 0:
        return []
    return [
        Transfer(
            TransferKind.EARN,
            store_liability(store_id),
            pending(store_id, creator_id),
            points,
            f"earn:{purchase_id}",
        )
    ]


def release(*, purchase_id: int, store_id: int, creator_id: int, points: int) -> list[Transfer]:
    """The return window is over: the award becomes spendable."""
    if points == 0:
        return []
    return [
        Transfer(
            TransferKind.RELEASE,
            pending(store_id, creator_id),
            available(store_id, creator_id),
            points,
            f"release:{purchase_id}",
        )
    ]


def void(*, purchase_id: int, store_id: int, creator_id: int, points: int) -> list[Transfer]:
    """A refund inside the return window: the pending award goes back to the store."""
    if points == 0:
        return []
    return [
        Transfer(
            TransferKind.VOID,
            pending(store_id, creator_id),
            store_liability(store_id),
            points,
            f"void:{purchase_id}",
        )
    ]


def reverse(
    *, purchase_id: int, store_id: int, creator_id: int, points: int, held: int
) -> list[Transfer]:
    """A refund after the window: take the award back from the ``held`` available points
    as far as they go; the shortfall (points already spent) is the store's loss."""
    if held < 0:
        raise ValueError("a user's balance is never negative")
    recovered = min(points, held)
    plan = []
    if recovered:
        plan.append(
            Transfer(
                TransferKind.REVERSE,
                available(store_id, creator_id),
                store_liability(store_id),
                recovered,
                f"reverse:{purchase_id}",
            )
        )
    if points - recovered:
        plan.append(
            Transfer(
                TransferKind.LOSS,
                store_loss(store_id),
                store_liability(store_id),
                points - recovered,
                f"loss:{purchase_id}",
            )
        )
    return plan


def spend(*, code_id: int, store_id: int, user_id: int, points: int, held: int) -> list[Transfer]:
    """Points spent at the store that issued them, never more than ``held``."""
    if points > held:
        raise Conflict(f"only {held} points are available at store {store_id}, not {points}")
    return [
        Transfer(
            TransferKind.SPEND,
            available(store_id, user_id),
            store_liability(store_id),
            points,
            f"spend:{code_id}",
        )
    ]


def forfeit(*, account: Account, account_id: int, held: int) -> list[Transfer]:
    """What an erased user held goes back to the store (keyed by the account's row id:
    its key changes when the user is pseudonymised)."""
    if account.kind not in USER_KINDS:
        raise ValueError("only a user's points are forfeited")
    if held == 0:
        return []
    return [
        Transfer(
            TransferKind.FORFEIT,
            account,
            store_liability(account.store_id),
            held,
            f"forfeit:{account_id}",
        )
    ]


def apply(balances: Mapping[Account, int], transfers: Iterable[Transfer]) -> dict[Account, int]:
    """Balances after the transfers; refuses any that would take a user's below zero."""
    after = dict(balances)
    for t in transfers:
        after[t.source] = after.get(t.source, 0) - t.amount
        after[t.destination] = after.get(t.destination, 0) + t.amount
        if after[t.source] < 0 and t.source.kind not in MAY_GO_NEGATIVE:
            raise Conflict(f"{t.source.key} would go below zero")
    return after


def touched(transfers: Iterable[Transfer]) -> set[Account]:
    """Every account the transfers move points in or out of."""
    return {a for t in transfers for a in (t.source, t.destination)}
