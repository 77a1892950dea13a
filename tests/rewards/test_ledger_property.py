"""A hypothesis property on the real ledger (PostgreSQL): for any sequence of purchases,
replays, refunds (inside or after the window), releases and spends, every balance is the
sum of its entries, the books balance, and no user's balance is ever below zero."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from kernel.db import unit_of_work, utcnow
from kernel.errors import DomainError
from redemptions.service import issue_spend_code
from rewards import points, service
from rewards.schemas import PurchaseIn
from tests.conftest import truncate
from tests.rewards.factories import RULE, assert_books_balance, books, purchase, token, world

Op = tuple[str, int]
OPS = st.lists(
    st.tuples(
        st.sampled_from(["purchase", "replay", "refund", "late_refund", "release", "spend"]),
        st.integers(min_value=1, max_value=200),
    ),
    min_size=1,
    max_size=14,
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=OPS)
def test_any_sequence_keeps_the_books(
    client: TestClient, sessions: sessionmaker[Session], ops: list[Op]
) -> None:
    truncate(sessions.kw["bind"])
    w = world(client, sessions, rule={**RULE, "per_creator_daily_cap": 100_000})
    now = utcnow()
    later = now + timedelta(days=RULE["return_days"] + 1)
    reported: list[PurchaseIn] = []
    for op, n in ops:
        refused: DomainError | None = None
        try:
            with unit_of_work(sessions) as session:
                if op == "purchase":
                    body = purchase(
                        token(sessions, w.buyer_id, w.store_id),
                        spid=f"p{len(reported)}",
                        amount=f"{n}.50",
                    )
                    data = PurchaseIn.model_validate(body)
                    service.report_purchase(
                        session, staff=w.staff, store_id=w.store_id, data=data, now=now
                    )
                    reported.append(data)
                elif op == "replay" and reported:
                    before = books(sessions)
                    data = reported[n % len(reported)]
                    _, created = service.report_purchase(
                        session, staff=w.staff, store_id=w.store_id, data=data, now=now
                    )
                    assert not created
                    assert books(sessions) == before
                elif op in ("refund", "late_refund") and reported:
                    service.refund_purchase(
                        session,
                        staff=w.staff,
                        store_id=w.store_id,
                        store_purchase_id=reported[n % len(reported)].store_purchase_id,
                        now=now if op == "refund" else later,
                    )
                elif op == "release":
                    service.release_pending(session, now=later)
                elif op == "spend":
                    code = issue_spend_code(
                        session, user_id=w.creator_id, store_id=w.store_id, points=n, now=now
                    )
                    points.confirm_spend(
                        session, staff=w.staff, store_id=w.store_id, code=code.code, now=now
                    )
        except DomainError as exc:
            refused = exc
        if refused is not None:  # only an overdraw is refused, and it posts nothing
            assert (op, refused.status_code) == ("spend", 409), refused
        assert_books_balance(sessions)
