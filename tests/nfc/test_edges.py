"""The edges of NFC taps and tags: presence from a tap times out through the beat job,
erasure forgets a user's taps, and two registrations of one tag at once register it once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import redis
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.orm import Session, sessionmaker

from kernel.config import Settings
from kernel.principal import Role
from presence.store import RedisPresenceStore
from server.jobs import expire_presence
from server.runtime import Runtime
from tests.factories import api_key, auth, new_shopper, new_store, open_shop, set_consent
from tests.fcm_standin import FcmStandIn
from tests.nfc.factories import COUNTER, new_tag, seconds_ago, tap

TAP_GUARDS = "vicinity:sighting:*:nfc:*"


def test_a_tap_times_out_and_the_beat_job_exits_the_store(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings, fcm_standin: FcmStandIn
) -> None:
    shop = open_shop(client, sessions, name="B", east_m=0.0, segments=["shoes"], trigger="exit")
    new_tag(client, shop.staff, shop.store_id)
    token = new_shopper(client, settings, consent=False, interests=["shoes"])
    set_consent(client, settings, token, granted=True, purpose="beacon_proximity")
    runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    assert runtime.redis is not None
    runtime.presence = RedisPresenceStore(runtime.redis, settings.presence_ttl_s, stale_s=60)

    entered = tap(client, token, COUNTER, seconds_ago(90))
    assert [e["transition"] for e in entered["events"]] == ["enter"]
    assert entered["notifications"] == []  # the offer fires on EXIT
    assert expire_presence() == 1
    fcm_standin.wait_for(1, timeout=10)
    inbox = client.get("/v1/me/notifications", headers=auth(token)).json()["items"]
    assert [n["zone"] for n in inbox] == [f"nfc:{shop.store_id}:counter"]
    assert expire_presence() == 0


def test_erasure_forgets_the_users_taps(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    redis_client: redis.Redis,
) -> None:
    store_id = new_store(client, api_key(sessions, Role.OPERATOR))
    new_tag(client, api_key(sessions, Role.STORE, [store_id]), store_id)
    token = new_shopper(client, settings, consent=False)
    set_consent(client, settings, token, granted=True, purpose="beacon_proximity")
    assert tap(client, token, COUNTER, seconds_ago(1))["accepted"] is True
    assert len(redis_client.keys(TAP_GUARDS)) == 1

    assert client.delete("/v1/me", headers=auth(token)).status_code == 204
    assert redis_client.keys(TAP_GUARDS) == []


def test_one_tag_registered_twice_at_once_is_one_tag_and_a_409(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    operator = api_key(sessions, Role.OPERATOR)
    stores = [new_store(client, operator, name) for name in ("A", "B", "C", "D")]
    start = threading.Barrier(len(stores))

    def register(store_id: int) -> Callable[[], Response]:
        def call() -> Response:
            start.wait(timeout=10)
            body = {"uid": COUNTER, "placement": "counter"}
            url = f"/v1/stores/{store_id}/nfc-tags"
            answer: Response = client.post(url, json=body, headers=auth(operator))
            return answer

        return call

    with ThreadPoolExecutor(len(stores)) as pool:
        answers = list(pool.map(lambda call: call(), [register(s) for s in stores]))
    assert sorted(r.status_code for r in answers) == [201, 409, 409, 409]
    listed = [
        client.get(f"/v1/stores/{s}/nfc-tags", headers=auth(operator)).json()["items"]
        for s in stores
    ]
    assert sum(len(items) for items in listed) == 1
