"""The seed's story through the API: A's look features S's item, B opened it, S reports
B's purchase with B's token, and A's points go pending, available, spent, refunded."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from kernel.db import unit_of_work, utcnow
from offers.models import Offer
from redemptions.service import issue_offer_code
from rewards import service
from social.models import Friendship
from tests.factories import auth
from tests.rewards.factories import (
    RULE,
    assert_books_balance,
    books,
    points,
    purchase,
    token,
    world,
)


def test_a_friends_purchase_earns_the_creator_pending_points_exactly_once(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    w = world(client, sessions)
    body = purchase(token(sessions, w.buyer_id, w.store_id))
    r = client.post(f"/v1/stores/{w.store_id}/purchases", json=body, headers=auth(w.key))
    assert r.status_code == 201, r.text
    first = r.json()
    # 59.90 EUR x 2 points per euro = 119 points (rounded down), under the 150 cap.
    assert (first["points"], first["status"], first["attributed"]) == (119, "pending", True)
    assert "buyer_id" not in first
    assert "creator_id" not in first
    lines_before = books(sessions)

    again = client.post(f"/v1/stores/{w.store_id}/purchases", json=body, headers=auth(w.key))
    assert again.status_code == 200, again.text
    assert again.json() == first
    assert books(sessions) == lines_before

    mine = points(client, w.creator_token)
    assert (mine["pending"], mine["available"]) == (119, 0)
    [line] = mine["items"]
    assert line["kind"] == "earn"
    assert line["pending_change"] == 119
    assert line["origin"] == {"look_id": w.look_id, "friend": "Bob", "store_purchase": True}
    assert mine["stores"] == [
        {"store_id": w.store_id, "store_name": "Maison S", "pending": 119, "available": 0}
    ]
    assert points(client, w.buyer_token)["items"] == []  # the buyer earns nothing
    assert_books_balance(sessions)


def test_other_content_under_the_same_purchase_id_is_a_conflict(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    w = world(client, sessions)
    body = purchase(token(sessions, w.buyer_id, w.store_id))
    assert (
        client.post(
            f"/v1/stores/{w.store_id}/purchases", json=body, headers=auth(w.key)
        ).status_code
        == 201
    )
    before = books(sessions)
    changed = {**body, "amount": "99.00"}
    r = client.post(f"/v1/stores/{w.store_id}/purchases", json=changed, headers=auth(w.key))
    assert r.status_code == 409, r.text
    assert books(sessions) == before


def test_released_points_are_spent_with_a_code_the_store_confirms(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    w = world(client, sessions)
    body = purchase(token(sessions, w.buyer_id, w.store_id))
    client.post(f"/v1/stores/{w.store_id}/purchases", json=body, headers=auth(w.key))
    with unit_of_work(sessions) as session:  # the window is not over: nothing moves
        assert service.release_pending(session, now=utcnow()) == 0
    later = utcnow() + timedelta(days=RULE["return_days"], minutes=1)
    with unit_of_work(sessions) as session:
        assert service.release_pending(session, now=later) == 1
    with unit_of_work(sessions) as session:  # idempotent
        assert service.release_pending(session, now=later) == 0
    mine = points(client, w.creator_token)
    assert (mine["pending"], mine["available"]) == (0, 119)
    assert mine["items"][0]["kind"] == "release"

    too_much = {"store_id": w.store_id, "points": 120}
    r = client.post("/v1/me/points/spend", json=too_much, headers=auth(w.creator_token))
    assert r.status_code == 422, r.text
    r = client.post(
        "/v1/me/points/spend",
        json={"store_id": w.store_id, "points": 50},
        headers=auth(w.creator_token),
    )
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    r = client.post(
        f"/v1/stores/{w.store_id}/points/redemptions", json={"code": code}, headers=auth(w.key)
    )
    assert r.status_code == 201, r.text
    assert r.json()["points"] == 50
    r = client.post(
        f"/v1/stores/{w.store_id}/points/redemptions", json={"code": code}, headers=auth(w.key)
    )
    assert r.status_code == 409, r.text
    mine = points(client, w.creator_token)
    assert mine["available"] == 69
    assert mine["items"][0]["kind"] == "spend"
    assert mine["items"][0]["available_change"] == -50
    assert_books_balance(sessions)


def test_a_refund_inside_the_return_window_voids_the_pending_points(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    w = world(client, sessions)
    body = purchase(token(sessions, w.buyer_id, w.store_id))
    client.post(f"/v1/stores/{w.store_id}/purchases", json=body, headers=auth(w.key))
    url = f"/v1/stores/{w.store_id}/purchases/till-1/refund"
    r = client.post(url, headers=auth(w.key))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "voided"
    before = books(sessions)
    assert client.post(url, headers=auth(w.key)).json()["status"] == "voided"
    assert books(sessions) == before
    mine = points(client, w.creator_token)
    assert (mine["pending"], mine["available"]) == (0, 0)
    assert [line["kind"] for line in mine["items"]] == ["void", "earn"]
    later = utcnow() + timedelta(days=30)
    with unit_of_work(sessions) as session:  # a voided award is never released
        assert service.release_pending(session, now=later) == 0
    assert_books_balance(sessions)


def test_a_refund_after_the_window_reverses_and_books_the_spent_part_as_the_stores_loss(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    w = world(client, sessions, rule={**RULE, "return_days": 0})
    body = purchase(token(sessions, w.buyer_id, w.store_id))
    assert (
        client.post(
            f"/v1/stores/{w.store_id}/purchases", json=body, headers=auth(w.key)
        ).status_code
        == 201
    )
    with unit_of_work(sessions) as session:
        assert service.release_pending(session, now=utcnow()) == 1
    r = client.post(
        "/v1/me/points/spend",
        json={"store_id": w.store_id, "points": 100},
        headers=auth(w.creator_token),
    )
    code = r.json()["code"]
    client.post(
        f"/v1/stores/{w.store_id}/points/redemptions", json={"code": code}, headers=auth(w.key)
    )

    r = client.post(f"/v1/stores/{w.store_id}/purchases/till-1/refund", headers=auth(w.key))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "reversed"
    mine = points(client, w.creator_token)
    assert (mine["pending"], mine["available"]) == (0, 0)  # toward zero, never below
    assert mine["items"][0]["kind"] == "reverse"
    assert mine["items"][0]["available_change"] == -19
    _, balances = books(sessions)
    assert dict(balances)[f"store_loss:{w.store_id}"] == -100
    assert_books_balance(sessions)


def test_a_refund_after_the_window_before_the_job_ran_releases_then_reverses(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    w = world(client, sessions, rule={**RULE, "return_days": 0})
    body = purchase(token(sessions, w.buyer_id, w.store_id))
    client.post(f"/v1/stores/{w.store_id}/purchases", json=body, headers=auth(w.key))
    r = client.post(f"/v1/stores/{w.store_id}/purchases/till-1/refund", headers=auth(w.key))
    assert r.json()["status"] == "reversed"
    mine = points(client, w.creator_token)
    assert (mine["pending"], mine["available"]) == (0, 0)
    assert [line["kind"] for line in mine["items"]] == ["reverse", "release", "earn"]
    assert_books_balance(sessions)


def test_the_whole_walk_through_the_apps_own_endpoints(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    """B opens A's look with ``POST /v1/me/looks/{id}/opened``, asks for a purchase
    token, shows it at the till; S reports the purchase; A sees the points."""
    w = world(client, sessions, rule={**RULE, "return_days": 0})
    with unit_of_work(sessions) as session:  # friends: a look is opened only by a friend
        session.add_all(
            [
                Friendship(user_id=w.creator_id, friend_id=w.buyer_id),
                Friendship(user_id=w.buyer_id, friend_id=w.creator_id),
            ]
        )
    bob = auth(w.buyer_token)
    r = client.post(f"/v1/me/looks/{w.look_id}/opened", headers=bob)
    assert r.status_code == 204, r.text
    r = client.post("/v1/me/purchase-tokens", json={"store_id": w.store_id}, headers=bob)
    assert r.status_code == 201, r.text
    body = purchase(r.json()["code"], spid="till-9")
    r = client.post(f"/v1/stores/{w.store_id}/purchases", json=body, headers=auth(w.key))
    assert r.status_code == 201, r.text
    assert r.json()["points"] == 119
    with unit_of_work(sessions) as session:
        service.release_pending(session, now=utcnow())
    mine = points(client, w.creator_token)
    assert (mine["pending"], mine["available"]) == (0, 119)
    assert {line["origin"]["friend"] for line in mine["items"]} == {"Bob"}
    assert_books_balance(sessions)


def test_an_offer_code_confirmed_at_the_till_reports_one_purchase(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    w = world(client, sessions)
    with unit_of_work(sessions) as session:
        offer = Offer(store_id=w.store_id, title="-20%", body="Boots", trigger="enter")
        session.add(offer)
        session.flush()
        code = issue_offer_code(
            session,
            user_id=w.buyer_id,
            store_id=w.store_id,
            offer_id=offer.id,
            notification_id=None,
            expires_at=None,
        ).code
    staff = auth(w.key)
    r = client.post(f"/v1/stores/{w.store_id}/redemptions", json={"code": code}, headers=staff)
    assert r.status_code == 200, r.text
    url = f"/v1/stores/{w.store_id}/purchases"
    r = client.post(url, json=purchase(code), headers=staff)
    assert r.status_code == 201, r.text
    assert r.json()["points"] == 119
    r = client.post(url, json=purchase(code, spid="till-2"), headers=staff)
    assert r.status_code == 409, r.text
    assert_books_balance(sessions)


def test_ledger_lines_page_newest_first(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    w = world(client, sessions)
    body = purchase(token(sessions, w.buyer_id, w.store_id))
    client.post(f"/v1/stores/{w.store_id}/purchases", json=body, headers=auth(w.key))
    client.post(f"/v1/stores/{w.store_id}/purchases/till-1/refund", headers=auth(w.key))
    me = auth(w.creator_token)
    first = client.get("/v1/me/points", params={"limit": 1}, headers=me).json()
    assert [line["kind"] for line in first["items"]] == ["void"]
    after = {"limit": 1, "after": first["next_after"]}
    second = client.get("/v1/me/points", params=after, headers=me).json()
    assert [line["kind"] for line in second["items"]] == ["earn"]
    after["after"] = second["next_after"]
    assert client.get("/v1/me/points", params=after, headers=me).json()["items"] == []
    assert client.get("/v1/me/points", params={"limit": 0}, headers=me).status_code == 422
