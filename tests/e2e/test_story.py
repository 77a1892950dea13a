"""The seed's story, end to end on PostGIS, Redis and the FCM stand-in, through the API:

A posts a look tagging store S's leggings; B, A's friend, consented to friends' looks and
interested in fashion, walks into S and is pushed A's look (never A's location); B opens
it and buys the leggings; S reports the purchase; A earns pending points exactly once;
after the return window they become available; A spends them at S.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from kernel.config import Settings
from kernel.db import unit_of_work, utcnow
from kernel.principal import Role
from rewards.service import release_pending
from tests.factories import (
    PARIS,
    api_key,
    auth,
    clock,
    new_geofence,
    new_shopper,
    new_store,
    offset,
    set_consent,
    square,
    walk_in,
)
from tests.fcm_standin import FcmStandIn

RULE = {
    "currency": "EUR",
    "points_per_unit": 2,
    "per_purchase_cap": 150,
    "per_creator_daily_cap": 400,
    "attribution_days": 7,
    "return_days": 14,
}


def _ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json() if r.content else None


def _store_s(client: TestClient, sessions: sessionmaker[Session]) -> tuple[int, str, int]:
    operator = api_key(sessions, Role.OPERATOR)
    store_id = new_store(client, operator, "Maison S")
    staff = api_key(sessions, Role.STORE, [store_id])
    new_geofence(client, staff, store_id, square(*offset(*PARIS, 300, 0), 40.0), name="Shop")
    item = {
        "sku": "LEG-01",
        "name": "Black leggings",
        "brand": "Lumen",
        "segment": "fashion",
        "price_minor": 5990,
        "currency": "EUR",
    }
    item_id = _ok(client.post(f"/v1/stores/{store_id}/items", json=item, headers=auth(staff)), 201)
    _ok(client.put(f"/v1/stores/{store_id}/reward-rule", json=RULE, headers=auth(staff)))
    return store_id, staff, int(item_id["id"])


def _person(client: TestClient, settings: Settings, name: str, device: str) -> str:
    token = new_shopper(client, settings, interests=["fashion"], device=device)
    set_consent(client, settings, token, granted=True, purpose="friends_looks")
    _ok(client.put("/v1/me/profile", json={"display_name": name}, headers=auth(token)))
    return token


def test_a_friends_look_reaches_the_shop_and_its_purchase_rewards_her(
    client: TestClient,
    settings: Settings,
    sessions: sessionmaker[Session],
    fcm_standin: FcmStandIn,
) -> None:
    store_id, staff, item_id = _store_s(client, sessions)
    ann = _person(client, settings, "Ann", "phone-ann")
    bob = _person(client, settings, "Bob", "phone-bob")
    invite = _ok(client.post("/v1/me/friends/invites", headers=auth(ann)), 201)
    _ok(client.post("/v1/me/friends/accept", json={"code": invite["code"]}, headers=auth(bob)), 201)
    look = {"caption": "Leggings day", "hashtags": ["sport"], "tags": [{"item_id": item_id}]}
    look_id = _ok(client.post("/v1/me/looks", json=look, headers=auth(ann)), 201)["id"]

    # Ann is somewhere in town; Bob walks into S.
    at = next(clock())
    ann_fix = {
        "lat": PARIS[1] + 0.01,
        "lon": PARIS[0],
        "accuracy_m": 10,
        "recorded_at": at.isoformat(),
    }
    _ok(client.post("/v1/me/locations", json={"fixes": [ann_fix]}, headers=auth(ann)))
    walk = walk_in(offset(*PARIS, 240, 0), steps=8, step_m=10.0)
    report = _ok(client.post("/v1/me/locations", json={"fixes": walk}, headers=auth(bob)))
    assert [e["transition"] for e in report["events"]] == ["enter"]
    [note_id] = report["notifications"]

    # The push names Ann and the shop, carries the look, and nothing about where Ann is.
    [push] = [m for m in fcm_standin.wait_for(1) if m["token"] == "phone-bob"]
    assert push["notification"]["title"] == "A look by Ann"
    assert push["notification"]["body"] == "A look by Ann features items sold at Maison S."
    assert push["data"]["look_id"] == str(look_id)
    text = json.dumps(push)
    for coordinate in (f"{PARIS[1] + 0.01:.4f}", f"{PARIS[0]:.4f}"):
        assert coordinate not in text
    why = _ok(client.get(f"/v1/me/notifications/{note_id}", headers=auth(bob)))
    assert "a look by Ann features items sold there" in why["why"]
    assert "shares Fashion with your interests" in why["why"]

    # Bob opens the look and buys the leggings with the token his app shows at the till.
    _ok(client.post(f"/v1/me/looks/{look_id}/opened", headers=auth(bob)), 204)
    till = _ok(
        client.post("/v1/me/purchase-tokens", json={"store_id": store_id}, headers=auth(bob)), 201
    )
    sale = {
        "code": till["code"],
        "store_purchase_id": "till-77",
        "amount": "59.90",
        "currency": "EUR",
        "items": [{"sku": "LEG-01"}],
    }
    first = _ok(
        client.post(f"/v1/stores/{store_id}/purchases", json=sale, headers=auth(staff)), 201
    )
    assert (first["attributed"], first["points"], first["status"]) == (True, 119, "pending")
    # Reported twice (the till retried): the same answer, no second award.
    again = _ok(client.post(f"/v1/stores/{store_id}/purchases", json=sale, headers=auth(staff)))
    assert again == first
    mine = _ok(client.get("/v1/me/points", headers=auth(ann)))
    assert (mine["pending"], mine["available"]) == (119, 0)
    assert mine["items"][0]["origin"]["friend"] == "Bob"

    # The return window passes: the beat job makes them available; Ann spends 100 at S.
    with unit_of_work(sessions) as session:
        assert release_pending(session, now=utcnow() + timedelta(days=15)) == 1
    spend = {"store_id": store_id, "points": 100}
    code = _ok(client.post("/v1/me/points/spend", json=spend, headers=auth(ann)), 201)["code"]
    confirm = client.post(
        f"/v1/stores/{store_id}/points/redemptions", json={"code": code}, headers=auth(staff)
    )
    _ok(confirm, 201)
    mine = _ok(client.get("/v1/me/points", headers=auth(ann)))
    assert (mine["pending"], mine["available"]) == (0, 19)


def test_no_look_without_the_friends_looks_consent(
    client: TestClient, settings: Settings, sessions: sessionmaker[Session]
) -> None:
    store_id, _staff, item_id = _store_s(client, sessions)
    ann = _person(client, settings, "Ann", "phone-ann")
    bob = _person(client, settings, "Bob", "phone-bob")
    set_consent(client, settings, bob, granted=False, purpose="friends_looks")
    invite = _ok(client.post("/v1/me/friends/invites", headers=auth(ann)), 201)
    _ok(client.post("/v1/me/friends/accept", json={"code": invite["code"]}, headers=auth(bob)), 201)
    look = {"caption": "Leggings day", "hashtags": [], "tags": [{"item_id": item_id}]}
    _ok(client.post("/v1/me/looks", json=look, headers=auth(ann)), 201)
    walk = walk_in(offset(*PARIS, 240, 0), steps=8, step_m=10.0)
    report = _ok(client.post("/v1/me/locations", json={"fixes": walk}, headers=auth(bob)))
    assert [e["transition"] for e in report["events"]] == ["enter"]
    assert report["notifications"] == []
    assert store_id
