"""Events out, on PostGIS and Redis with a local webhook receiver: a walk into a store
reaches its webhook (no user id) and the feed; failures retry, die, and replay once."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from events.core import EVENT_ID_HEADER, SIGNATURE_HEADER, verify
from events.delivery import attempt, sweep
from events.models import Event, WebhookDelivery
from kernel.config import Settings
from kernel.db import unit_of_work
from kernel.principal import Role
from privacy.service import purge
from tests.events.receiver import Receiver
from tests.factories import Shop, api_key, auth, clock, new_shopper, open_shop, visit
from tests.redemptions.factories import offer_code, till


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def subscribe(
    client: TestClient, key: str, url: str, names: list[str], store_id: int | None
) -> dict[str, Any]:
    body: dict[str, Any] = {"url": url, "events": names}
    if store_id is not None:
        body["store_id"] = store_id
    r = client.post("/v1/webhooks", json=body, headers=auth(key))
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out


def shop(client: TestClient, sessions: sessionmaker[Session], name: str = "Boutique") -> Shop:
    return open_shop(client, sessions, name=name, east_m=0.0, segments=["fashion"])


def test_a_walk_in_reaches_the_store_webhook_without_the_user_and_the_feed(
    client: TestClient, settings: Settings, sessions: sessionmaker[Session], receiver: Receiver
) -> None:
    boutique = shop(client, sessions)
    operator = api_key(sessions, Role.OPERATOR)
    store_hook = subscribe(
        client, boutique.staff, receiver.url, ["user.entered_geofence"], boutique.store_id
    )
    fleet_hook = subscribe(client, operator, receiver.url + "/all", ["user.entered_geofence"], None)
    assert store_hook["secret"].startswith("whsec_")
    token = new_shopper(client, settings, interests=["fashion"])
    visit(client, token, boutique, next(clock()))

    by_path = {r.path: r for r in receiver.received}
    assert set(by_path) == {"/hook", "/hook/all"}
    for path, hook in (("/hook", store_hook), ("/hook/all", fleet_hook)):
        got = by_path[path]
        assert verify(
            hook["secret"],
            got.headers[SIGNATURE_HEADER],
            got.body,
            now=time.time(),
            tolerance_s=60,
        )
    store_body = json.loads(by_path["/hook"].body)
    assert store_body["name"] == "user.entered_geofence"
    assert store_body["store_id"] == boutique.store_id
    assert store_body["user_id"] is None
    assert by_path["/hook"].headers[EVENT_ID_HEADER] == str(store_body["id"])
    assert json.loads(by_path["/hook/all"].body)["user_id"] is not None

    feed = client.get("/v1/events", headers=auth(boutique.staff)).json()
    # The push the visit earned is an event too, after the entry.
    assert [(e["id"], e["name"], e["user_id"]) for e in feed["items"]] == [
        (store_body["id"], "user.entered_geofence", None),
        (store_body["id"] + 1, "push.sent", None),
    ]
    assert feed["next_after"] is None
    seen = client.get("/v1/events", headers=auth(operator)).json()["items"]
    assert seen[0]["user_id"] is not None
    after = client.get(f"/v1/events?after={store_body['id']}", headers=auth(operator)).json()
    assert [e["name"] for e in after["items"]] == ["push.sent"]
    page = client.get("/v1/events?limit=1", headers=auth(operator)).json()
    assert page["next_after"] == store_body["id"]


def _deliveries(sessions: sessionmaker[Session]) -> list[WebhookDelivery]:
    with unit_of_work(sessions) as session:
        rows = list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))
        session.expunge_all()
    return rows


def test_a_failing_receiver_gets_retries_then_dead_letters_and_replay_delivers_once(
    client: TestClient, settings: Settings, sessions: sessionmaker[Session], receiver: Receiver
) -> None:
    boutique = shop(client, sessions)
    hook = subscribe(
        client, boutique.staff, receiver.url, ["user.entered_geofence"], boutique.store_id
    )
    receiver.always = 500
    visit(client, new_shopper(client, settings, interests=["fashion"]), boutique, next(clock()))
    [owed] = _deliveries(sessions)
    assert (owed.status, owed.attempts, owed.last_error) == ("pending", 1, "HTTP 500")

    # Drive time: each round is at the delivery's next try, as the beat sweep would be.
    now = owed.next_attempt_at
    with httpx.Client() as http:
        for _ in range(1000):
            enqueued: list[int] = []
            with unit_of_work(sessions) as session:
                sweep(session, now=now, grace_s=0.0, enqueue=enqueued.append)
            assert enqueued == [owed.id]
            with unit_of_work(sessions) as session:
                done = attempt(session, delivery_id=owed.id, client=http, now=now)
            if done.status == "dead":
                break
            assert done.retry_in_s is not None
            now += timedelta(seconds=done.retry_in_s)
    [dead] = _deliveries(sessions)
    assert dead.status == "dead"
    assert dead.attempts == len(receiver.received) > 10
    assert now - dead.since <= timedelta(hours=24)

    letters = client.get(f"/v1/webhooks/{hook['id']}/dead-letters", headers=auth(boutique.staff))
    assert [d["id"] for d in letters.json()["items"]] == [dead.id]
    receiver.always = None
    before = len(receiver.received)
    path = f"/v1/webhooks/{hook['id']}/dead-letters/{dead.id}/replay"
    r = client.post(path, headers=auth(boutique.staff))
    assert r.status_code == 202, r.text
    assert len(receiver.received) == before + 1
    assert _deliveries(sessions)[0].status == "delivered"
    again = client.post(path, headers=auth(boutique.staff))
    assert again.status_code == 409, again.text
    assert len(receiver.received) == before + 1
    letters = client.get(f"/v1/webhooks/{hook['id']}/dead-letters", headers=auth(boutique.staff))
    assert letters.json()["items"] == []


def test_a_store_key_sees_only_its_stores_events_and_webhooks(
    client: TestClient, settings: Settings, sessions: sessionmaker[Session], receiver: Receiver
) -> None:
    mine = shop(client, sessions, "Mine")
    theirs = open_shop(client, sessions, name="Theirs", east_m=500.0, segments=["fashion"])
    other = subscribe(
        client, theirs.staff, receiver.url, ["user.entered_geofence"], theirs.store_id
    )
    visit(client, new_shopper(client, settings, interests=["fashion"]), theirs, next(clock()))
    key = auth(mine.staff)

    assert client.get("/v1/webhooks", headers=key).json()["items"] == []
    assert client.get("/v1/events", headers=key).json()["items"] == []
    for path in (f"/v1/webhooks/{other['id']}", f"/v1/webhooks/{other['id']}/dead-letters"):
        assert client.get(path, headers=key).status_code == 404
    assert client.delete(f"/v1/webhooks/{other['id']}", headers=key).status_code == 404
    replay = f"/v1/webhooks/{other['id']}/dead-letters/1/replay"
    assert client.post(replay, headers=key).status_code == 404
    body = {"url": receiver.url, "events": ["push.sent"], "store_id": theirs.store_id}
    assert client.post("/v1/webhooks", json=body, headers=key).status_code == 404
    body.pop("store_id")
    assert client.post("/v1/webhooks", json=body, headers=key).status_code == 403
    tech = auth(api_key(sessions, Role.TECH))
    assert client.get("/v1/events", headers=tech).status_code == 403

    theirs_key = auth(theirs.staff)
    assert [h["id"] for h in client.get("/v1/webhooks", headers=theirs_key).json()["items"]] == [
        other["id"]
    ]
    assert len(client.get("/v1/events", headers=theirs_key).json()["items"]) == 2
    assert client.delete(f"/v1/webhooks/{other['id']}", headers=theirs_key).status_code == 204
    assert client.get(f"/v1/webhooks/{other['id']}", headers=theirs_key).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"url": "http://example.com/hook", "events": ["push.sent"]},
        {"url": "ftp://example.com/hook", "events": ["push.sent"]},
        {"url": "https://", "events": ["push.sent"]},
        {"url": "https://user:pw@example.com/hook", "events": ["push.sent"]},
        {"url": "https://example.com/ho\nok", "events": ["push.sent"]},
        {"url": "https://example.com/" + "a" * 2000, "events": ["push.sent"]},
        {"url": "https://example.com/hook", "events": ["user.teleported"]},
        {"url": "https://example.com/hook", "events": []},
        {"url": "https://example.com/hook", "events": ["push.sent\u0000"]},
        {"url": "https://example.com/hook", "events": ["push.sent"], "store_id": 0},
        {"events": ["push.sent"]},
    ],
)
def test_bad_subscriptions_are_422_and_write_nothing(
    client: TestClient, sessions: sessionmaker[Session], body: dict[str, Any]
) -> None:
    operator = auth(api_key(sessions, Role.OPERATOR))
    r = client.post("/v1/webhooks", json=body, headers=operator)
    assert r.status_code == 422, r.text
    assert client.get("/v1/webhooks", headers=operator).json()["items"] == []


def test_an_unknown_store_is_404_and_paging_is_bounded(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    operator = auth(api_key(sessions, Role.OPERATOR))
    body = {"url": "https://example.com/hook", "events": ["push.sent"], "store_id": 999}
    assert client.post("/v1/webhooks", json=body, headers=operator).status_code == 404
    assert client.get("/v1/events?limit=0", headers=operator).status_code == 422
    assert client.get("/v1/events?after=-1", headers=operator).status_code == 422


def test_erasing_a_user_takes_their_id_out_of_the_events(
    client: TestClient, settings: Settings, sessions: sessionmaker[Session]
) -> None:
    boutique = shop(client, sessions)
    token = new_shopper(client, settings, interests=["fashion"])
    visit(client, token, boutique, next(clock()))
    with unit_of_work(sessions) as session:
        assert session.scalars(select(Event.user_id)).all() != [None]
    assert client.delete("/v1/me", headers=auth(token)).status_code == 204
    with unit_of_work(sessions) as session:
        names = session.execute(select(Event.name, Event.user_id)).all()
    assert ("user.entered_geofence", None) in names
    assert all(user_id is None for _, user_id in names)


def test_a_redeemed_offer_is_an_event_without_the_shopper_for_the_store(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings, receiver: Receiver
) -> None:
    shop_ = till(client, sessions, settings)
    subscribe(client, shop_.staff, receiver.url, ["offer.redeemed"], shop_.store_id)
    code = offer_code(sessions, shop_)
    path = f"/v1/stores/{shop_.store_id}/redemptions"
    r = client.post(path, json={"code": code}, headers=auth(shop_.staff))
    assert r.status_code == 200, r.text
    [got] = receiver.received
    body = json.loads(got.body)
    assert (body["name"], body["user_id"]) == ("offer.redeemed", None)
    assert body["data"] == {"offer_id": shop_.offer_id}
    operator = auth(api_key(sessions, Role.OPERATOR))
    [event] = client.get("/v1/events", headers=operator).json()["items"]
    assert event["user_id"] == shop_.user_id


def test_a_user_without_consent_leaves_no_event(
    client: TestClient, settings: Settings, sessions: sessionmaker[Session], receiver: Receiver
) -> None:
    boutique = shop(client, sessions)
    operator = api_key(sessions, Role.OPERATOR)
    subscribe(client, operator, receiver.url, ["user.entered_geofence"], None)
    token = new_shopper(client, settings, consent=False, interests=["fashion"])
    entered = visit(client, token, boutique, next(clock()))
    assert [e["transition"] for e in entered["events"]] == ["enter"]
    assert client.get("/v1/events", headers=auth(operator)).json()["items"] == []
    assert receiver.received == []


def test_old_events_are_purged_with_the_notifications_retention(
    client: TestClient, settings: Settings, sessions: sessionmaker[Session]
) -> None:
    boutique = shop(client, sessions)
    visit(client, new_shopper(client, settings, interests=["fashion"]), boutique, next(clock()))
    later = datetime.now(UTC) + timedelta(days=settings.notification_retention_days + 1)
    with unit_of_work(sessions) as session:
        assert purge(session, now=datetime.now(UTC), settings=settings)["events"] == 0
        assert purge(session, now=later, settings=settings)["events"] == 2
        assert session.scalars(select(Event)).all() == []


def test_the_sweep_waits_out_its_grace_and_skips_what_is_settled(
    client: TestClient, settings: Settings, sessions: sessionmaker[Session], receiver: Receiver
) -> None:
    boutique = shop(client, sessions)
    subscribe(client, boutique.staff, receiver.url, ["user.entered_geofence"], boutique.store_id)
    receiver.always = 503
    visit(client, new_shopper(client, settings, interests=["fashion"]), boutique, next(clock()))
    [owed] = _deliveries(sessions)
    due = owed.next_attempt_at
    enqueued: list[int] = []
    with unit_of_work(sessions) as session:
        sweep(session, now=due + timedelta(seconds=30), grace_s=60.0, enqueue=enqueued.append)
    assert enqueued == []  # its own retry may still come
    with unit_of_work(sessions) as session:
        sweep(session, now=due + timedelta(seconds=61), grace_s=60.0, enqueue=enqueued.append)
    assert enqueued == [owed.id]
    with unit_of_work(sessions) as session:  # marked due again: not re-enqueued at once
        sweep(session, now=due + timedelta(seconds=62), grace_s=60.0, enqueue=enqueued.append)
    assert enqueued == [owed.id]


def test_a_webhooks_delivery_log_pages_newest_first_and_filters_by_state(
    client: TestClient, settings: Settings, sessions: sessionmaker[Session], receiver: Receiver
) -> None:
    boutique = shop(client, sessions)
    hook = subscribe(
        client, boutique.staff, receiver.url, ["user.entered_geofence"], boutique.store_id
    )
    times = clock()
    for _ in range(3):
        visit(client, new_shopper(client, settings, interests=["fashion"]), boutique, next(times))
    log = f"/v1/webhooks/{hook['id']}/deliveries"
    page = client.get(f"{log}?limit=2", headers=auth(boutique.staff)).json()
    assert [d["status"] for d in page["items"]] == ["delivered", "delivered"]
    assert page["items"][0]["id"] > page["items"][1]["id"]
    rest = client.get(f"{log}?after={page['next_after']}", headers=auth(boutique.staff)).json()
    assert len(rest["items"]) == 1
    assert rest["next_after"] is None
    dead = client.get(f"{log}?status=dead", headers=auth(boutique.staff)).json()
    assert dead["items"] == []
    assert client.get(f"{log}?status=lost", headers=auth(boutique.staff)).status_code == 422
    other = shop(client, sessions, name="Elsewhere")
    assert client.get(log, headers=auth(other.staff)).status_code == 404
