"""The one presence flow on real services: the lock's contention and lease, the phone's
clock, and presence that goes stale (EXIT marked timeout, at the next fix or by the job)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from accounts.service import user_for_token
from geofence.models import Geofence
from geofence.screening import Fix
from geofence.service import report_locations
from kernel.config import Settings
from kernel.db import unit_of_work
from notifications.models import Notification
from notifications.service import decide_events
from notifications.tasks import enqueue_delivery
from presence.core import Presence, Transition
from presence.store import LOCK_KEY, STALE_KEY, RedisPresenceStore
from server.celery import celery_app
from server.jobs import expire_presence
from server.runtime import Runtime
from tests.factories import (
    PARIS,
    auth,
    fix,
    new_shopper,
    offset,
    open_shop,
)
from tests.fcm_standin import FcmStandIn

# Outside the shop's 40 m fence and its exit margin, yet near enough to be reached within
# the second between two fixes: farther would be an impossible jump (geofence.jumps).
AWAY = offset(*PARIS, 80.0, 0.0)


def _runtime(client: TestClient) -> Runtime:
    runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    return runtime


def _use_store(client: TestClient, settings: Settings, **options: Any) -> RedisPresenceStore:
    runtime = _runtime(client)
    assert runtime.redis is not None
    store = RedisPresenceStore(
        runtime.redis, settings.presence_ttl_s, aclient=runtime.aredis, **options
    )
    runtime.presence = runtime.presence_async = store
    return store


def _shop(client: TestClient, sessions: sessionmaker[Session], trigger: str = "enter") -> int:
    shop = open_shop(
        client, sessions, name="Boutique", east_m=0.0, segments=["fashion"], trigger=trigger
    )
    return shop.store_id


def _shopper(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings, device: str = "d-1"
) -> tuple[str, int]:
    token = new_shopper(client, settings, interests=["fashion"], device=device)
    with sessions() as session:
        return token, user_for_token(session, token).id


def _post(client: TestClient, token: str, *fixes: dict[str, Any]) -> Any:
    return client.post("/v1/me/locations", json={"fixes": list(fixes)}, headers=auth(token))


def _moves(body: dict[str, Any]) -> list[str]:
    return [e["transition"] for e in body["events"]]


# Defect 5: the lock


def test_a_lock_held_elsewhere_answers_409_busy_with_retry_after(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    _shop(client, sessions)
    token, user_id = _shopper(client, sessions, settings)
    store = _use_store(client, settings, wait_s=0.05)
    now = datetime.now(UTC)
    holder = _runtime(client).redis
    assert holder is not None
    holder.set(LOCK_KEY.format(user_id), "another request", px=60_000)

    r = _post(client, token, fix(*PARIS, now))
    assert r.status_code == 409, r.text
    assert r.headers["Retry-After"] == "1"
    assert r.json()["error"] == "busy"
    assert store.load(user_id) == Presence()

    holder.delete(LOCK_KEY.format(user_id))
    r = _post(client, token, fix(*PARIS, now))
    assert (r.status_code, _moves(r.json())) == (200, ["enter"])


def test_a_transaction_outliving_its_lease_neither_fails_nor_overwrites_newer_presence(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    _shop(client, sessions)
    _token, user_id = _shopper(client, sessions, settings)
    store = _use_store(client, settings, lease_s=0.05, wait_s=5.0)
    runtime = _runtime(client)
    newer = Presence(last_at={"geofence": time.time() + 1})

    with unit_of_work(runtime.sessions) as session:
        outcome = report_locations(
            session,
            user_id=user_id,
            fixes=[Fix(PARIS[0], PARIS[1], 10.0, time.time())],
            index=runtime.index,
            presence=store,
            rules=runtime.screening,
            max_batch=settings.max_batch,
            now=time.time(),
            decide=partial(
                decide_events, policy_version=settings.policy_version, enqueue=enqueue_delivery
            ),
        )
        assert [e.transition for e in outcome.tracked.events] == [Transition.ENTER]
        # The transaction stalls past its lease; another request takes the lock and saves.
        other = store.acquire(user_id)
        assert store.commit(other, newer)
    # Committed without an error, and the stalled request's presence was fenced out.
    assert store.load(user_id) == newer
    assert runtime.redis is not None
    assert runtime.redis.get(LOCK_KEY.format(user_id)) is None
    with sessions() as session:
        assert len(session.scalars(select(Notification)).all()) == 1


# Defect 13: the phone's clock


def test_a_clock_slightly_ahead_is_shifted_and_does_not_blind_the_phone(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    _shop(client, sessions)
    token, _ = _shopper(client, sessions, settings)
    now = datetime.now(UTC)
    ahead = _post(client, token, fix(*PARIS, now + timedelta(seconds=20)))
    assert (ahead.status_code, ahead.json()["accepted"]) == (200, 1)
    entered = datetime.fromisoformat(ahead.json()["events"][0]["at"])
    assert entered <= datetime.now(UTC)  # dated by the server clock, not 20 s ahead
    # The clock is corrected: the next real fix counts instead of being out of order.
    r = _post(client, token, fix(*AWAY, datetime.now(UTC)))
    assert (r.json()["accepted"], r.json()["ignored"], _moves(r.json())) == (1, {}, ["exit"])


def test_a_clock_far_ahead_or_a_number_for_recorded_at_is_refused(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    token, _ = _shopper(client, sessions, settings)
    skew = settings.max_clock_skew_s
    r = _post(client, token, fix(*PARIS, datetime.now(UTC) + timedelta(seconds=skew + 30)))
    assert r.status_code == 422
    assert "in the future" in r.json()["detail"]
    for number in (int(time.time()), time.time(), str(int(time.time()))):
        body = {"lat": PARIS[1], "lon": PARIS[0], "accuracy_m": 5, "recorded_at": number}
        r = _post(client, token, body)
        assert r.status_code == 422, number
        assert "recorded_at" in r.json()["detail"]


# Defect 14: stale presence exits


def test_presence_gone_stale_exits_with_timeout_at_the_next_fix(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    _shop(client, sessions)
    token, _ = _shopper(client, sessions, settings)
    _use_store(client, settings, stale_s=60)
    then = datetime.now(UTC) - timedelta(seconds=200)
    assert _moves(_post(client, token, fix(*PARIS, then)).json()) == ["enter"]
    # 200 s of silence, then a fix in the same shop: the old visit ended, a new one starts.
    body = _post(client, token, fix(*PARIS, datetime.now(UTC))).json()
    assert _moves(body) == ["exit", "enter"]
    assert datetime.fromisoformat(body["events"][0]["at"]) == then  # last seen there


def test_the_expire_job_exits_stale_presence_and_fires_exit_offers(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    fcm_standin: FcmStandIn,
) -> None:
    _shop(client, sessions, trigger="exit")
    token, user_id = _shopper(client, sessions, settings)
    store = _use_store(client, settings, stale_s=60)
    fresh_token, fresh_id = _shopper(client, sessions, settings, device="d-2")
    then = datetime.now(UTC) - timedelta(seconds=90)
    assert _moves(_post(client, token, fix(*PARIS, then)).json()) == ["enter"]
    assert _moves(_post(client, fresh_token, fix(*PARIS, datetime.now(UTC))).json()) == ["enter"]

    assert expire_presence() == 1
    assert store.load(user_id).zones == {}
    assert store.load(fresh_id).zones.keys() == {f"geofence:{_fence_id(sessions)}"}
    runtime = _runtime(client)
    assert runtime.redis is not None
    assert runtime.redis.zscore(STALE_KEY, user_id) is None
    with sessions() as session:
        notes = session.scalars(select(Notification)).all()
    assert [(n.user_id, n.trigger, n.reason.get("exit")) for n in notes] == [
        (user_id, "exit", "timeout")
    ]
    fcm_standin.wait_for(1, timeout=10)
    assert expire_presence() == 0  # nothing left to exit
    schedule = celery_app.conf.beat_schedule["presence.expire"]
    assert schedule["schedule"] == float(settings.presence_expire_every_s)


def _fence_id(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalars(select(Geofence.id)).one()
