"""Points a look's creator earns from a friend's purchase are an event for the store."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from kernel.principal import Role
from tests.events.receiver import Receiver
from tests.factories import api_key, auth
from tests.rewards.factories import purchase, token, world


def test_points_earned_reach_the_store_webhook_without_the_creator(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    w = world(client, sessions)
    with Receiver() as receiver:
        hook = {"url": receiver.url, "events": ["points.earned"], "store_id": w.store_id}
        r = client.post("/v1/webhooks", json=hook, headers=auth(w.key))
        assert r.status_code == 201, r.text
        body = purchase(token(sessions, w.buyer_id, w.store_id))
        r = client.post(f"/v1/stores/{w.store_id}/purchases", json=body, headers=auth(w.key))
        assert r.status_code == 201, r.text
        earned = r.json()["points"]
        assert earned > 0
        [got] = receiver.received
    event = json.loads(got.body)
    assert (event["name"], event["user_id"], event["store_id"]) == (
        "points.earned",
        None,
        w.store_id,
    )
    assert event["data"]["points"] == earned
    assert event["data"]["look_id"] == w.look_id
    operator = auth(api_key(sessions, Role.OPERATOR))
    [seen] = client.get("/v1/events", headers=operator).json()["items"]
    assert seen["user_id"] == w.creator_id
