"""Blocking: the friendship ends both ways, and the blocked user can neither befriend the
blocker again nor tell a blocker's code from one that does not exist."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from social import repository
from tests.social.factories import Person, accept, befriend, friend_ids, invite, new_user, person


@pytest.fixture
def ann(client: TestClient) -> Person:
    return person(client, "Ann")


@pytest.fixture
def bob(client: TestClient) -> Person:
    return person(client, "Bob")


def _block(client: TestClient, who: Person, user_id: object) -> tuple[int, dict[str, object]]:
    r = client.post("/v1/me/blocks", json={"user_id": user_id}, headers=who.headers)
    body: dict[str, object] = r.json() if r.content else {}
    return r.status_code, body


def test_blocking_ends_the_friendship_and_lists_the_block(
    client: TestClient, ann: Person, bob: Person
) -> None:
    befriend(client, ann, bob)
    status, body = _block(client, ann, bob.id)
    assert status == 201
    assert (body["user_id"], body["display_name"]) == (bob.id, "Bob")
    assert friend_ids(client, ann) == friend_ids(client, bob) == []
    # Idempotent: the first block stands.
    again = _block(client, ann, bob.id)
    assert again == (201, body)
    listed = client.get("/v1/me/blocks", headers=ann.headers).json()
    assert ([b["user_id"] for b in listed["items"]], listed["next_after"]) == ([bob.id], None)
    # Bob's own list shows nothing of it.
    assert client.get("/v1/me/blocks", headers=bob.headers).json()["items"] == []


def test_a_blocked_user_cannot_use_the_blockers_code_and_cannot_tell_why(
    client: TestClient, ann: Person, bob: Person
) -> None:
    code = invite(client, ann)["code"]
    _block(client, ann, bob.id)
    unknown = accept(client, bob, "ZZZZZZZZ").json()
    for path in ("/v1/me/friends/accept", "/v1/me/friends/decline"):
        r = client.post(path, json={"code": code}, headers=bob.headers)
        assert r.status_code == 404
        assert r.json() == unknown
    # The code still works for anyone else.
    carl = person(client, "Carl")
    assert accept(client, carl, code).status_code == 201


def test_the_blocker_cannot_be_reinvited_by_the_blocked(
    client: TestClient, ann: Person, bob: Person
) -> None:
    _block(client, ann, bob.id)
    code = invite(client, bob)["code"]
    r = accept(client, ann, code)
    assert r.status_code == 404
    assert r.json() == accept(client, ann, "ZZZZZZZZ").json()
    assert friend_ids(client, ann) == []


def test_an_expired_or_used_code_of_a_blocker_still_says_nothing(
    client: TestClient, ann: Person, bob: Person
) -> None:
    code = invite(client, ann)["code"]
    assert accept(client, person(client, "Carl"), code).status_code == 201
    _block(client, ann, bob.id)
    assert accept(client, bob, code).json() == accept(client, bob, "ZZZZZZZZ").json()


def test_unblocking_allows_a_new_friendship_but_does_not_restore_the_old(
    client: TestClient, ann: Person, bob: Person
) -> None:
    befriend(client, ann, bob)
    _block(client, ann, bob.id)
    assert client.delete(f"/v1/me/blocks/{bob.id}", headers=ann.headers).status_code == 204
    assert friend_ids(client, ann) == []
    r = client.delete(f"/v1/me/blocks/{bob.id}", headers=ann.headers)
    assert r.status_code == 404
    assert "not blocked" in r.json()["detail"]
    befriend(client, bob, ann)
    assert friend_ids(client, ann) == [bob.id]


def test_bad_blocks(client: TestClient, ann: Person) -> None:
    status, body = _block(client, ann, ann.id)
    assert (status, body["detail"]) == (422, "you cannot block yourself")
    status, body = _block(client, ann, 999_999)
    assert (status, body["error"]) == (404, "not_found")
    for bad in (0, -3, 2**31, "x", None, 1.5):
        assert _block(client, ann, bad)[0] == 422, bad
    r = client.post("/v1/me/blocks", json={"user_id": 1, "why": "x"}, headers=ann.headers)
    assert r.status_code == 422


def test_a_user_without_a_profile_can_be_blocked(client: TestClient, ann: Person) -> None:
    other_id, _ = new_user(client)
    status, body = _block(client, ann, other_id)
    assert (status, body["display_name"]) == (201, "")


def test_the_repository_sees_blocks_either_way(
    client: TestClient, sessions: sessionmaker[Session], ann: Person, bob: Person
) -> None:
    carl = person(client, "Carl")
    _block(client, ann, bob.id)
    _block(client, carl, ann.id)
    with sessions() as session:
        assert repository.blocked_either_way(session, ann.id, bob.id)
        assert repository.blocked_either_way(session, bob.id, ann.id)
        assert not repository.blocked_either_way(session, bob.id, carl.id)
        assert repository.blocked_ids(session, ann.id) == {bob.id, carl.id}
        assert repository.blocked_ids(session, bob.id) == {ann.id}
        assert repository.blocked_ids(session, 999_999) == set()
