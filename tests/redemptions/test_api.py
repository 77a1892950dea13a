"""The redemption endpoints per role: a shopper's codes and QR images, purchase tokens,
and store staff confirming an offer's code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kernel.config import Settings
from kernel.principal import Role
from redemptions.models import Code
from redemptions.service import MAX_UNUSED_PURCHASE_TOKENS
from tests.factories import api_key, auth
from tests.redemptions.factories import Till, offer_code, shopper, spend_code, till

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def shop(client: TestClient, sessions: sessionmaker[Session], settings: Settings) -> Till:
    return till(client, sessions, settings, title="Boots -20%")


def _redeem(client: TestClient, key: str, store_id: int, code: Any) -> Any:
    return client.post(f"/v1/stores/{store_id}/redemptions", json={"code": code}, headers=auth(key))


def _used_at(sessions: sessionmaker[Session], code: str) -> datetime | None:
    with sessions() as session:
        return session.scalars(select(Code.used_at).where(Code.code == code)).one()


def test_a_shopper_lists_their_live_codes_with_qr_and_buy_now(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings, shop: Till
) -> None:
    code = offer_code(sessions, shop)
    offer_code(sessions, shop, expires_at=datetime.now(UTC) - timedelta(seconds=1))  # expired
    r = client.post(
        "/v1/me/purchase-tokens", json={"store_id": shop.store_id}, headers=auth(shop.token)
    )
    assert r.status_code == 201, r.text
    token = r.json()
    assert token["kind"] == "purchase"
    assert token["buy_now_link"] is None
    assert token["store_name"] == "Boutique"
    assert token["offer_id"] is None

    r = client.get("/v1/me/codes", headers=auth(shop.token))
    assert r.status_code == 200, r.text
    page = r.json()
    assert [c["code"] for c in page["items"]] == [code, token["code"]]
    assert page["next_after"] is None
    first = page["items"][0]
    assert first == {
        **first,
        "kind": "offer",
        "store_id": shop.store_id,
        "store_name": "Boutique",
        "offer_id": shop.offer_id,
        "offer_title": "Boots -20%",
        "points": None,
        "used_at": None,
        "qr_payload": f"VICINITY:REDEEM:{code}",
        "qr_png": f"/v1/me/codes/{code}/qr.png",
        "buy_now_link": f"vicinity://buy?offer={shop.offer_id}&code={code}",
    }

    r = client.get("/v1/me/codes?limit=1", headers=auth(shop.token))
    assert len(r.json()["items"]) == 1
    assert r.json()["next_after"] is not None
    after = r.json()["next_after"]
    r = client.get(f"/v1/me/codes?limit=1&after={after}", headers=auth(shop.token))
    assert [c["code"] for c in r.json()["items"]] == [token["code"]]

    _, stranger = shopper(sessions, settings)
    assert client.get("/v1/me/codes", headers=auth(stranger)).json()["items"] == []
    assert client.get("/v1/me/codes", headers=auth(shop.staff)).status_code == 403


def test_a_used_code_stays_listed_with_when(
    client: TestClient, sessions: sessionmaker[Session], shop: Till
) -> None:
    code = offer_code(sessions, shop)
    assert _redeem(client, shop.staff, shop.store_id, code).status_code == 200
    (item,) = client.get("/v1/me/codes", headers=auth(shop.token)).json()["items"]
    assert item["code"] == code
    assert item["used_at"] is not None


def test_the_qr_image_is_a_png_for_its_owner_only(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings, shop: Till
) -> None:
    code = offer_code(sessions, shop)
    r = client.get(f"/v1/me/codes/{code}/qr.png", headers=auth(shop.token))
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"
    assert r.content.startswith(PNG)
    typed = f"{code[:4].lower()}-{code[4:]}"
    assert client.get(f"/v1/me/codes/{typed}/qr.png", headers=auth(shop.token)).status_code == 200

    _, stranger = shopper(sessions, settings)
    theirs = client.get(f"/v1/me/codes/{code}/qr.png", headers=auth(stranger))
    unknown = client.get("/v1/me/codes/ZZZZ9999/qr.png", headers=auth(stranger))
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json()["error"] == "not_found"
    assert client.get(f"/v1/me/codes/{code}/qr.png", headers=auth(shop.staff)).status_code == 403


@pytest.mark.parametrize("path", ["O0O0O0O0", "ABC", "A" * 40, "ABCD%002345", "ABCD%0A2345"])
def test_a_malformed_code_in_the_path_is_refused(client: TestClient, shop: Till, path: str) -> None:
    r = client.get(f"/v1/me/codes/{path}/qr.png", headers=auth(shop.token))
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "invalid"


def test_purchase_tokens(client: TestClient, shop: Till) -> None:
    before = datetime.now(UTC)
    r = client.post(
        "/v1/me/purchase-tokens", json={"store_id": shop.store_id}, headers=auth(shop.token)
    )
    assert r.status_code == 201, r.text
    expires = datetime.fromisoformat(r.json()["expires_at"])
    assert before + timedelta(minutes=14) < expires <= datetime.now(UTC) + timedelta(minutes=15)
    r = client.post("/v1/me/purchase-tokens", json={"store_id": 999}, headers=auth(shop.token))
    assert r.status_code == 404
    assert r.json()["detail"] == "no store 999"
    for _ in range(MAX_UNUSED_PURCHASE_TOKENS - 1):
        r = client.post(
            "/v1/me/purchase-tokens", json={"store_id": shop.store_id}, headers=auth(shop.token)
        )
        assert r.status_code == 201
    r = client.post(
        "/v1/me/purchase-tokens", json={"store_id": shop.store_id}, headers=auth(shop.token)
    )
    assert r.status_code == 409
    assert "unused purchase tokens" in r.json()["detail"]
    r = client.post(
        "/v1/me/purchase-tokens", json={"store_id": shop.store_id}, headers=auth(shop.staff)
    )
    assert r.status_code == 403


@pytest.mark.parametrize(
    "body",
    [{}, {"store_id": 0}, {"store_id": "one"}, {"store_id": 2**31}, {"store_id": None},
     {"store_id": 1, "extra": True}, [1], "1"],
)  # fmt: skip
def test_bad_purchase_token_requests(client: TestClient, shop: Till, body: Any) -> None:
    r = client.post("/v1/me/purchase-tokens", json=body, headers=auth(shop.token))
    assert r.status_code == 422, r.text


def test_staff_confirm_an_offer_code_once_and_learn_nothing_of_the_shopper(
    client: TestClient, sessions: sessionmaker[Session], shop: Till
) -> None:
    code = offer_code(sessions, shop)
    r = _redeem(client, shop.staff, shop.store_id, f"{code[:4]} {code[4:].lower()}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"code", "store_id", "offer_id", "offer_title", "redeemed_at"}
    assert (body["code"], body["offer_id"], body["offer_title"]) == (
        code,
        shop.offer_id,
        "Boots -20%",
    )
    used_at = _used_at(sessions, code)
    assert used_at is not None
    assert datetime.fromisoformat(body["redeemed_at"]) == used_at

    again = _redeem(client, shop.staff, shop.store_id, code)
    assert again.status_code == 409
    assert again.json() == {
        "error": "conflict",
        "detail": f"code {code} was already redeemed at {used_at.isoformat()}",
    }


def test_an_operator_may_confirm_but_not_a_tech_key_or_a_shopper(
    client: TestClient, sessions: sessionmaker[Session], shop: Till
) -> None:
    code = offer_code(sessions, shop)
    assert _redeem(client, api_key(sessions, Role.TECH), shop.store_id, code).status_code == 403
    assert _redeem(client, shop.token, shop.store_id, code).status_code == 403
    r = client.post(f"/v1/stores/{shop.store_id}/redemptions", json={"code": code})
    assert r.status_code == 401
    assert _used_at(sessions, code) is None
    assert _redeem(client, api_key(sessions, Role.OPERATOR), shop.store_id, code).status_code == 200


def test_a_store_key_cannot_confirm_another_stores_codes(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings, shop: Till
) -> None:
    other = till(client, sessions, settings, name="Other")
    theirs = offer_code(sessions, other)
    # At the other store's endpoint: not a store of this key, answered like a missing one.
    r = _redeem(client, shop.staff, other.store_id, theirs)
    assert r.status_code == 404
    assert r.json()["detail"] == f"no store {other.store_id}"
    # At its own endpoint: another store's code is unknown here.
    r = _redeem(client, shop.staff, shop.store_id, theirs)
    assert r.status_code == 404
    assert r.json()["detail"] == f"no redemption code {theirs} at store {shop.store_id}"
    assert _used_at(sessions, theirs) is None
    assert _redeem(client, other.staff, other.store_id, theirs).status_code == 200


def test_refusals_at_the_till(
    client: TestClient, sessions: sessionmaker[Session], shop: Till
) -> None:
    spend = spend_code(sessions, shop)
    r = _redeem(client, shop.staff, shop.store_id, spend)
    assert r.status_code == 422
    assert "code spending points" in r.json()["detail"]
    expired = offer_code(sessions, shop, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    r = _redeem(client, shop.staff, shop.store_id, expired)
    assert r.status_code == 409
    assert f"code {expired} expired at" in r.json()["detail"]
    r = _redeem(client, shop.staff, shop.store_id, "ZZZZ9999")
    assert r.status_code == 404
    assert _used_at(sessions, spend) is None
    assert _used_at(sessions, expired) is None


@pytest.mark.parametrize(
    "code",
    ["", "ABCD\x002345", "ABCD\u00852345", "A" * 33, "ABCDO234", "ABCD234", 12345678, None,
     ["ABCD2345"], "ABCD_2345"],
)  # fmt: skip
def test_malformed_codes_are_refused_and_nothing_is_used(
    client: TestClient, sessions: sessionmaker[Session], shop: Till, code: Any
) -> None:
    real = offer_code(sessions, shop)
    r = _redeem(client, shop.staff, shop.store_id, code)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "invalid"
    if isinstance(code, str) and code:
        assert code not in r.text
    assert _used_at(sessions, real) is None


@pytest.mark.parametrize("body", [b"{", b'{"code": "ABCD2345", "extra": 1}', b"[]"])
def test_unreadable_bodies_are_refused(client: TestClient, shop: Till, body: bytes) -> None:
    r = client.post(
        f"/v1/stores/{shop.store_id}/redemptions",
        content=body,
        headers={**auth(shop.staff), "Content-Type": "application/json"},
    )
    assert r.status_code == 422, r.text


def test_export_holds_the_users_codes_and_erasure_deletes_them(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings, shop: Till
) -> None:
    code = offer_code(sessions, shop)
    other_id, _ = shopper(sessions, settings)
    theirs = offer_code(sessions, Till(shop.store_id, shop.staff, shop.offer_id, other_id, ""))
    r = client.get("/v1/me/export", headers=auth(shop.token))
    rows = r.json()["tables"]["redemption_codes"]
    assert [row["code"] for row in rows] == [code]
    assert client.delete("/v1/me", headers=auth(shop.token)).status_code == 204
    with sessions() as session:
        assert list(session.scalars(select(Code.code))) == [theirs]
