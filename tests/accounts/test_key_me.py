"""`GET /v1/keys/me`: a key reads its own name, role and stores (what a console shows)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from kernel.config import Settings
from kernel.principal import Role
from tests.factories import api_key, auth, new_shopper, new_store


def test_each_key_reads_itself(client: TestClient, sessions: sessionmaker[Session]) -> None:
    operator = api_key(sessions, Role.OPERATOR)
    store_id = new_store(client, operator)
    staff = api_key(sessions, Role.STORE, [store_id])
    tech = api_key(sessions, Role.TECH)

    me = client.get("/v1/keys/me", headers=auth(staff))
    assert me.status_code == 200, me.text
    assert me.json()["role"] == "store"
    assert me.json()["store_ids"] == [store_id]
    assert me.json()["name"] == "test store"
    assert "secret" not in me.json()
    assert client.get("/v1/keys/me", headers=auth(tech)).json()["all_stores"] is True
    assert client.get("/v1/keys/me", headers=auth(operator)).json()["role"] == "operator"


def test_a_revoked_key_or_no_key_is_401_and_a_user_token_403(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    operator = api_key(sessions, Role.OPERATOR)
    store_id = new_store(client, operator)
    staff = api_key(sessions, Role.STORE, [store_id])
    key_id = client.get("/v1/keys/me", headers=auth(staff)).json()["id"]
    assert client.delete(f"/v1/keys/{key_id}", headers=auth(operator)).status_code == 204

    revoked = client.get("/v1/keys/me", headers=auth(staff))
    assert revoked.status_code == 401
    assert revoked.json()["error"] == "unauthorized"
    assert client.get("/v1/keys/me").status_code == 401
    user = new_shopper(client, settings, device=None)
    assert client.get("/v1/keys/me", headers=auth(user)).status_code == 403
