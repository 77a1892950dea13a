"""The ledger's pure rules: transfers, posting plans, and a property over any sequence of
earns, releases, voids, reversals and spends (balances are the sum of their entries, the
books balance, no user balance below zero)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernel.errors import Conflict
from rewards import ledger_core as lc
from rewards.ledger_core import AccountKind, Transfer, TransferKind


def test_a_transfer_moves_a_positive_amount_between_two_accounts_of_one_store() -> None:
    a, b = lc.store_liability(1), lc.pending(1, 7)
    with pytest.raises(ValueError, match="positive"):
        Transfer(TransferKind.EARN, a, b, 0, "k")
    with pytest.raises(ValueError, match="positive"):
        Transfer(TransferKind.EARN, a, b, -5, "k")
    with pytest.raises(ValueError, match="different"):
        Transfer(TransferKind.EARN, a, a, 5, "k")
    with pytest.raises(ValueError, match="one store"):
        Transfer(TransferKind.EARN, a, lc.pending(2, 7), 5, "k")


def test_accounts_name_a_user_exactly_when_they_are_a_users() -> None:
    with pytest.raises(ValueError, match="user id"):
        lc.Account(AccountKind.USER_PENDING, 1)
    with pytest.raises(ValueError, match="user id"):
        lc.Account(AccountKind.STORE_LOSS, 1, 3)
    assert lc.available(4, 9).key == "user_available:4:9"
    assert lc.store_liability(4).key == "store_liability:4"


def test_earn_release_spend_and_the_books_balance() -> None:
    plan = lc.earn(purchase_id=1, store_id=2, creator_id=3, points=40)
    plan += lc.release(purchase_id=1, store_id=2, creator_id=3, points=40)
    balances = lc.apply({}, plan)
    plan2 = lc.spend(code_id=9, store_id=2, user_id=3, points=15, held=balances[lc.available(2, 3)])
    balances = lc.apply(balances, plan2)
    assert balances == {
        lc.store_liability(2): -25,
        lc.pending(2, 3): 0,
        lc.available(2, 3): 25,
    }
    assert sum(balances.values()) == 0
    assert [t.key for t in plan + plan2] == ["earn:1", "release:1", "spend:9"]


def test_nothing_earned_posts_nothing() -> None:
    assert lc.earn(purchase_id=1, store_id=2, creator_id=3, points=0) == []
    assert lc.release(purchase_id=1, store_id=2, creator_id=3, points=0) == []
    assert lc.void(purchase_id=1, store_id=2, creator_id=3, points=0) == []
    assert lc.reverse(purchase_id=1, store_id=2, creator_id=3, points=0, held=5) == []


def test_spending_more_than_is_available_is_refused() -> None:
    with pytest.raises(Conflict, match="only 10 points"):
        lc.spend(code_id=1, store_id=2, user_id=3, points=11, held=10)


def test_a_reversal_takes_what_is_held_and_books_the_rest_as_the_stores_loss() -> None:
    plan = lc.reverse(purchase_id=5, store_id=2, creator_id=3, points=40, held=15)
    assert [(t.kind, t.source, t.destination, t.amount) for t in plan] == [
        (TransferKind.REVERSE, lc.available(2, 3), lc.store_liability(2), 15),
        (TransferKind.LOSS, lc.store_loss(2), lc.store_liability(2), 25),
    ]
    full = lc.reverse(purchase_id=5, store_id=2, creator_id=3, points=40, held=90)
    assert [(t.kind, t.amount) for t in full] == [(TransferKind.REVERSE, 40)]


def test_apply_refuses_a_negative_user_balance_but_not_a_stores() -> None:
    out = lc.apply({}, lc.earn(purchase_id=1, store_id=2, creator_id=3, points=5))
    assert out[lc.store_liability(2)] == -5
    with pytest.raises(Conflict, match="below zero"):
        lc.apply(
            out, [Transfer(TransferKind.SPEND, lc.available(2, 3), lc.store_liability(2), 1, "x")]
        )


def test_the_cores_do_no_io() -> None:
    forbidden = {"sqlalchemy", "fastapi", "redis", "celery", "kernel.db", "server"}
    for name in ("ledger_core.py", "core.py"):
        tree = ast.parse((Path(__file__).parents[2] / "rewards" / name).read_text())
        imported = {
            (n.module or "") if isinstance(n, ast.ImportFrom) else a.name
            for n in ast.walk(tree)
            if isinstance(n, ast.Import | ast.ImportFrom)
            for a in n.names
        }
        assert not {m for m in imported if m in forbidden or m.split(".")[0] in forbidden}


# A model of the books: purchases (award, released?, refunded?) posted through the core.
Op = tuple[str, int, int]
ops = st.lists(
    st.tuples(
        st.sampled_from(["purchase", "release", "refund", "spend", "replay"]),
        st.integers(min_value=0, max_value=5),
        st.integers(min_value=0, max_value=300),
    ),
    max_size=60,
)


@given(ops)
def test_any_sequence_keeps_the_books_balanced_and_users_above_zero(sequence: list[Op]) -> None:
    store, posted = 1, []
    balances: dict[lc.Account, int] = {}
    purchases: dict[int, tuple[int, int, str]] = {}  # id -> (creator, points, state)
    keys: set[str] = set()

    def post(plan: list[Transfer]) -> None:
        nonlocal balances
        fresh = [t for t in plan if t.key not in keys]  # idempotent by key
        balances = lc.apply(balances, fresh)
        keys.update(t.key for t in fresh)
        posted.extend(fresh)

    for op, who, n in sequence:
        pid = len(purchases) + 1
        if op == "purchase":
            purchases[pid] = (who, n, "pending")
            post(lc.earn(purchase_id=pid, store_id=store, creator_id=who, points=n))
        elif op == "replay" and purchases:
            p = max(purchases)
            post(
                lc.earn(
                    purchase_id=p,
                    store_id=store,
                    creator_id=purchases[p][0],
                    points=purchases[p][1],
                )
            )
        elif op in ("release", "refund") and purchases:
            p = 1 + n % len(purchases)
            creator, points, state = purchases[p]
            if op == "release" and state == "pending":
                post(lc.release(purchase_id=p, store_id=store, creator_id=creator, points=points))
                purchases[p] = (creator, points, "available")
            elif op == "refund" and state == "pending":
                post(lc.void(purchase_id=p, store_id=store, creator_id=creator, points=points))
                purchases[p] = (creator, points, "voided")
            elif op == "refund" and state == "available":
                held = balances.get(lc.available(store, creator), 0)
                post(
                    lc.reverse(
                        purchase_id=p, store_id=store, creator_id=creator, points=points, held=held
                    )
                )
                purchases[p] = (creator, points, "reversed")
        elif op == "spend":
            held = balances.get(lc.available(store, who), 0)
            try:
                post(
                    lc.spend(
                        code_id=len(posted) + 1,
                        store_id=store,
                        user_id=who,
                        points=max(n, 1),
                        held=held,
                    )
                )
            except Conflict:
                assert max(n, 1) > held
        for account, balance in balances.items():
            entries = sum(t.amount for t in posted if t.destination == account) - sum(
                t.amount for t in posted if t.source == account
            )
            assert balance == entries
            assert balance >= 0 or account.kind in lc.MAY_GO_NEGATIVE
        assert sum(balances.values()) == 0


def test_an_erased_user_forfeits_what_they_hold_to_the_store() -> None:
    [t] = lc.forfeit(account=lc.available(2, 3), account_id=8, held=30)
    assert (t.kind, t.source, t.destination, t.amount, t.key) == (
        TransferKind.FORFEIT,
        lc.available(2, 3),
        lc.store_liability(2),
        30,
        "forfeit:8",
    )
    assert lc.forfeit(account=lc.pending(2, 3), account_id=9, held=0) == []
    with pytest.raises(ValueError, match="user's"):
        lc.forfeit(account=lc.store_loss(2), account_id=1, held=5)
