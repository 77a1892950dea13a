"""A store's webhooks name a shopper only if the shopper picked that store and granted the
``share_id_with_stores`` consent; withdrawing either applies to the very next delivery.
The choice is the shopper's own data: exported, erased, and validated (4xx)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from kernel.config import Settings
from tests.events.receiver import Receiver
from tests.events.test_webhooks import shop, subscribe
from tests.factories import PARIS, Shop, auth, clock, fix, new_shopper, offset, visit


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def _consent(client: TestClient, token: str, settings: Settings, granted: bool) -> None:
    body = {
        "purposes": {"share_id_with_stores": granted},
        "policy_version": settings.policy_version,
    }
    r = client.put("/v1/me/consent", json=body, headers=auth(token))
    assert r.status_code == 200, r.text


def _walk_in(client: TestClient, token: str, boutique: Shop, times: Iterator[datetime]) -> None:
    """Out (away, within walking reach of the clock's step), then in: one ENTER each time."""
    away = {"fixes": [fix(*offset(*PARIS, 300.0, 0.0), next(times))]}
    assert client.post("/v1/me/locations", json=away, headers=auth(token)).status_code == 200
    visit(client, token, boutique, next(times))


def _named(receiver: Receiver) -> list[int | None]:
    return [json.loads(r.body)["user_id"] for r in receiver.received]


def test_a_store_is_told_who_only_with_the_shopper_s_choice_and_consent(
    client: TestClient, settings: Settings, sessions: sessionmaker[Session], receiver: Receiver
) -> None:
    boutique = shop(client, sessions)
    other = shop(client, sessions, name="Elsewhere")
    subscribe(client, boutique.staff, receiver.url, ["user.entered_geofence"], boutique.store_id)
    token = new_shopper(client, settings, interests=["fashion"])
    me = client.get("/v1/me/export", headers=auth(token)).json()["user_id"]
    times = clock()

    _walk_in(client, token, boutique, times)  # neither choice nor consent
    r = client.put("/v1/me/id-shares", json={"store_ids": [boutique.store_id]}, headers=auth(token))
    assert r.json() == {"store_ids": [boutique.store_id], "in_force": False}
    _walk_in(client, token, boutique, times)  # the choice without the consent
    _consent(client, token, settings, True)
    got = client.get("/v1/me/id-shares", headers=auth(token)).json()
    assert got == {"store_ids": [boutique.store_id], "in_force": True}
    _walk_in(client, token, boutique, times)  # both: named
    _consent(client, token, settings, False)
    _walk_in(client, token, boutique, times)  # consent withdrawn: anonymous again
    _consent(client, token, settings, True)
    client.put("/v1/me/id-shares", json={"store_ids": [other.store_id]}, headers=auth(token))
    _walk_in(client, token, boutique, times)  # another store picked instead
    assert _named(receiver) == [None, None, me, None, None]


def test_id_shares_are_validated_exported_and_erased(
    client: TestClient, settings: Settings, sessions: sessionmaker[Session]
) -> None:
    boutique = shop(client, sessions)
    token = new_shopper(client, settings, interests=["fashion"])
    bad = [
        ({"store_ids": [999_999]}, "unknown store 999999"),
        ({"store_ids": [0]}, "greater than"),
        ({"store_ids": list(range(1, 502))}, "at most 500"),
        ({}, "Field required"),
        ({"store_ids": [1], "user_id": 2}, "Extra inputs"),
    ]
    for body, says in bad:
        r = client.put("/v1/me/id-shares", json=body, headers=auth(token))
        assert r.status_code == 422, (body, r.text)
        assert says in r.text
    assert client.put("/v1/me/id-shares", json={"store_ids": []}).status_code == 401
    client.put("/v1/me/id-shares", json={"store_ids": [boutique.store_id]}, headers=auth(token))
    exported = client.get("/v1/me/export", headers=auth(token)).json()
    assert [row["store_id"] for row in exported["tables"]["id_shares"]] == [boutique.store_id]
