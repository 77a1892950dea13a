"""The beat flush: counts reach ``funnel_counts`` exactly once, whatever crashes between
setting a batch aside, committing it and forgetting it."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import redis
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from funnel.core import OPENED, SENT, CountKey
from funnel.counters import CounterStore, MemoryCounterStore, RedisCounterStore
from funnel.flush import apply_batch, flush
from funnel.models import FunnelCount, FunnelFlush
from kernel.db import unit_of_work
from stores.models import Store

H10 = datetime(2026, 11, 24, 10, tzinfo=UTC)
NOW = H10 + timedelta(minutes=5)


@pytest.fixture(params=["redis", "memory"])
def store(request: pytest.FixtureRequest) -> CounterStore:
    if request.param == "memory":
        return MemoryCounterStore()
    client: redis.Redis = request.getfixturevalue("redis_client")
    return RedisCounterStore(client)


@pytest.fixture
def store_id(sessions: sessionmaker[Session]) -> int:
    """A store row for the counts' foreign key."""
    with unit_of_work(sessions) as session:
        row = Store(name="Boutique")
        session.add(row)
        session.flush()
        return row.id


def table(sessions: sessionmaker[Session]) -> dict[CountKey, int]:
    with sessions() as session:
        rows = session.scalars(select(FunnelCount))
        return {
            CountKey(r.hour, r.store_id, r.subject, r.subject_id, r.metric): r.count for r in rows
        }


def test_counts_are_added_into_their_rows(
    sessions: sessionmaker[Session], store: CounterStore, store_id: int
) -> None:
    sent, opened = (
        CountKey(H10, store_id, "offer", 7, SENT),
        CountKey(H10, store_id, "offer", 7, OPENED),
    )
    store.add({sent: 3, opened: 1})
    assert flush(sessions, store, now=NOW) == 1
    store.add({sent: 2})
    assert flush(sessions, store, now=NOW) == 1
    assert table(sessions) == {sent: 5, opened: 1}
    assert flush(sessions, store, now=NOW) == 0
    assert table(sessions) == {sent: 5, opened: 1}


def test_each_hour_is_its_own_batch(
    sessions: sessionmaker[Session], store: CounterStore, store_id: int
) -> None:
    keys = [CountKey(H10 + timedelta(hours=h), store_id, "look", 3, SENT) for h in range(3)]
    store.add(dict.fromkeys(keys, 1))
    assert flush(sessions, store, now=NOW) == 3
    assert table(sessions) == dict.fromkeys(keys, 1)


def test_a_crash_after_the_commit_does_not_count_twice(
    sessions: sessionmaker[Session], store: CounterStore, store_id: int
) -> None:
    sent = CountKey(H10, store_id, "offer", 7, SENT)
    store.add({sent: 4})
    # The crashed flush: set aside, applied and committed, never forgotten.
    (batch,) = store.set_aside()
    with unit_of_work(sessions) as session:
        assert apply_batch(session, batch, now=NOW)
    store.add({sent: 1})  # counted meanwhile, into a fresh hash
    assert flush(sessions, store, now=NOW) == 1  # only the new batch
    assert table(sessions) == {sent: 5}
    assert store.set_aside() == []  # the leftover is forgotten


def test_a_crash_before_the_commit_applies_the_batch_at_the_next_flush(
    sessions: sessionmaker[Session], store: CounterStore, store_id: int
) -> None:
    sent = CountKey(H10, store_id, "offer", 7, SENT)
    store.add({sent: 4})
    (batch,) = store.set_aside()

    def crash() -> None:
        with unit_of_work(sessions) as session:
            apply_batch(session, batch, now=NOW)
            raise ConnectionError("the database went away before the commit")

    with pytest.raises(ConnectionError):
        crash()
    assert table(sessions) == {}
    assert flush(sessions, store, now=NOW) == 1
    assert table(sessions) == {sent: 4}


def test_a_batch_applied_twice_counts_once(
    sessions: sessionmaker[Session], store: CounterStore, store_id: int
) -> None:
    """Two flushes holding the same leftover batch: the second finds it recorded."""
    sent = CountKey(H10, store_id, "offer", 7, SENT)
    store.add({sent: 2})
    (batch,) = store.set_aside()
    with unit_of_work(sessions) as session:
        assert apply_batch(session, batch, now=NOW)
    with unit_of_work(sessions) as session:
        assert not apply_batch(session, batch, now=NOW)
    assert table(sessions) == {sent: 2}


def test_flush_records_are_kept_a_day(
    sessions: sessionmaker[Session], store: CounterStore, store_id: int
) -> None:
    store.add({CountKey(H10, store_id, "offer", 7, SENT): 1})
    flush(sessions, store, now=NOW)
    flush(sessions, store, now=NOW + timedelta(hours=23))
    with sessions() as session:
        assert len(session.scalars(select(FunnelFlush)).all()) == 1
    flush(sessions, store, now=NOW + timedelta(days=1, seconds=1))
    with sessions() as session:
        assert session.scalars(select(FunnelFlush)).all() == []


def _blocked_on_a_lock(sessions: sessionmaker[Session], racer: threading.Thread) -> bool:
    """Whether another backend waits on a lock before ``racer`` ends (at most 30 s)."""
    deadline = time.monotonic() + 30
    while racer.is_alive() and time.monotonic() < deadline:
        with sessions() as session:
            waiting = session.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
        if waiting:
            return True
        racer.join(timeout=0.01)
    return False


def test_two_flushes_racing_for_a_batch_add_it_once(
    sessions: sessionmaker[Session], store_id: int
) -> None:
    """The second flush's record waits for the first's commit, then finds it taken."""
    sent = CountKey(H10, store_id, "offer", 7, SENT)
    store = MemoryCounterStore()
    store.add({sent: 3})
    (batch,) = store.set_aside()
    second: list[bool] = []
    with unit_of_work(sessions) as first:
        assert apply_batch(first, batch, now=NOW)

        def race() -> None:
            with unit_of_work(sessions) as session:
                second.append(apply_batch(session, batch, now=NOW))

        racer = threading.Thread(target=race)
        racer.start()
        assert _blocked_on_a_lock(sessions, racer), "it waits on the uncommitted record"
    racer.join(timeout=30)
    assert second == [False]
    assert table(sessions) == {sent: 3}
