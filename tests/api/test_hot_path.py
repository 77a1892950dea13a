"""The location hot path's costs and its cached authentication, on PostGIS and Redis."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from accounts.models import User
from accounts.service import hash_secret
from accounts.tokens import MAX_TTL_S, TokenCache, user_tokens
from kernel.config import Settings
from kernel.db import unit_of_work
from kernel.principal import Role
from presence.core import Presence
from presence.store import RedisPresenceStore
from privacy.service import erase_user
from tests.factories import (
    PARIS,
    api_key,
    auth,
    fix,
    new_geofence,
    new_offer,
    new_shopper,
    new_store,
    square,
)

CHECKOUT, COMMIT = "<pool checkout>", "<commit>"
# An ENTER with a push, today: the targeting profile (4 reads: user with latest consent
# and delivery preferences, policy history, taxonomy marked with the user's choices,
# mutes), the offers' version counter (the offers themselves are held by the process),
# today's pushes, the zone's name, and the row (one insert). Lower it when the decision's
# reads shrink; never raise it silently.
# +2 for the event log (issue 9 part 5): one INSERT of the transition's events, one
# INSERT … SELECT of their webhook deliveries, whatever the number of events or webhooks.
ENTER_STATEMENT_BUDGET = 10


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """Every SQL statement and every connection checkout on ``engine`` meanwhile."""
    seen: list[str] = []

    def on_execute(*args: Any) -> None:
        seen.append(str(args[2]))

    def on_checkout(*_args: Any) -> None:
        seen.append(CHECKOUT)

    def on_commit(*_args: Any) -> None:
        seen.append(COMMIT)

    event.listen(engine, "before_cursor_execute", on_execute)
    event.listen(engine, "commit", on_commit)
    event.listen(engine.pool, "checkout", on_checkout)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
        event.remove(engine, "commit", on_commit)
        event.remove(engine.pool, "checkout", on_checkout)


def _shopper_in_a_shop(
    client: TestClient, settings: Settings, sessions: sessionmaker[Session]
) -> str:
    operator = api_key(sessions, Role.OPERATOR)
    store = new_store(client, operator)
    new_geofence(client, operator, store, square(*PARIS, 60), dwell_s=3600)
    new_offer(client, operator, store, ["fashion"])
    return new_shopper(client, settings, interests=["fashion"])


def _post(client: TestClient, token: str, at: datetime) -> dict[str, Any]:
    r = client.post("/v1/me/locations", json={"fixes": [fix(*PARIS, at)]}, headers=auth(token))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_a_fix_that_changes_nothing_touches_no_database(
    client: TestClient, settings: Settings, sessions: sessionmaker[Session]
) -> None:
    token = _shopper_in_a_shop(client, settings, sessions)
    now = datetime.now(UTC)
    entered = _post(client, token, now - timedelta(seconds=3))
    assert [e["transition"] for e in entered["events"]] == ["enter"]
    _post(client, token, now - timedelta(seconds=2))  # the token is cached now
    engine = client.app.state.runtime.engine  # type: ignore[attr-defined]
    with statements(engine) as seen:
        same = _post(client, token, now - timedelta(seconds=1))
    assert same["accepted"] == 1
    assert same["events"] == []
    assert seen == []


def test_an_erased_user_fails_at_once_on_the_hot_path(
    client: TestClient, settings: Settings, sessions: sessionmaker[Session]
) -> None:
    token = _shopper_in_a_shop(client, settings, sessions)
    _post(client, token, datetime.now(UTC) - timedelta(seconds=1))  # cached
    assert client.delete("/v1/me", headers=auth(token)).status_code == 204
    body = {"fixes": [fix(*PARIS, datetime.now(UTC))]}
    r = client.post("/v1/me/locations", json=body, headers=auth(token))
    assert r.status_code == 401, r.text


def test_a_user_erased_by_another_process_fails_at_once(
    client: TestClient, settings: Settings, sessions: sessionmaker[Session]
) -> None:
    """Another process erases the user (the service on its own session and presence
    store); this process still remembers the token, and still refuses the next fix."""
    token = _shopper_in_a_shop(client, settings, sessions)
    _post(client, token, datetime.now(UTC) - timedelta(seconds=5))  # cached here
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    elsewhere = RedisPresenceStore(redis.Redis.from_url(str(settings.redis_url)), ttl_s=60)
    with unit_of_work(sessions) as session:
        user_id = session.scalar(select(User.id).where(User.token_hash == hash_secret(token)))
        assert user_id is not None
        erase_user(session, user_id=user_id, presence=elsewhere, stores=(elsewhere,), client=None)
    user_tokens.put(token, user_id)  # what this process's cache still believes
    body = {"fixes": [fix(*PARIS, datetime.now(UTC))]}
    r = client.post("/v1/me/locations", json=body, headers=auth(token))
    assert r.status_code == 401, r.text
    assert runtime.presence.load(user_id) == Presence()


def test_the_token_cache_bound_cannot_be_widened() -> None:
    cache = TokenCache(ttl_s=MAX_TTL_S)
    cache.put("vu_a", 1)
    cache.put("vu_b", 2)
    cache.forget_user(1)
    assert (cache.get("vu_a"), cache.get("vu_b")) == (None, 2)
    with pytest.raises(ValueError, match="at most"):
        TokenCache(ttl_s=MAX_TTL_S * 2)


def test_an_enter_that_records_a_push_stays_within_its_statement_budget(
    client: TestClient, settings: Settings, sessions: sessionmaker[Session]
) -> None:
    token = _shopper_in_a_shop(client, settings, sessions)
    now = datetime.now(UTC)
    # Another shopper's ENTER first: the process then holds the store's offers, as it
    # does in steady state (notifications/rules.py).
    other = new_shopper(client, settings, interests=["fashion"])
    assert len(_post(client, other, now - timedelta(seconds=3))["notifications"]) == 1
    # 3.7 km away two minutes before: a drive, not a teleport (which would be ignored).
    away = {"fixes": [fix(PARIS[0] + 0.05, PARIS[1], now - timedelta(seconds=120))]}
    assert client.post("/v1/me/locations", json=away, headers=auth(token)).status_code == 200
    engine = client.app.state.runtime.engine  # type: ignore[attr-defined]
    with statements(engine) as seen:
        entered = _post(client, token, now - timedelta(seconds=1))
    assert len(entered["notifications"]) == 1
    # The request's own transaction; the tests' eager Celery delivers after it commits.
    request = [s for s in seen[: seen.index(COMMIT)] if s != CHECKOUT]
    assert len(request) <= ENTER_STATEMENT_BUDGET, "\n".join(request)
