"""Who earns from a purchase: the most recent qualifying open of a friend's look that
features a purchased item or its brand, inside the store's window, under its caps."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from catalogue.models import Item
from kernel.db import unit_of_work, utcnow
from social.models import Block
from tests.factories import auth
from tests.rewards.factories import (
    RULE,
    World,
    books,
    look,
    opened,
    points,
    purchase,
    token,
    user,
    world,
)


def report(client: TestClient, sessions: sessionmaker[Session], w: World, **kw: Any) -> Any:
    body = purchase(token(sessions, kw.pop("buyer", w.buyer_id), w.store_id), **kw)
    r = client.post(f"/v1/stores/{w.store_id}/purchases", json=body, headers=auth(w.key))
    assert r.status_code == 201, r.text
    return r.json()


def test_no_points_when_the_buyer_never_opened_the_look(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    w = world(client, sessions)
    with unit_of_work(sessions) as session:
        stranger, _ = user(session, "Cleo")
    got = report(client, sessions, w, buyer=stranger)
    assert (got["attributed"], got["points"], got["status"]) == (False, 0, "none")
    assert books(sessions)[0] == 0


def test_no_points_for_an_open_outside_the_attribution_window(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    w = world(client, sessions, rule={**RULE, "attribution_days": 2})
    with unit_of_work(sessions) as session:
        late, _ = user(session, "Dan")
        opened(session, w.look_id, late, utcnow() - timedelta(days=2, minutes=5))
    assert report(client, sessions, w, buyer=late)["points"] == 0
    assert report(client, sessions, w, spid="till-2")["points"] == 119  # B: a day ago


def test_a_creator_never_earns_from_their_own_purchase(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    w = world(client, sessions)
    with unit_of_work(sessions) as session:
        opened(session, w.look_id, w.creator_id, utcnow() - timedelta(hours=1))
    got = report(client, sessions, w, buyer=w.creator_id)
    assert (got["attributed"], got["points"]) == (False, 0)


def test_no_points_between_people_who_blocked_each_other(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    w = world(client, sessions)
    with unit_of_work(sessions) as session:
        session.add(Block(blocker_id=w.creator_id, blocked_id=w.buyer_id))
    assert report(client, sessions, w)["points"] == 0


def test_a_look_featuring_the_brand_counts_and_the_most_recent_open_wins(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    w = world(client, sessions)
    with unit_of_work(sessions) as session:
        other, other_token = user(session, "Eve")
        brand_look = look(session, other, brand_id=w.brand_id)
        opened(session, brand_look, w.buyer_id, utcnow() - timedelta(hours=2))
    got = report(client, sessions, w)
    assert got["points"] == 119
    assert points(client, other_token)["pending"] == 119  # Eve's open is the newer one
    assert points(client, w.creator_token)["pending"] == 0
    [line] = points(client, other_token)["items"]
    assert line["origin"]["look_id"] == brand_look


def test_a_look_featuring_something_else_does_not_count(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    w = world(client, sessions)
    with unit_of_work(sessions) as session:  # the look features BOOT-42, not the hat
        session.add(
            Item(store_id=w.store_id, sku="HAT-1", name="Hat", price_minor=1000, currency="EUR")
        )
    got = report(client, sessions, w, sku="HAT-1")
    assert (got["attributed"], got["points"]) == (False, 0)


def test_the_per_purchase_and_daily_caps(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    w = world(client, sessions)
    awarded = [
        report(client, sessions, w, spid=f"t{n}", amount="500.00")["points"] for n in range(4)
    ]
    assert awarded == [150, 150, 100, 0]  # cap 150 per purchase, 400 per creator per day
    assert points(client, w.creator_token)["pending"] == 400


def test_a_store_without_a_rule_records_purchases_but_awards_nothing(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    w = world(client, sessions, rule=None)
    r = client.get(f"/v1/stores/{w.store_id}/reward-rule", headers=auth(w.key))
    assert r.status_code == 200, r.text
    assert (r.json()["configured"], r.json()["points_per_unit"]) == (False, 0)
    got = report(client, sessions, w)
    assert (got["points"], got["status"], got["attributed"]) == (0, "none", False)
    # Whatever its currency: without a rule there is nothing to convert.
    body = {**purchase(token(sessions, w.buyer_id, w.store_id), spid="t2"), "currency": "JPY"}
    body["amount"] = "5990"
    r = client.post(f"/v1/stores/{w.store_id}/purchases", json=body, headers=auth(w.key))
    assert r.status_code == 201, r.text
    assert (r.json()["amount_minor"], r.json()["points"]) == (5990, 0)
