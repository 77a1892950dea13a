"""Who sees a look: its author and the author's friends, neither blocked; the feed, the
image and opens follow the same rule. Everyone else gets a 404."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from kernel.db import unit_of_work
from looks.models import LookOpen
from tests.looks.conftest import World
from tests.looks.factories import Person, befriend, block, person
from tests.looks.test_api import post_look


def feed_ids(client: TestClient, who: Person, limit: int = 50) -> list[int]:
    seen: list[int] = []
    after = 0
    while True:
        r = client.get(f"/v1/me/feed?after={after}&limit={limit}", headers=who.auth)
        assert r.status_code == 200, r.text
        page: dict[str, Any] = r.json()
        seen += [x["id"] for x in page["items"]]
        if page["next_after"] is None:
            return seen
        after = page["next_after"]


def test_strangers_see_nothing_friends_see_the_look(client: TestClient, world: World) -> None:
    look = post_look(client, world.ann, caption="hello")
    assert client.get(f"/v1/looks/{look['id']}", headers=world.bob.auth).json() == look
    r = client.get(f"/v1/looks/{look['id']}", headers=world.eve.auth)
    assert r.status_code == 404
    assert r.json() == {"error": "not_found", "detail": f"no look {look['id']}"}
    # Exactly like a look that does not exist.
    assert client.get("/v1/looks/999999", headers=world.eve.auth).json()["detail"] == (
        "no look 999999"
    )


def test_a_block_either_way_hides_looks_feed_and_opens(
    client: TestClient, sessions: sessionmaker[Session], world: World
) -> None:
    cat = person(sessions, "Cat")
    befriend(sessions, world.ann, cat)
    look = post_look(client, world.ann, caption="hello")
    assert feed_ids(client, world.bob) == [look["id"]]
    block(sessions, world.bob, world.ann)  # Bob blocks Ann: neither sees the other
    block(sessions, world.ann, cat)  # Ann blocks Cat
    for who in (world.bob, cat):
        assert client.get(f"/v1/looks/{look['id']}", headers=who.auth).status_code == 404
        assert feed_ids(client, who) == []
        r = client.post(f"/v1/me/looks/{look['id']}/opened", headers=who.auth)
        assert r.status_code == 404
    bob_look = post_look(client, world.bob, caption="bob's")
    assert client.get(f"/v1/looks/{bob_look['id']}", headers=world.ann.auth).status_code == 404
    assert feed_ids(client, world.ann) == []


def test_feed_is_friends_looks_newest_first_in_pages(
    client: TestClient, sessions: sessionmaker[Session], world: World
) -> None:
    cat = person(sessions, "Cat")
    befriend(sessions, world.bob, cat)
    expected = []
    for n in range(7):
        author = world.ann if n % 2 else cat
        expected.append(post_look(client, author, caption=f"look {n}")["id"])
    post_look(client, world.eve, caption="a stranger's")
    post_look(client, world.bob, caption="bob's own")
    assert feed_ids(client, world.bob, limit=3) == expected[::-1]
    assert feed_ids(client, world.bob, limit=200) == expected[::-1]
    first = client.get("/v1/me/feed?limit=2", headers=world.bob.auth).json()
    assert [x["author"]["display_name"] for x in first["items"]] == ["Cat", "Ann"]
    assert first["next_after"] == expected[-2]
    assert feed_ids(client, world.eve) == []


def test_bad_paging_is_422(client: TestClient, world: World) -> None:
    for query in ("after=-1", "limit=0", "limit=201", "after=abc"):
        r = client.get(f"/v1/me/feed?{query}", headers=world.ann.auth)
        assert r.status_code == 422, query


def opens(sessions: sessionmaker[Session], user_id: int) -> int:
    with unit_of_work(sessions) as session:
        query = select(func.count()).select_from(LookOpen).where(LookOpen.user_id == user_id)
        return int(session.scalar(query) or 0)


def test_opening_a_friends_look_is_recorded_once_per_burst(
    client: TestClient, sessions: sessionmaker[Session], world: World
) -> None:
    look = post_look(client, world.ann, caption="hello")
    for _ in range(3):
        r = client.post(f"/v1/me/looks/{look['id']}/opened", headers=world.bob.auth)
        assert r.status_code == 204
    assert opens(sessions, world.bob.id) == 1
    with unit_of_work(sessions) as session:
        row = session.scalar(select(LookOpen).where(LookOpen.user_id == world.bob.id))
        assert row is not None
        assert (row.look_id, row.creator_id) == (look["id"], world.ann.id)
    r = client.post(f"/v1/me/looks/{look['id']}/opened", headers=world.eve.auth)
    assert r.status_code == 404
    r = client.post(f"/v1/me/looks/{look['id']}/opened", headers=world.ann.auth)
    assert r.status_code == 422
    assert "your own" in r.json()["detail"]
    assert opens(sessions, world.eve.id) == opens(sessions, world.ann.id) == 0


def test_deleting_a_look_keeps_whose_look_was_opened(
    client: TestClient, sessions: sessionmaker[Session], world: World
) -> None:
    look = post_look(client, world.ann, caption="hello")
    client.post(f"/v1/me/looks/{look['id']}/opened", headers=world.bob.auth)
    assert client.delete(f"/v1/me/looks/{look['id']}", headers=world.ann.auth).status_code == 204
    with unit_of_work(sessions) as session:
        row = session.scalar(select(LookOpen).where(LookOpen.user_id == world.bob.id))
        assert row is not None
        assert (row.look_id, row.creator_id) == (None, world.ann.id)
