"""Two people racing with the same code: exactly one becomes a friend, on PostgreSQL's
row locks (the code is spent by a conditional update, not by a read-then-write)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from accounts.models import User
from accounts.service import register_user
from kernel.db import unit_of_work
from kernel.errors import NotFound
from social import repository, service


def _user(sessions: sessionmaker[Session], name: str) -> User:
    with unit_of_work(sessions) as session:
        user, _ = register_user(session, locale="en", timezone="UTC")
        service.set_profile(session, user=user, display_name=name, avatar_url=None)
    return user


def _waiting_for_a_lock(sessions: sessionmaker[Session], timeout: float = 10.0) -> None:
    """Returns once another connection waits on a lock (bounded, never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    with sessions() as probe:
        while time.monotonic() < deadline:
            waiting = probe.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
            )
            if waiting:
                return
            probe.rollback()
            time.sleep(0.01)
    pytest.fail("the second accept never waited for the first one's lock")


def test_one_code_raced_by_two_people_makes_one_friendship(
    sessions: sessionmaker[Session],
) -> None:
    ann, bob, carl = (_user(sessions, n) for n in ("Ann", "Bob", "Carl"))
    now = datetime.now(UTC)
    with unit_of_work(sessions) as session:
        _, code, _ = service.create_invite(session, user=ann, now=now, scheme="vicinity")

    outcome: list[Exception | None] = []

    def carl_accepts() -> None:
        try:
            with unit_of_work(sessions) as session:
                service.accept_invite(session, user=carl, code=code, now=now)
            outcome.append(None)
        except Exception as exc:  # handed over to the test's thread
            outcome.append(exc)

    with unit_of_work(sessions) as session:
        service.accept_invite(session, user=bob, code=code, now=now)
        racer = threading.Thread(target=carl_accepts)
        racer.start()
        _waiting_for_a_lock(sessions)
    racer.join(timeout=10)

    (result,) = outcome
    assert isinstance(result, NotFound)
    assert "already used" in result.detail
    with sessions() as session:
        assert repository.friend_ids(session, ann.id) == {bob.id}
        assert repository.friend_ids(session, carl.id) == set()
