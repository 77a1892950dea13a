"""Bad input is a clear 4xx and leaves the ledger (and the shopper's code) untouched."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from kernel.db import unit_of_work, utcnow
from kernel.principal import Role
from redemptions.service import issue_spend_code
from tests.factories import api_key, auth
from tests.rewards.factories import RULE, World, books, purchase, store_with_item, token, world


@pytest.fixture
def w(client: TestClient, sessions: sessionmaker[Session]) -> World:
    return world(client, sessions)


def post(client: TestClient, w: World, body: Any, key: str | None = None) -> Any:
    return client.post(f"/v1/stores/{w.store_id}/purchases", json=body, headers=auth(key or w.key))


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"items": [{"sku": "NOPE"}]}, 422),
        ({"items": [{"item_id": 999_999}]}, 422),
        ({"items": [{"sku": "BOOT-42", "item_id": 1}]}, 422),
        ({"items": []}, 422),
        ({"amount": "-5.00"}, 422),
        ({"amount": "0"}, 422),
        ({"amount": "0.00"}, 422),
        ({"amount": "12.345"}, 422),
        ({"amount": "1e5"}, 422),
        ({"amount": "99999999999999"}, 422),
        ({"amount": 12.5}, 422),
        ({"currency": "USD"}, 422),
        ({"currency": "eur"}, 422),
        ({"store_purchase_id": "has space"}, 422),
        ({"store_purchase_id": "x" * 65}, 422),
        ({"code": "no-such-code"}, 404),
        ({"code": "\x00"}, 422),
    ],
)
def test_bad_reports_are_refused_and_the_code_stays_usable(
    client: TestClient,
    sessions: sessionmaker[Session],
    w: World,
    change: dict[str, Any],
    status: int,
) -> None:
    good = purchase(token(sessions, w.buyer_id, w.store_id))
    r = post(client, w, {**good, **change})
    assert r.status_code == status, r.text
    assert r.json()["error"]
    assert books(sessions) == (0, [])
    assert post(client, w, good).status_code == 201  # the token was not used up


def test_another_stores_token_a_used_token_and_another_stores_purchase(
    client: TestClient, sessions: sessionmaker[Session], w: World
) -> None:
    with unit_of_work(sessions) as session:
        other_store, _, _ = store_with_item(session, name="Maison T")
    theirs = purchase(token(sessions, w.buyer_id, other_store))
    assert post(client, w, theirs).status_code == 404
    mine = purchase(token(sessions, w.buyer_id, w.store_id))
    assert post(client, w, mine).status_code == 201
    before = books(sessions)
    r = post(client, w, {**mine, "store_purchase_id": "till-2"})
    assert r.status_code == 409, r.text
    assert books(sessions) == before
    # A key of another store finds nothing of this one.
    other_key = api_key(sessions, Role.STORE, [other_store])
    assert post(client, w, mine, key=other_key).status_code == 404
    url = f"/v1/stores/{w.store_id}/purchases/till-1"
    assert client.get(url, headers=auth(other_key)).status_code == 404
    assert client.post(url + "/refund", headers=auth(other_key)).status_code == 404
    assert client.get(url, headers=auth(w.key)).status_code == 200
    assert client.post(f"{url}x/refund", headers=auth(w.key)).status_code == 404
    assert (
        client.get(f"/v1/stores/{w.store_id}/reward-rule", headers=auth(other_key)).status_code
        == 404
    )
    assert books(sessions) == before


def test_roles_are_checked(client: TestClient, sessions: sessionmaker[Session], w: World) -> None:
    body = purchase(token(sessions, w.buyer_id, w.store_id))
    assert post(client, w, body, key=w.buyer_token).status_code == 403
    assert client.get("/v1/me/points", headers=auth(w.key)).status_code == 403
    assert client.get("/v1/me/points").status_code == 401


@pytest.mark.parametrize(
    "rule",
    [
        {**RULE, "currency": "XYZ"},
        {**RULE, "points_per_unit": -1},
        {**RULE, "attribution_days": 0},
        {**RULE, "return_days": 400},
        {**RULE, "per_purchase_cap": -5},
        {**RULE, "extra": 1},
    ],
)
def test_bad_rules_are_refused(client: TestClient, w: World, rule: dict[str, Any]) -> None:
    r = client.put(f"/v1/stores/{w.store_id}/reward-rule", json=rule, headers=auth(w.key))
    assert r.status_code == 422, r.text


def test_bad_spends_are_refused(
    client: TestClient, sessions: sessionmaker[Session], w: World
) -> None:
    me = auth(w.creator_token)
    for body, status in [
        ({"store_id": w.store_id, "points": 1}, 422),  # nothing available
        ({"store_id": w.store_id, "points": 0}, 422),
        ({"store_id": w.store_id, "points": -3}, 422),
        ({"store_id": 999_999, "points": 1}, 404),
        ({"store_id": w.store_id}, 422),
    ]:
        r = client.post("/v1/me/points/spend", json=body, headers=me)
        assert r.status_code == status, (body, r.text)
    # A spend code for more than the shopper holds (issued behind the check) is a 409
    # at the till, and stays unused.
    with unit_of_work(sessions) as session:
        code = issue_spend_code(
            session, user_id=w.creator_id, store_id=w.store_id, points=5, now=utcnow()
        ).code
    url = f"/v1/stores/{w.store_id}/points/redemptions"
    assert client.post(url, json={"code": code}, headers=auth(w.key)).status_code == 409
    assert client.post(url, json={"code": code}, headers=auth(w.key)).status_code == 409
    assert books(sessions)[0] == 0
    offer_like = purchase(token(sessions, w.buyer_id, w.store_id))["code"]
    assert client.post(url, json={"code": offer_like}, headers=auth(w.key)).status_code == 422


def test_the_database_refuses_a_negative_user_balance(sessions: sessionmaker[Session]) -> None:
    with unit_of_work(sessions) as session:
        store_id, _, _ = store_with_item(session)
    with pytest.raises(IntegrityError), unit_of_work(sessions) as session:
        session.execute(
            text(
                "INSERT INTO ledger_accounts (key, kind, store_id, balance, created_at) "
                "VALUES ('user_available:x', 'user_available', :s, -1, now())"
            ),
            {"s": store_id},
        )
    with unit_of_work(sessions) as session:  # a store's liability may go below zero
        session.execute(
            text(
                "INSERT INTO ledger_accounts (key, kind, store_id, balance, created_at) "
                "VALUES ('store_liability:x', 'store_liability', :s, -1, now())"
            ),
            {"s": store_id},
        )
