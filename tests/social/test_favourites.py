"""Favourite shops: idempotent marks, and how many friends share each."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from kernel.principal import Role
from social import repository
from tests.factories import api_key, auth, new_store
from tests.social.factories import Person, befriend, person


@pytest.fixture
def stores(client: TestClient, sessions: sessionmaker[Session]) -> list[int]:
    operator = api_key(sessions, Role.OPERATOR)
    return [new_store(client, operator, name) for name in ("Fromagerie", "Librairie", "Fleurs")]


def _favour(client: TestClient, who: Person, store_id: int) -> dict[str, object]:
    r = client.put(f"/v1/me/favourites/{store_id}", headers=who.headers)
    assert r.status_code == 200, r.text
    body: dict[str, object] = r.json()
    return body


def test_favourites_are_idempotent_and_listed_with_friends(
    client: TestClient, sessions: sessionmaker[Session], stores: list[int]
) -> None:
    ann, bob, carl = (person(client, n) for n in ("Ann", "Bob", "Carl"))
    befriend(client, ann, bob)
    cheese, books, flowers = stores
    first = _favour(client, ann, cheese)
    assert (first["name"], first["friends"]) == ("Fromagerie", 0)
    assert _favour(client, ann, cheese) == first
    _favour(client, ann, books)
    _favour(client, bob, cheese)
    _favour(client, carl, cheese)  # not Ann's friend: not counted
    page = client.get("/v1/me/favourites?limit=1", headers=ann.headers).json()
    assert [(f["store_id"], f["friends"]) for f in page["items"]] == [(cheese, 1)]
    page = client.get(f"/v1/me/favourites?after={page['next_after']}", headers=ann.headers).json()
    assert ([(f["store_id"], f["friends"]) for f in page["items"]], page["next_after"]) == (
        [(books, 0)],
        None,
    )

    with sessions() as session:
        assert repository.favourite_store_ids(session, ann.id) == {cheese, books}
        assert repository.friends_favouring(session, ann.id, [cheese, books, flowers]) == {
            cheese: 1,
            books: 0,
            flowers: 0,
        }
        assert repository.friends_favouring(session, bob.id, [books]) == {books: 1}
        assert repository.friends_favouring(session, bob.id, []) == {}

    for _ in range(2):
        r = client.delete(f"/v1/me/favourites/{cheese}", headers=ann.headers)
        assert r.status_code == 204
    left = client.get("/v1/me/favourites", headers=ann.headers).json()["items"]
    assert [f["store_id"] for f in left] == [books]


def test_an_unknown_store_is_404(client: TestClient) -> None:
    ann = person(client, "Ann")
    r = client.put("/v1/me/favourites/999999", headers=ann.headers)
    assert (r.status_code, r.json()["detail"]) == (404, "no store 999999")
    for bad in ("0", "abc", "2147483648"):
        assert client.put(f"/v1/me/favourites/{bad}", headers=ann.headers).status_code == 422


def test_a_deleted_store_leaves_the_favourites(
    client: TestClient, sessions: sessionmaker[Session], stores: list[int]
) -> None:
    ann = person(client, "Ann")
    _favour(client, ann, stores[0])
    operator = api_key(sessions, Role.OPERATOR)
    r = client.delete(f"/v1/stores/{stores[0]}", headers=auth(operator))
    assert r.status_code == 204, r.text
    assert client.get("/v1/me/favourites", headers=ann.headers).json()["items"] == []
