"""When Redis is unreachable the API answers 503 with Retry-After, and keeps nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import redis
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from kernel.config import Settings
from kernel.principal import Role
from notifications.models import Notification
from presence.store import RedisPresenceStore
from server.runtime import Runtime
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


def test_redis_down_is_a_503_and_nothing_is_half_written(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    operator = api_key(sessions, Role.OPERATOR)
    store_id = new_store(client, operator)
    staff = api_key(sessions, Role.STORE, [store_id])
    new_geofence(client, staff, store_id, square(*PARIS, 40.0))
    new_offer(client, staff, store_id, ["fashion"])
    token = new_shopper(client, settings, interests=["fashion"])
    runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    # A real client to a port where no Redis listens: the outage, not a mock of it.
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    runtime.presence = RedisPresenceStore(dead, settings.presence_ttl_s)

    r = client.post(
        "/v1/me/locations", json={"fixes": [fix(*PARIS, datetime.now(UTC))]}, headers=auth(token)
    )

    assert r.status_code == 503, r.text
    assert r.headers["Retry-After"] == "5"
    assert r.json()["error"] == "unavailable"
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Notification)) == 0
