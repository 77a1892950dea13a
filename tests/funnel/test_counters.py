"""The counter stores (Redis and memory) and ``tally``'s commit-only counting."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker

from funnel import counters
from funnel.core import SENT, CountKey
from funnel.counters import CounterStore, MemoryCounterStore, RedisCounterStore
from funnel.service import tally
from kernel.db import unit_of_work

H10 = datetime(2026, 11, 24, 10, tzinfo=UTC)
H11 = datetime(2026, 11, 24, 11, tzinfo=UTC)


@pytest.fixture(params=["redis", "memory"])
def store(request: pytest.FixtureRequest) -> CounterStore:
    if request.param == "memory":
        return MemoryCounterStore()
    client: redis.Redis = request.getfixturevalue("redis_client")
    return RedisCounterStore(client)


@pytest.fixture
def installed() -> Iterator[MemoryCounterStore]:
    before = counters.current()
    store = MemoryCounterStore()
    counters.install(store)
    yield store
    counters.install(before)


def key(hour: datetime, store_id: int = 1, metric: str = SENT, subject_id: int = 7) -> CountKey:
    return CountKey(hour, store_id, "offer", subject_id, metric)


def test_counts_add_up_per_key_and_hour(store: CounterStore) -> None:
    store.add({key(H10): 2, key(H11): 1})
    store.add({key(H10): 3, key(H10, store_id=2): 5})
    assert store.unflushed(store_id=1, hours=[H10, H11]) == {key(H10): 5, key(H11): 1}
    assert store.unflushed(store_id=1, hours=[H11]) == {key(H11): 1}
    assert store.unflushed(store_id=2, hours=[H10]) == {key(H10, store_id=2): 5}


def test_set_aside_moves_every_hour_into_batches(store: CounterStore) -> None:
    store.add({key(H10): 2, key(H11): 1})
    batches = store.set_aside()
    assert sorted(c for b in batches for c in b.counts.items()) == [(key(H10), 2), (key(H11), 1)]
    assert store.unflushed(store_id=1, hours=[H10, H11]) == {}
    # Counting goes on into a fresh hash while the batches wait.
    store.add({key(H10): 4})
    assert store.unflushed(store_id=1, hours=[H10]) == {key(H10): 4}


def test_a_batch_not_forgotten_is_set_aside_again(store: CounterStore) -> None:
    store.add({key(H10): 2})
    first = store.set_aside()
    store.add({key(H10): 1})
    second = store.set_aside()
    assert {b.id for b in first} < {b.id for b in second}
    assert len(second) == 2
    for batch in second:
        store.forget(batch.id)
    assert store.set_aside() == []


def test_tally_counts_once_committed(
    sessions: sessionmaker[Session], installed: MemoryCounterStore
) -> None:
    at = H10.replace(minute=42)
    with unit_of_work(sessions) as session:
        tally(session, store_id=1, subject="offer", subject_id=7, metric=SENT, at=at)
        tally(session, store_id=1, subject="offer", subject_id=7, metric=SENT, at=at, n=2)
        assert installed.unflushed(store_id=1, hours=[H10]) == {}
    assert installed.unflushed(store_id=1, hours=[H10]) == {key(H10): 3}


def test_tally_is_dropped_on_rollback(
    sessions: sessionmaker[Session], installed: MemoryCounterStore
) -> None:
    def decide_and_fail() -> None:
        with unit_of_work(sessions) as session:
            tally(session, store_id=1, subject="offer", subject_id=7, metric=SENT, at=H10)
            raise RuntimeError("the decision failed")

    with pytest.raises(RuntimeError):
        decide_and_fail()
    assert installed.unflushed(store_id=1, hours=[H10]) == {}


def test_tally_refuses_a_naive_time(sessions: sessionmaker[Session]) -> None:
    naive = datetime(2026, 1, 1)  # noqa: DTZ001 - the mistake under test
    with unit_of_work(sessions) as session, pytest.raises(ValueError, match="naive"):
        tally(session, store_id=1, subject="offer", subject_id=7, metric=SENT, at=naive)
