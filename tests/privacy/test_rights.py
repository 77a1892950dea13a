"""Data rights on real services: the export holds everything about a user, and erasure
leaves no table row or Redis key that identifies them, while others keep theirs."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from accounts.service import hash_secret
from kernel.config import Settings
from presence.store import SEALED_KEY
from privacy.service import registered_tables
from server.models import Base
from tests.factories import Shop, auth, clock, new_shopper, open_shop, visit
from tests.fcm_standin import FcmStandIn


class Person:
    def __init__(self, client: TestClient, settings: Settings, device: str) -> None:
        self.device = device
        self.token = new_shopper(client, settings, interests=["fashion"], device=device)
        self.id = int(client.get("/v1/me/export", headers=auth(self.token)).json()["user_id"])

    @property
    def secrets(self) -> list[str]:
        return [self.device, self.token, hash_secret(self.token)]


@pytest.fixture
def shop(client: TestClient, sessions: sessionmaker[Session]) -> Shop:
    return open_shop(client, sessions, name="Maison Rivoli", east_m=0.0, segments=["fashion"])


@pytest.fixture
def two_people(
    client: TestClient, settings: Settings, shop: Shop, fcm_standin: FcmStandIn
) -> tuple[Person, Person]:
    """Two shoppers who each got a push in the shop and are still inside it."""
    ann, bob = Person(client, settings, "phone-ann"), Person(client, settings, "phone-bob")
    until = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    r = client.post(
        "/v1/me/activations",
        json={"segment": "tableware", "until": until},
        headers=auth(ann.token),
    )
    assert r.status_code == 201
    r = client.put("/v1/me/preferences", json={"max_per_day": 4}, headers=auth(ann.token))
    assert r.status_code == 200
    times = clock()
    for person in (ann, bob):
        assert len(visit(client, person.token, shop, next(times))["notifications"]) == 1
    fcm_standin.wait_for(2, timeout=10)
    return ann, bob


def _export(client: TestClient, token: str) -> dict[str, Any]:
    r = client.get("/v1/me/export", headers=auth(token))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_the_export_holds_everything_about_the_user_and_nothing_else(
    client: TestClient, shop: Shop, two_people: tuple[Person, Person]
) -> None:
    ann, bob = two_people
    r = client.put(
        "/v1/me/preferences", json={"muted_store_ids": [shop.store_id]}, headers=auth(ann.token)
    )
    assert r.status_code == 200
    export = _export(client, ann.token)
    tables = export["tables"]
    assert set(tables) == {t.table for t in registered_tables() if t.export is not None}

    (user,) = tables["users"]
    assert user["id"] == ann.id
    assert user["locale"] == "en"
    assert user["timezone"] == "Europe/Paris"
    assert "token_hash" not in user
    assert [d["token"] for d in tables["devices"]] == ["phone-ann"]
    assert [(c["purpose"], c["granted"]) for c in tables["consent_records"]] == [
        ("location_offers", True)
    ]
    assert [i["segment"] for i in tables["interests"]] == ["fashion"]
    assert [a["segment"] for a in tables["activations"]] == ["tableware"]
    assert tables["muted_stores"][0]["store_id"] == shop.store_id
    (note,) = tables["notifications"]
    assert note["reason"]["store"] == "Maison Rivoli"
    assert [d["token"] for d in note["deliveries"]] == ["phone-ann"]
    assert list(export["presence"]["zones"]) != []

    text = json.dumps(export)
    assert all(secret not in text for secret in bob.secrets)
    assert ann.token not in text


def _rows(session: Session) -> dict[str, list[dict[str, Any]]]:
    out = {}
    for table in Base.metadata.sorted_tables:
        rows = session.execute(select(table)).mappings().all()
        out[table.name] = [dict(r) for r in rows]
    return out


def _user_columns() -> dict[str, list[str]]:
    """Per table, the columns that hold a user id."""
    cols: dict[str, list[str]] = {}
    for table in Base.metadata.sorted_tables:
        names = [
            c.name
            for c in table.columns
            if c.name == "user_id" or any(fk.column.table.name == "users" for fk in c.foreign_keys)
        ]
        if table.name == "users":
            names.append("id")
        cols[table.name] = names
    return cols


def _redis_values(client: redis.Redis, key: bytes) -> list[bytes]:
    kind = client.type(key).decode()
    if kind == "string":
        return [client.get(key) or b""]
    if kind == "hash":
        return [b for kv in client.hgetall(key).items() for b in kv]
    if kind == "list":
        return list(client.lrange(key, 0, -1))
    if kind == "set":
        return list(client.smembers(key))
    if kind == "zset":
        return list(client.zrange(key, 0, -1))
    return [client.dump(key) or b""]


def _identifies(person: Person, key: bytes, values: list[bytes]) -> bool:
    name = key.decode()
    if re.search(rf"(^|:){person.id}(:|$)", name):
        return True
    return any(s.encode() in v or s in name for s in person.secrets for v in values)


def test_erasure_leaves_nothing_that_identifies_the_user(
    client: TestClient,
    sessions: sessionmaker[Session],
    redis_client: redis.Redis,
    two_people: tuple[Person, Person],
) -> None:
    ann, bob = two_people
    # A lock a crashed worker left behind: only the registry's key patterns find it.
    redis_client.set(f"vicinity:lock:presence:{ann.id}", "stale")
    # Beacon state, as a sighting batch leaves it.
    for person in (ann, bob):
        redis_client.set(f"vicinity:beacon-tracks:{person.id}", "{}", ex=600)
        redis_client.set(f"vicinity:sighting:{person.id}:77:1795437000000", 1, ex=600)
    keys_before = set(redis_client.scan_iter())
    assert any(_identifies(ann, k, _redis_values(redis_client, k)) for k in keys_before)

    r = client.delete("/v1/me", headers=auth(ann.token))
    assert r.status_code == 204, r.text
    assert client.get("/v1/me/export", headers=auth(ann.token)).status_code == 401

    with sessions() as session:
        rows = _rows(session)
        for entry in registered_tables():
            if entry.export is not None:
                assert entry.export(session, ann.id) == [], entry.table
    user_columns = _user_columns()
    for table, table_rows in rows.items():
        for row in table_rows:
            for column in user_columns[table]:
                assert row[column] != ann.id, (table, row)
            text = json.dumps(row, default=str)
            for secret in ann.secrets:
                assert secret not in text, (table, row)

    # Only the seal stays, for an hour: "id N is gone", which says nothing about a person
    # and stops any process that still remembers the token (presence.store).
    sealed = SEALED_KEY.format(ann.id).encode()
    assert redis_client.get(sealed) is not None
    assert 0 < redis_client.ttl(sealed) <= 3600
    for key in redis_client.scan_iter():
        if key != sealed:
            assert not _identifies(ann, key, _redis_values(redis_client, key)), key

    # Bob is untouched: his rows, his push history, his presence.
    export = _export(client, bob.token)
    assert [d["token"] for d in export["tables"]["devices"]] == ["phone-bob"]
    assert len(export["tables"]["notifications"]) == 1
    assert export["presence"]["zones"]
    assert redis_client.exists(f"vicinity:presence:{bob.id}")
    assert redis_client.exists(f"vicinity:sighting:{bob.id}:77:1795437000000")


def test_erasure_is_for_app_users_only(client: TestClient, operator: str) -> None:
    assert client.delete("/v1/me", headers=auth(operator)).status_code == 403
    assert client.delete("/v1/me").status_code == 401
