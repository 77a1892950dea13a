"""Profiles, invitations and friendships through the API, on PostgreSQL."""

from __future__ import annotations

from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from accounts.service import hash_secret
from social.models import FriendInvite
from social.service import MAX_PENDING_INVITES
from tests.factories import auth
from tests.social.factories import (
    Person,
    accept,
    befriend,
    expire_invites,
    friend_ids,
    invite,
    new_user,
    person,
)


@pytest.fixture
def ann(client: TestClient) -> Person:
    return person(client, "Ann", "https://cdn.example.org/ann.jpg")


@pytest.fixture
def bob(client: TestClient) -> Person:
    return person(client, "Bob")


def test_profile_is_set_read_and_replaced(client: TestClient) -> None:
    _, token = new_user(client)
    r = client.get("/v1/me/profile", headers=auth(token))
    assert r.status_code == 404
    assert "PUT /v1/me/profile" in r.json()["detail"]
    r = client.put(
        "/v1/me/profile",
        json={"display_name": "  Camille ", "avatar_url": "https://x.example/c.png"},
        headers=auth(token),
    )
    assert r.status_code == 200, r.text
    assert r.json()["display_name"] == "Camille"
    r = client.put("/v1/me/profile", json={"display_name": "Cam"}, headers=auth(token))
    assert r.status_code == 200, r.text
    got = client.get("/v1/me/profile", headers=auth(token)).json()
    assert (got["display_name"], got["avatar_url"]) == ("Cam", None)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"display_name": "Ann\x00"}, "display_name"),
        ({"display_name": "Ann\nSmith"}, "display_name"),
        ({"display_name": "   "}, "display_name"),
        ({"display_name": ""}, "display_name"),
        ({"display_name": "x" * 61}, "display_name"),
        ({"display_name": "Ann", "avatar_url": "http://x.example/a.png"}, "avatar_url"),
        ({"display_name": "Ann", "avatar_url": "javascript:alert(1)"}, "avatar_url"),
        ({"display_name": "Ann", "avatar_url": "https://x.example/" + "a" * 1000}, "avatar_url"),
        ({"display_name": "Ann", "avatar_url": "https://x.example/\x07"}, "avatar_url"),
        ({"display_name": "Ann", "email": "ann@example.org"}, "email"),
        ({}, "display_name"),
    ],
)
def test_a_bad_profile_is_a_clear_422_and_changes_nothing(
    client: TestClient, ann: Person, body: dict[str, object], field: str
) -> None:
    r = client.put("/v1/me/profile", json=body, headers=ann.headers)
    assert r.status_code == 422, r.text
    assert [p["field"] for p in r.json()["problems"]] == [field]
    assert client.get("/v1/me/profile", headers=ann.headers).json()["display_name"] == "Ann"


def test_invite_then_accept_makes_friends_both_ways(
    client: TestClient, sessions: sessionmaker[Session], ann: Person, bob: Person
) -> None:
    made = invite(client, ann)
    assert made["link"] == f"vicinity://invite/{made['code']}"
    pending = client.get("/v1/me/friends/invites", headers=ann.headers).json()
    assert [i["id"] for i in pending] == [made["id"]]
    with sessions() as session:
        stored = session.scalars(select(FriendInvite)).one()
        assert stored.code_hash == hash_secret(made["code"])  # never the code itself

    # Typed by hand: lower case, a hyphen.
    typed = f"{made['code'][:4].lower()}-{made['code'][4:]}"
    r = accept(client, bob, typed)
    assert r.status_code == 201, r.text
    assert r.json() == {
        "user_id": ann.id,
        "display_name": "Ann",
        "avatar_url": "https://cdn.example.org/ann.jpg",
        "since": r.json()["since"],
    }
    assert friend_ids(client, ann) == [bob.id]
    assert friend_ids(client, bob) == [ann.id]
    (seen,) = client.get("/v1/me/friends", headers=ann.headers).json()["items"]
    assert set(seen) == {"user_id", "display_name", "avatar_url", "since"}  # nothing else
    assert (seen["display_name"], seen["avatar_url"]) == ("Bob", None)
    assert client.get("/v1/me/friends/invites", headers=ann.headers).json() == []


def test_a_link_works_like_its_code(client: TestClient, ann: Person, bob: Person) -> None:
    assert accept(client, bob, invite(client, ann)["link"]).status_code == 201
    assert friend_ids(client, bob) == [ann.id]


def test_a_replayed_code_is_refused(client: TestClient, ann: Person, bob: Person) -> None:
    code = invite(client, ann)["code"]
    assert accept(client, bob, code).status_code == 201
    carl = person(client, "Carl")
    r = accept(client, carl, code)
    assert r.status_code == 404
    assert "already used" in r.json()["detail"]
    # The one who used it hears that it worked: they are friends already.
    r = accept(client, bob, code)
    assert (r.status_code, r.json()["error"]) == (409, "conflict")
    assert friend_ids(client, carl) == []


def test_decline_spends_the_code_and_is_idempotent(
    client: TestClient, ann: Person, bob: Person
) -> None:
    code = invite(client, ann)["code"]
    for _ in range(2):
        r = client.post("/v1/me/friends/decline", json={"code": code}, headers=bob.headers)
        assert r.status_code == 204, r.text
    r = accept(client, bob, code)
    assert r.status_code == 404
    assert "declined" in r.json()["detail"]
    assert friend_ids(client, ann) == []
    assert client.get("/v1/me/friends/invites", headers=ann.headers).json() == []


def test_an_expired_code_says_so(
    client: TestClient, sessions: sessionmaker[Session], ann: Person, bob: Person
) -> None:
    made = invite(client, ann)
    assert datetime.fromisoformat(made["expires_at"]) > datetime.fromisoformat(
        client.get("/v1/me/profile", headers=ann.headers).json()["updated_at"]
    )
    expire_invites(sessions, ann)
    for path in ("/v1/me/friends/accept", "/v1/me/friends/decline"):
        r = client.post(path, json={"code": made["code"]}, headers=bob.headers)
        assert r.status_code == 404
        assert "expired" in r.json()["detail"]
    assert client.get("/v1/me/friends/invites", headers=ann.headers).json() == []


@pytest.mark.parametrize(
    ("code", "status", "words"),
    [
        ("ZZZZZZZZ", 404, "no invite with this code"),
        ("ABC", 422, "8 letters and digits"),
        ("ABCD-EFG!", 422, "8 letters and digits"),
    ],
)
def test_unknown_and_malformed_codes(
    client: TestClient, bob: Person, code: str, status: int, words: str
) -> None:
    r = accept(client, bob, code)
    assert r.status_code == status
    assert words in r.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [{}, {"code": ""}, {"code": "A" * 201}, {"code": "ABCD\x00EFG"}, {"code": 12345678}],
)
def test_bad_accept_bodies_are_422(client: TestClient, bob: Person, body: object) -> None:
    r = client.post("/v1/me/friends/accept", json=body, headers=bob.headers)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "invalid"


def test_my_own_code_is_refused(client: TestClient, ann: Person) -> None:
    r = accept(client, ann, invite(client, ann)["code"])
    assert r.status_code == 422
    assert "your own invite code" in r.json()["detail"]


def test_a_display_name_is_needed_to_invite_or_accept(client: TestClient, ann: Person) -> None:
    _, token = new_user(client)
    code = invite(client, ann)["code"]
    for r in (
        client.post("/v1/me/friends/invites", headers=auth(token)),
        client.post("/v1/me/friends/accept", json={"code": code}, headers=auth(token)),
    ):
        assert r.status_code == 422
        assert "PUT /v1/me/profile" in r.json()["detail"]


def test_revoking_an_invite_kills_its_code(client: TestClient, ann: Person, bob: Person) -> None:
    made = invite(client, ann)
    r = client.delete(f"/v1/me/friends/invites/{made['id']}", headers=bob.headers)
    assert r.status_code == 404  # not Bob's
    r = client.delete(f"/v1/me/friends/invites/{made['id']}", headers=ann.headers)
    assert r.status_code == 204
    assert accept(client, bob, made["code"]).status_code == 404


def test_pending_invites_are_capped(client: TestClient, ann: Person) -> None:
    for _ in range(MAX_PENDING_INVITES):
        invite(client, ann)
    r = client.post("/v1/me/friends/invites", headers=ann.headers)
    assert r.status_code == 409
    assert "revoke one" in r.json()["detail"]


def test_removing_a_friend_ends_it_both_ways(client: TestClient, ann: Person, bob: Person) -> None:
    befriend(client, ann, bob)
    assert client.delete(f"/v1/me/friends/{ann.id}", headers=bob.headers).status_code == 204
    assert friend_ids(client, ann) == friend_ids(client, bob) == []
    r = client.delete(f"/v1/me/friends/{ann.id}", headers=bob.headers)
    assert r.status_code == 404
    assert "not your friend" in r.json()["detail"]


@pytest.mark.parametrize("path", ["0", "-1", "abc", "2147483648", "1.5"])
def test_malformed_ids_are_422(client: TestClient, ann: Person, path: str) -> None:
    for url in (
        f"/v1/me/friends/{path}",
        f"/v1/me/friends/invites/{path}",
        f"/v1/me/blocks/{path}",
        f"/v1/me/favourites/{path}",
    ):
        assert client.delete(url, headers=ann.headers).status_code == 422, url


def test_friends_page_by_friend_id(client: TestClient, ann: Person) -> None:
    others = [person(client, f"Friend {i}") for i in range(3)]
    for other in others:
        befriend(client, ann, other)
    r = client.get("/v1/me/friends?limit=2", headers=ann.headers).json()
    assert [f["user_id"] for f in r["items"]] == [others[0].id, others[1].id]
    r = client.get(f"/v1/me/friends?limit=2&after={r['next_after']}", headers=ann.headers).json()
    assert ([f["user_id"] for f in r["items"]], r["next_after"]) == ([others[2].id], None)
    assert client.get("/v1/me/friends?limit=0", headers=ann.headers).status_code == 422


def test_friends_endpoints_are_for_app_users(client: TestClient) -> None:
    assert client.get("/v1/me/friends").status_code == 401
    assert client.post("/v1/me/friends/invites").status_code == 401


def test_a_lone_surrogate_is_refused_not_a_500(client: TestClient, ann: Person) -> None:
    r = client.put(
        "/v1/me/profile",
        content=b'{"display_name": "Ann \\ud800"}',
        headers={**ann.headers, "Content-Type": "application/json"},
    )
    assert r.status_code in (400, 422), r.text
