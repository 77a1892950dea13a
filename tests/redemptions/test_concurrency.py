"""Two tills scanning one code at the same moment: exactly one redeems it (PostgreSQL)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from kernel.config import Settings
from kernel.db import unit_of_work
from kernel.errors import Conflict
from redemptions import service
from tests.redemptions.factories import Till, offer_code, till

OFFER = frozenset({"offer"})


@pytest.fixture
def shop(client: TestClient, sessions: sessionmaker[Session], settings: Settings) -> Till:
    return till(client, sessions, settings)


def _attempt(sessions: sessionmaker[Session], code: str, store_id: int) -> str:
    try:
        with unit_of_work(sessions) as session:
            service.claim(session, code=code, store_id=store_id, kinds=OFFER, now=datetime.now(UTC))
    except Conflict as refused:
        return refused.detail
    return "won"


def _lock_waiters(engine: Engine) -> int:
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def test_parallel_claims_of_one_code_let_exactly_one_win(
    sessions: sessionmaker[Session], shop: Till
) -> None:
    code = offer_code(sessions, shop)
    racers = 6
    start = threading.Barrier(racers)
    results: list[str] = []

    def race() -> None:
        start.wait(timeout=10)
        results.append(_attempt(sessions, code, shop.store_id))

    threads = [threading.Thread(target=race) for _ in range(racers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(results) == racers
    assert results.count("won") == 1
    assert all("already redeemed at" in r for r in results if r != "won"), results


def test_a_second_claim_waits_on_the_row_lock_then_finds_the_code_used(
    sessions: sessionmaker[Session], clean_db: Engine, shop: Till
) -> None:
    code = offer_code(sessions, shop)
    first = sessions()
    service.claim(first, code=code, store_id=shop.store_id, kinds=OFFER, now=datetime.now(UTC))
    outcome: list[str] = []
    second = threading.Thread(
        target=lambda: outcome.append(_attempt(sessions, code, shop.store_id))
    )
    second.start()
    deadline = time.monotonic() + 10
    while _lock_waiters(clean_db) == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _lock_waiters(clean_db) == 1, "the second claim should wait on the first's lock"
    assert second.is_alive()
    assert outcome == []
    first.commit()
    first.close()
    second.join(timeout=10)
    assert len(outcome) == 1
    assert "already redeemed at" in outcome[0]
