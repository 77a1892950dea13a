"""The embedded default runs on SQLite with counts in memory: the flush's upsert, its
exactly-once record, the stats and the holdout's attribution work there too."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from accounts.models import User
from funnel import counters
from funnel.core import HELD_OUT, REDEEMED_HELD_OUT, SENT, Granularity
from funnel.counters import MemoryCounterStore
from funnel.flush import apply_batch, flush
from funnel.service import count_redemption, store_stats, tally
from kernel.config import Settings
from kernel.db import make_engine, make_session_factory, unit_of_work
from kernel.principal import Role, Staff
from notifications.models import Notification
from offers.models import Offer
from server.migrate import upgrade
from stores.models import Store

NOW = datetime.now(UTC)
OPERATOR = Staff(key_id=1, role=Role.OPERATOR, store_ids=frozenset())


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(Settings(database_url=f"sqlite:///{tmp_path}/v.db", var_dir=tmp_path))
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def memory() -> Iterator[MemoryCounterStore]:
    before = counters.current()
    store = MemoryCounterStore()
    counters.install(store)
    yield store
    counters.install(before)


def _world(sessions: sessionmaker[Session]) -> tuple[int, int, int]:
    """A store, its offer, and a shopper held out of it two days ago."""
    with unit_of_work(sessions) as session:
        store, user = Store(name="A"), User(token_hash="h")
        session.add_all([store, user])
        session.flush()
        offer = Offer(store_id=store.id, title="Boots", body="b")
        session.add(offer)
        session.flush()
        held = NOW - timedelta(days=2)
        session.add(
            Notification(
                user_id=user.id,
                offer_id=offer.id,
                store_id=store.id,
                zone="geofence:1",
                trigger="enter",
                reason={},
                title="t",
                body="b",
                day=held.date(),
                status="held_out",
                created_at=held,
            )
        )
        return store.id, offer.id, user.id


def test_the_funnel_on_sqlite(sqlite: Engine, memory: MemoryCounterStore) -> None:
    sessions = make_session_factory(sqlite)
    store_id, offer_id, user_id = _world(sessions)

    def count(session: Session, metric: str) -> None:
        tally(
            session, store_id=store_id, subject="offer", subject_id=offer_id, metric=metric, at=NOW
        )

    with unit_of_work(sessions) as session:
        count(session, SENT)
        count(session, HELD_OUT)
        count_redemption(session, store_id=store_id, user_id=user_id, offer_id=None, at=NOW)
    (batch,) = memory.set_aside()
    with unit_of_work(sessions) as session:  # a flush that died before forgetting
        assert apply_batch(session, batch, now=NOW)
    with unit_of_work(sessions) as session:
        count(session, SENT)
    assert flush(sessions, memory, now=NOW) == 1
    with unit_of_work(sessions) as session:
        count(session, SENT)

    with unit_of_work(sessions) as session:
        stats = store_stats(
            session,
            staff=OPERATOR,
            store_id=store_id,
            start=NOW - timedelta(days=1),
            end=NOW + timedelta(hours=1),
            granularity=Granularity.HOUR,
        )
    (funnel,) = stats.funnels
    assert funnel.totals == {SENT: 3, HELD_OUT: 1, REDEEMED_HELD_OUT: 1}
    assert stats.titles == {offer_id: "Boots"}
    assert funnel.lift.control == 1.0
