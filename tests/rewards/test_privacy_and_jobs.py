"""Export holds a user's accounts, lines and purchases; erasure pseudonymises them and the
store's books still balance. The release job is on the beat schedule and idempotent."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from rewards.models import LedgerAccount, Purchase
from rewards.tasks import release_pending_points
from server.celery import celery_app
from tests.factories import auth
from tests.rewards.factories import (
    RULE,
    World,
    assert_books_balance,
    books,
    points,
    purchase,
    token,
    world,
)


def _bought(client: TestClient, sessions: sessionmaker[Session], w: World) -> None:
    body = purchase(token(sessions, w.buyer_id, w.store_id))
    r = client.post(f"/v1/stores/{w.store_id}/purchases", json=body, headers=auth(w.key))
    assert r.status_code == 201, r.text


def _export(client: TestClient, user_token: str) -> dict[str, Any]:
    r = client.get("/v1/me/export", headers=auth(user_token))
    assert r.status_code == 200, r.text
    tables: dict[str, Any] = r.json()["tables"]
    return tables


def test_the_export_holds_accounts_lines_and_purchases_never_the_buyer_for_the_creator(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    w = world(client, sessions)
    _bought(client, sessions, w)
    mine = _export(client, w.creator_token)
    [account] = mine["ledger_accounts"]
    assert (account["kind"], account["balance"]) == ("user_pending", 119)
    assert [line["kind"] for line in account["lines"]] == ["earn"]
    [earned] = mine["purchases"]
    assert earned["points"] == 119
    assert not {"buyer_id", "amount_minor", "items"} & set(earned)
    theirs = _export(client, w.buyer_token)
    assert theirs["ledger_accounts"] == []
    assert theirs["purchases"][0]["buyer_id"] == w.buyer_id


def test_erasure_keeps_the_books_and_forgets_the_people(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    w = world(client, sessions)
    _bought(client, sessions, w)
    lines, _ = books(sessions)
    assert client.delete("/v1/me", headers=auth(w.buyer_token)).status_code == 204
    # The buyer is gone (display name included): the creator's line says "a friend".
    [line] = points(client, w.creator_token)["items"]
    assert line["origin"]["friend"] == "a friend"
    assert client.delete("/v1/me", headers=auth(w.creator_token)).status_code == 204
    with sessions() as session:
        for account in session.scalars(select(LedgerAccount)):
            assert account.user_id is None
            if account.kind.startswith("user_"):  # the key named the user, now it does not
                assert account.key == f"{account.kind}:{w.store_id}:erased:{account.id}"
        [bought] = session.scalars(select(Purchase))
        assert (bought.buyer_id, bought.creator_id, bought.points) == (None, None, 119)
    # The creator's pending points went back to the store: one more line, nothing owed.
    assert books(sessions)[0] == lines + 1
    with sessions() as session:
        assert {a.kind: a.balance for a in session.scalars(select(LedgerAccount))} == {
            "store_liability": 0,
            "user_pending": 0,
        }
    assert_books_balance(sessions)
    # The store may still refund it: nothing left to take back from an erased creator.
    r = client.post(f"/v1/stores/{w.store_id}/purchases/till-1/refund", headers=auth(w.key))
    assert r.status_code == 200, r.text
    assert r.json()["refunded_at"] is not None


def test_the_release_job_is_scheduled_and_releases_once(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    schedule = celery_app.conf.beat_schedule["rewards.release_pending"]
    assert schedule["task"] == "rewards.release_pending" in celery_app.tasks
    assert schedule["schedule"] <= 24 * 3600
    w = world(client, sessions, rule={**RULE, "return_days": 0})
    _bought(client, sessions, w)
    assert release_pending_points() == 1
    assert release_pending_points() == 0
    assert (points(client, w.creator_token)["available"]) == 119
    assert_books_balance(sessions)
