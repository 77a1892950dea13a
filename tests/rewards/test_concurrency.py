"""Parallel requests on PostgreSQL: spends of one balance never overdraw it, and the
same purchase reported twice at once is recorded once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from kernel.db import unit_of_work, utcnow
from kernel.errors import Conflict
from redemptions.service import issue_spend_code
from rewards import points, service
from rewards.schemas import PurchaseIn
from tests.factories import auth
from tests.rewards.factories import (
    RULE,
    assert_books_balance,
    books,
    purchase,
    token,
    world,
)

T = TypeVar("T")
PARALLEL = 6


def at_once(calls: list[Callable[[], T]]) -> list[T | Exception]:
    """Run the calls on threads released together; each result or its exception."""
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], T]) -> T | Exception:
        start.wait(timeout=10)
        try:
            return call()
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def test_parallel_spends_of_one_balance_cannot_overdraw_it(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    w = world(client, sessions, rule={**RULE, "return_days": 0})
    body = purchase(token(sessions, w.buyer_id, w.store_id))
    client.post(f"/v1/stores/{w.store_id}/purchases", json=body, headers=auth(w.key))
    with unit_of_work(sessions) as session:
        service.release_pending(session, now=utcnow())
    # Six codes of 50 each against 119 available: each was fine when it was issued.
    with unit_of_work(sessions) as session:
        codes = [
            issue_spend_code(
                session, user_id=w.creator_id, store_id=w.store_id, points=50, now=utcnow()
            ).code
            for _ in range(PARALLEL)
        ]

    def confirm(code: str) -> Callable[[], Any]:
        def call() -> Any:
            with unit_of_work(sessions) as session:
                return points.confirm_spend(
                    session, staff=w.staff, store_id=w.store_id, code=code, now=utcnow()
                ).points

        return call

    results = at_once([confirm(c) for c in codes])
    assert sorted(r for r in results if isinstance(r, int)) == [50, 50]
    assert all(isinstance(r, Conflict) for r in results if not isinstance(r, int))
    with unit_of_work(sessions) as session:
        held = points.my_points(session, user_id=w.creator_id, after=0, limit=50)
    assert held.available == 19
    assert_books_balance(sessions)


def test_the_same_purchase_reported_twice_at_once_is_recorded_once(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    w = world(client, sessions)
    data = PurchaseIn.model_validate(purchase(token(sessions, w.buyer_id, w.store_id)))

    def report() -> Any:
        with unit_of_work(sessions) as session:
            found, created = service.report_purchase(
                session, staff=w.staff, store_id=w.store_id, data=data, now=utcnow()
            )
            return found.id, found.points, created

    results = at_once([report for _ in range(PARALLEL)])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert {r[:2] for r in results if isinstance(r, tuple)} == {(1, 119)}
    assert sum(1 for r in results if isinstance(r, tuple) and r[2]) == 1
    assert books(sessions)[0] == 1
    assert_books_balance(sessions)


def test_parallel_confirmations_over_http_cannot_overdraw(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    w = world(client, sessions, rule={**RULE, "return_days": 0})
    body = purchase(token(sessions, w.buyer_id, w.store_id))
    client.post(f"/v1/stores/{w.store_id}/purchases", json=body, headers=auth(w.key))
    with unit_of_work(sessions) as session:
        service.release_pending(session, now=utcnow())
    me = auth(w.creator_token)
    codes = []
    for _ in range(PARALLEL):  # each asked for while 119 were available
        r = client.post(
            "/v1/me/points/spend", json={"store_id": w.store_id, "points": 40}, headers=me
        )
        assert r.status_code == 201, r.text
        codes.append(r.json()["code"])
    url = f"/v1/stores/{w.store_id}/points/redemptions"

    def confirm(code: str) -> Callable[[], int]:
        return lambda: client.post(url, json={"code": code}, headers=auth(w.key)).status_code

    statuses = at_once([confirm(c) for c in codes])
    assert sorted(statuses, key=str) == [201, 201, 409, 409, 409, 409]
    r = client.get("/v1/me/points", headers=me)
    assert r.json()["available"] == 39
    assert_books_balance(sessions)
