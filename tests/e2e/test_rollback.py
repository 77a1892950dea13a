"""A request that fails before commit leaves presence and replay guards as they were,
so the phone's retry of the same batch is processed, not taken for a replay."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from accounts.service import user_for_token
from beacons import sightings as beacons
from beacons.sighting_schemas import SightingBatch, to_sightings
from geofence.screening import Fix
from geofence.service import report_locations
from kernel.config import Settings
from kernel.db import unit_of_work
from kernel.principal import Role
from notifications.service import decide_events
from notifications.tasks import enqueue_delivery
from presence.core import Presence
from server.runtime import Runtime
from tests.beacons.factories import ibeacon, new_beacon, new_shop, seconds_ago, sighting
from tests.factories import (
    PARIS,
    api_key,
    auth,
    fix,
    new_geofence,
    new_offer,
    new_shopper,
    new_store,
    set_consent,
    square,
)
from tests.fcm_standin import FcmStandIn


class RequestFailed(Exception):
    """Something later in the request failed, after presence was computed."""


def _fail_after(runtime: Runtime, work: Callable[[Session], bool]) -> None:
    """Run ``work`` in a transaction that then fails; ``work`` says whether it did something."""
    with unit_of_work(runtime.sessions) as session:
        did = work(session)
        raise RequestFailed(did)


def _user_id(sessions: sessionmaker[Session], token: str) -> int:
    with sessions() as session:
        return user_for_token(session, token).id


def test_fixes_of_a_failed_request_are_not_consumed(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings, fcm_standin: FcmStandIn
) -> None:
    operator = api_key(sessions, Role.OPERATOR)
    store_id = new_store(client, operator)
    staff = api_key(sessions, Role.STORE, [store_id])
    new_geofence(client, staff, store_id, square(*PARIS, 40.0))
    new_offer(client, staff, store_id, ["fashion"])
    token = new_shopper(client, settings, interests=["fashion"])
    user_id = _user_id(sessions, token)
    runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    at = datetime.now(UTC)

    def locate(session: Session) -> bool:
        outcome = report_locations(
            session,
            user_id=user_id,
            fixes=[Fix(PARIS[0], PARIS[1], 10.0, at.timestamp())],
            index=runtime.index,
            presence=runtime.presence,
            rules=runtime.screening,
            max_batch=settings.max_batch,
            now=time.time(),
            decide=partial(
                decide_events, policy_version=settings.policy_version, enqueue=enqueue_delivery
            ),
        )
        return bool(outcome.notification_ids)

    with pytest.raises(RequestFailed) as failed:
        _fail_after(runtime, locate)
    assert failed.value.args == (True,)  # it had decided to push

    assert runtime.presence.load(user_id) == Presence()
    assert fcm_standin.requests_count == 0
    # The phone retries the very same batch: it enters and the offer is pushed, once.
    r = client.post("/v1/me/locations", json={"fixes": [fix(*PARIS, at)]}, headers=auth(token))
    assert [e["transition"] for e in r.json()["events"]] == ["enter"]
    fcm_standin.wait_for(1, timeout=10)
    assert fcm_standin.requests_count == 1


def test_sightings_of_a_failed_request_are_not_taken_for_replays(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings, fcm_standin: FcmStandIn
) -> None:
    shop = new_shop(client, sessions)
    new_beacon(client, shop.tech, shop.store_id)
    new_offer(client, shop.staff, shop.store_id, ["shoes"], zones=["shoe aisle"])
    token = new_shopper(client, settings, consent=False, interests=["shoes"])
    set_consent(client, settings, token, granted=True, purpose="beacon_proximity")
    user_id = _user_id(sessions, token)
    runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    batch = [sighting(-55, seconds_ago(10 - i), ibeacon=ibeacon()) for i in range(6)]
    parsed = to_sightings(SightingBatch.model_validate({"sightings": batch}).sightings)

    def sight(session: Session) -> bool:
        outcome = beacons.report_sightings(
            session,
            user_id=user_id,
            sightings=parsed,
            eids=runtime.eids,
            index=runtime.index,
            presence=runtime.presence,
            tracks=runtime.sightings,
            rules=beacons.SightingRules.of(settings),
            max_batch=settings.max_batch,
            policy_version=settings.policy_version,
            now=time.time(),
            decide=partial(
                decide_events, policy_version=settings.policy_version, enqueue=enqueue_delivery
            ),
        )
        return bool(outcome.tracked.events)

    with pytest.raises(RequestFailed) as failed:
        _fail_after(runtime, sight)
    assert failed.value.args == (True,)  # it had entered the zone

    assert runtime.presence.load(user_id) == Presence()
    assert runtime.sightings.load_tracks(user_id) == {}
    r = client.post("/v1/me/sightings", json={"sightings": batch}, headers=auth(token))
    assert r.json()["ignored"] == {}
    assert [e["transition"] for e in r.json()["events"]] == ["enter"]
    fcm_standin.wait_for(1, timeout=10)
    assert fcm_standin.requests_count == 1
