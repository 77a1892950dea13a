"""Every refused broadcast is a clear 4xx, and nothing is created or queued by it."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from broadcast.models import Broadcast
from kernel.config import Settings
from kernel.principal import Role
from offers.models import Offer
from tests.broadcast.world import flash, shop
from tests.factories import api_key, auth, new_shopper, new_store

VALID = {"title": "Flash", "body": "Now.", "segments": ["fashion"], "radius_m": 500}


def _post(client: TestClient, key: str, store_id: int, **changes: Any) -> Any:
    body = {k: v for k, v in {**VALID, **changes}.items() if v is not None}
    return client.post(f"/v1/stores/{store_id}/broadcasts", json=body, headers=auth(key))


def _nothing_created(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Broadcast)) == 0
        assert session.scalar(select(func.count()).select_from(Offer)) == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"radius_m": 49}, "radius_m"),
        ({"radius_m": 5001}, "radius_m"),
        ({"radius_m": "500"}, "radius_m"),
        ({"segments": []}, "segments"),
        ({"segments": None}, "segments"),
        ({"valid_for_s": 86401}, "valid_for_s"),
        ({"valid_for_s": 0}, "valid_for_s"),
        ({"title": ""}, "title"),
        ({"user_ids": [1]}, "user_ids"),
    ],
)
def test_bad_bodies_are_422_naming_the_field(
    client: TestClient,
    sessions: sessionmaker[Session],
    changes: dict[str, Any],
    field: str,
) -> None:
    store, staff, _ = shop(client, sessions, "Flash", 0.0)
    r = _post(client, staff, store, **changes)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "invalid"
    assert field in {p["field"].rsplit(".", 1)[-1] for p in r.json()["problems"]}
    _nothing_created(sessions)


def test_an_unknown_segment_is_422(client: TestClient, sessions: sessionmaker[Session]) -> None:
    store, staff, _ = shop(client, sessions, "Flash", 0.0)
    r = _post(client, staff, store, segments=["fashion", "no-such-thing"])
    assert r.status_code == 422
    assert r.json()["detail"] == "unknown segment 'no-such-thing'; see GET /v1/segments"
    _nothing_created(sessions)


def test_a_store_without_a_geofence_is_409(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    store = new_store(client, api_key(sessions, Role.OPERATOR), "Nowhere")
    staff = api_key(sessions, Role.STORE, [store])
    r = _post(client, staff, store)
    assert r.status_code == 409
    assert r.json()["error"] == "conflict"
    assert "no geofence" in r.json()["detail"]
    _nothing_created(sessions)


def test_another_stores_broadcasts_are_not_found_and_roles_are_checked(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    mine, my_staff, _ = shop(client, sessions, "Mine", 0.0)
    theirs, their_staff, _ = shop(client, sessions, "Theirs", 1000.0)
    their_broadcast = flash(client, their_staff, theirs)["id"]

    # Their store's broadcasts answer like a missing store's; theirs under my store, like
    # a missing broadcast.
    assert _post(client, my_staff, theirs).json() == {
        "error": "not_found",
        "detail": f"no store {theirs}",
    }
    for path in (
        f"/v1/stores/{theirs}/broadcasts",
        f"/v1/stores/{theirs}/broadcasts/{their_broadcast}",
    ):
        r = client.get(path, headers=auth(my_staff))
        assert (r.status_code, r.json()["detail"]) == (404, f"no store {theirs}")
    r = client.get(f"/v1/stores/{mine}/broadcasts/{their_broadcast}", headers=auth(my_staff))
    assert r.json() == {"error": "not_found", "detail": f"no broadcast {their_broadcast}"}

    # A tech key and an app user are refused by role; no credential is 401.
    tech = api_key(sessions, Role.TECH, [mine])
    user = new_shopper(client, settings)
    for key in (tech, user):
        r = _post(client, key, mine)
        assert r.status_code == 403, r.text
        assert r.json()["error"] == "forbidden"
        assert client.get(f"/v1/stores/{mine}/broadcasts", headers=auth(key)).status_code == 403
    assert client.post(f"/v1/stores/{mine}/broadcasts", json=VALID).status_code == 401

    # The operator may broadcast for any store.
    operator = api_key(sessions, Role.OPERATOR)
    assert _post(client, operator, mine).status_code == 202
    r = client.get(f"/v1/stores/{theirs}/broadcasts", headers=auth(operator))
    assert [b["id"] for b in r.json()["items"]] == [their_broadcast]
