"""Posting, editing and deleting looks through the API, and the 4xx of bad input."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.looks.conftest import World
from tests.looks.factories import Person, brand, item, set_active


def post_look(client: TestClient, who: Person, **body: Any) -> dict[str, Any]:
    r = client.post("/v1/me/looks", json=body, headers=who.auth)
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out


def test_post_a_look_with_tags(client: TestClient, world: World) -> None:
    look = post_look(
        client,
        world.ann,
        caption="Sunday in the Marais",
        hashtags=["#OOTD", "ootd", "Vintage"],
        image_url="https://cdn.example.com/a.jpg",
        tags=[{"item_id": world.stan}, {"brand_id": world.adidas}, {"item_id": world.stan}],
    )
    assert look["author"] == {"user_id": world.ann.id, "display_name": "Ann", "avatar_url": None}
    assert look["hashtags"] == ["ootd", "vintage"]
    assert look["image_url"] == "https://cdn.example.com/a.jpg"
    assert look["image_path"] is None
    assert look["tags"] == [
        {"item_id": world.stan, "brand_id": None, "name": "Stan Smith"},
        {"item_id": None, "brand_id": world.adidas, "name": "Adidas"},
    ]
    r = client.get(f"/v1/looks/{look['id']}", headers=world.ann.auth)
    assert r.status_code == 200
    assert r.json() == look


def test_unknown_or_inactive_tags_are_named(
    client: TestClient, sessions: sessionmaker[Session], world: World
) -> None:
    gone = item(sessions, world.store_id, "Old Coat")
    set_active(sessions, gone, active=False)
    tags = [{"item_id": gone}, {"item_id": 999_999}, {"brand_id": 888_888}]
    r = client.post("/v1/me/looks", json={"tags": tags}, headers=world.ann.auth)
    assert r.status_code == 422
    assert r.json()["detail"] == (
        f"tags: no active item {gone}, no active item 999999, no brand 888888 in the catalogue"
    )
    r = client.get("/v1/me/looks", headers=world.ann.auth)
    assert r.json()["items"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"caption": "x" * 501}, "caption"),
        ({"caption": "bad\u0000byte"}, "caption"),
        ({"hashtags": ["two words"]}, "hashtags.0"),
        ({"hashtags": ["#"]}, "hashtags.0"),
        ({"hashtags": ["a"] * 31}, "hashtags"),
        ({"image_url": "http://cdn.example.com/a.jpg"}, "image_url"),
        ({"image_url": "javascript:alert(1)"}, "image_url"),
        ({"tags": [{}]}, "tags.0"),
        ({"tags": [{"item_id": 1, "brand_id": 1}]}, "tags.0"),
        ({"tags": [{"item_id": 0}]}, "tags.0.item_id"),
        ({"tags": [{"brand_id": 1}] * 21}, "tags"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_input_is_422_naming_the_field(
    client: TestClient, world: World, body: dict[str, Any], field: str
) -> None:
    r = client.post("/v1/me/looks", json=body, headers=world.ann.auth)
    assert r.status_code == 422, r.text
    assert field in [p["field"] for p in r.json()["problems"]]


def test_edit_changes_only_what_is_sent(
    client: TestClient, sessions: sessionmaker[Session], world: World
) -> None:
    look = post_look(
        client, world.ann, caption="before", hashtags=["a"], tags=[{"item_id": world.stan}]
    )
    veja = brand(sessions, "Veja")
    r = client.patch(
        f"/v1/me/looks/{look['id']}",
        json={"caption": "after", "tags": [{"brand_id": veja}]},
        headers=world.ann.auth,
    )
    assert r.status_code == 200, r.text
    assert r.json()["caption"] == "after"
    assert r.json()["hashtags"] == ["a"]
    assert r.json()["tags"] == [{"item_id": None, "brand_id": veja, "name": "Veja"}]
    for body in ({"caption": None}, {"tags": None}, {"tags": [{"item_id": 424_242}]}):
        r = client.patch(f"/v1/me/looks/{look['id']}", json=body, headers=world.ann.auth)
        assert r.status_code == 422, body
    assert client.get(f"/v1/looks/{look['id']}", headers=world.ann.auth).json()["tags"] == [
        {"item_id": None, "brand_id": veja, "name": "Veja"}
    ]


def test_only_the_author_edits_or_deletes(client: TestClient, world: World) -> None:
    look = post_look(client, world.ann, caption="mine")
    for who in (world.bob, world.eve):
        r = client.patch(f"/v1/me/looks/{look['id']}", json={"caption": "x"}, headers=who.auth)
        assert r.status_code == 404
        assert r.json() == {"error": "not_found", "detail": f"no look {look['id']}"}
        assert client.delete(f"/v1/me/looks/{look['id']}", headers=who.auth).status_code == 404
    assert client.get(f"/v1/looks/{look['id']}", headers=world.ann.auth).json()["caption"] == "mine"


def test_delete(client: TestClient, world: World) -> None:
    look = post_look(client, world.ann, tags=[{"item_id": world.stan}])
    assert client.delete(f"/v1/me/looks/{look['id']}", headers=world.ann.auth).status_code == 204
    assert client.get(f"/v1/looks/{look['id']}", headers=world.ann.auth).status_code == 404
    assert client.delete(f"/v1/me/looks/{look['id']}", headers=world.ann.auth).status_code == 404


def test_my_looks_newest_first_in_pages(client: TestClient, world: World) -> None:
    ids = [post_look(client, world.ann, caption=str(n))["id"] for n in range(5)]
    post_look(client, world.bob, caption="not mine")
    seen: list[int] = []
    after = 0
    while True:
        r = client.get(f"/v1/me/looks?after={after}&limit=2", headers=world.ann.auth)
        page = r.json()
        seen += [x["id"] for x in page["items"]]
        if page["next_after"] is None:
            break
        after = page["next_after"]
    assert seen == ids[::-1]


def test_a_staff_key_is_not_a_user(client: TestClient, world: World) -> None:  # noqa: ARG001
    r = client.get("/v1/me/looks", headers={"Authorization": "Bearer vk_nope"})
    assert r.status_code == 403
