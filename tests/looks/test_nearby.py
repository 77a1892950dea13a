"""``GET /v1/me/nearby``: stores near a point, nearest first, with my favourites, how many
friends favour each and friends' looks featuring them (never a stranger's or a blocked
user's, never anyone's location)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from kernel.db import unit_of_work, utcnow
from kernel.principal import Role
from looks.models import Look, LookTag
from tests.factories import PARIS, api_key, new_geofence, new_store, offset, square
from tests.looks.factories import Person, befriend, block, brand, favour, item, person

URL = "/v1/me/nearby"
HERE = {"lat": PARIS[1], "lon": PARIS[0]}


@dataclass(frozen=True, slots=True)
class Town:
    """Bob stands at PARIS, inside Dépôt; Atelier is 90 m away, Boutique 290 m, Comptoir
    8 km. Ann and Carl are Bob's friends, Carl blocked by Bob; Eve knows nobody."""

    ann: Person
    bob: Person
    carl: Person
    eve: Person
    depot: int
    atelier: int
    boutique: int
    comptoir: int
    dress: int  # sold at Atelier, brand Lumen
    lumen: int  # also sold at Boutique (a scarf)
    old_coat: int  # Boutique's, no longer active


@pytest.fixture
def town(client: TestClient, sessions: sessionmaker[Session]) -> Town:
    operator = api_key(sessions, Role.OPERATOR)
    ids = [new_store(client, operator, n) for n in ("Dépôt", "Atelier", "Boutique", "Comptoir")]
    staff = api_key(sessions, Role.STORE, ids)
    for store_id, (east_m, side_m) in zip(
        ids, ((0, 40), (100, 20), (300, 20), (8000, 20)), strict=True
    ):
        new_geofence(client, staff, store_id, square(*offset(*PARIS, east_m, 0), side_m))
    ann, bob, carl, eve = (person(sessions, n) for n in ("Ann", "Bob", "Carl", "Eve"))
    befriend(sessions, ann, bob)
    befriend(sessions, carl, bob)
    block(sessions, bob, carl)
    lumen = brand(sessions, "Lumen")
    dress = item(sessions, ids[1], "Linen Dress", brand_id=lumen, segment="womenswear")
    item(sessions, ids[2], "Scarf", brand_id=lumen)
    old_coat = item(sessions, ids[2], "Old Coat", active=False)
    depot, atelier, boutique, comptoir = ids
    return Town(ann, bob, carl, eve, depot, atelier, boutique, comptoir, dress, lumen, old_coat)


def look(
    sessions: sessionmaker[Session],
    author: Person,
    caption: str,
    *,
    items: tuple[int, ...] = (),
    brands: tuple[int, ...] = (),
    hours_ago: float = 1.0,
) -> int:
    with unit_of_work(sessions) as session:
        row = Look(
            user_id=author.id,
            caption=caption,
            hashtags=[],
            created_at=utcnow() - timedelta(hours=hours_ago),
            tags=[LookTag(item_id=i) for i in items] + [LookTag(brand_id=b) for b in brands],
        )
        session.add(row)
        session.flush()
        return row.id


def nearby(client: TestClient, who: Person, **params: Any) -> list[dict[str, Any]]:
    r = client.get(URL, params={**HERE, **params}, headers=who.auth)
    assert r.status_code == 200, r.text
    out: list[dict[str, Any]] = r.json()
    return out


def test_nearest_first_within_the_radius(client: TestClient, town: Town) -> None:
    found = nearby(client, town.bob, radius_m=5000)
    assert [(s["store_id"], s["name"], s["distance_m"]) for s in found] == [
        (town.depot, "Dépôt", 0),
        (town.atelier, "Atelier", 90),
        (town.boutique, "Boutique", 290),
    ]
    assert [s["store_id"] for s in nearby(client, town.bob, radius_m=100)] == [
        town.depot,
        town.atelier,
    ]
    assert [s["store_id"] for s in nearby(client, town.bob, radius_m=1)] == [town.depot]
    assert [s["store_id"] for s in nearby(client, town.bob, limit=2)] == [town.depot, town.atelier]
    far = {"lat": PARIS[1] + 1.0, "lon": PARIS[0]}
    assert nearby(client, town.bob, **far) == []


def test_my_favourites_and_how_many_friends_favour_each(
    client: TestClient, town: Town, sessions: sessionmaker[Session]
) -> None:
    favour(sessions, town.bob, town.atelier)
    favour(sessions, town.ann, town.atelier)
    favour(sessions, town.ann, town.boutique)
    favour(sessions, town.eve, town.atelier)  # a stranger: not counted
    found = {s["store_id"]: s for s in nearby(client, town.bob)}
    assert {k: (s["favourite"], s["friends_favouring"]) for k, s in found.items()} == {
        town.depot: (False, 0),
        town.atelier: (True, 1),
        town.boutique: (False, 1),
    }
    eve = {s["store_id"]: s for s in nearby(client, town.eve)}
    assert eve[town.atelier]["favourite"] is True
    assert all(s["friends_favouring"] == 0 for s in eve.values())


def test_friends_looks_newest_first_three_at_most(
    client: TestClient, town: Town, sessions: sessionmaker[Session]
) -> None:
    ids = [
        look(sessions, town.ann, f"look {n}", items=(town.dress,), hours_ago=n) for n in range(5)
    ]
    by_brand = look(sessions, town.ann, "Lumen scarf", brands=(town.lumen,), hours_ago=0.5)
    look(sessions, town.ann, "old coat", items=(town.old_coat,))  # inactive: features nothing
    found = {s["store_id"]: s for s in nearby(client, town.bob)}
    atelier = found[town.atelier]["friends_looks"]
    assert [x["look_id"] for x in atelier] == [ids[0], by_brand, ids[1]]
    assert atelier[0]["caption"] == "look 0"
    assert atelier[0]["author"] == {
        "user_id": town.ann.id,
        "display_name": "Ann",
        "avatar_url": None,
    }
    assert set(atelier[0]) == {"look_id", "author", "caption", "created_at"}
    assert [x["look_id"] for x in found[town.boutique]["friends_looks"]] == [by_brand]
    assert found[town.depot]["friends_looks"] == []
    # Ann herself sees her look only as a friend would: she is not her own friend.
    assert all(s["friends_looks"] == [] for s in nearby(client, town.ann))


def test_strangers_and_blocked_friends_looks_are_not_shown(
    client: TestClient, town: Town, sessions: sessionmaker[Session]
) -> None:
    look(sessions, town.eve, "stranger", items=(town.dress,))
    look(sessions, town.carl, "blocked", items=(town.dress,))
    assert all(s["friends_looks"] == [] for s in nearby(client, town.bob))
    # Carl blocked by Bob: Bob sees nothing of Carl's, and Carl nothing of Bob's.
    look(sessions, town.bob, "bob's", items=(town.dress,))
    assert all(s["friends_looks"] == [] for s in nearby(client, town.carl))


def test_a_fence_drawn_later_is_found(
    client: TestClient, town: Town, sessions: sessionmaker[Session]
) -> None:
    staff = api_key(sessions, Role.STORE, [town.comptoir])
    new_geofence(client, staff, town.comptoir, square(*offset(*PARIS, 0, 50), 20))
    found = [(s["store_id"], s["distance_m"]) for s in nearby(client, town.bob)]
    assert found[:2] == [(town.depot, 0), (town.comptoir, 40)]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"lat": 90.5, "lon": 2.3}, "lat"),
        ({"lat": -91, "lon": 2.3}, "lat"),
        ({"lat": 48.8, "lon": 180.5}, "lon"),
        ({"lat": 48.8, "lon": -181}, "lon"),
        ({"lat": "nan", "lon": 2.3}, "lat"),
        ({"lat": 48.8, "lon": "inf"}, "lon"),
        ({"lat": "north", "lon": 2.3}, "lat"),
        ({"lon": 2.3}, "lat"),
        ({"lat": 48.8}, "lon"),
        ({**HERE, "radius_m": 0}, "radius_m"),
        ({**HERE, "radius_m": 5001}, "radius_m"),
        ({**HERE, "radius_m": 1.5}, "radius_m"),
        ({**HERE, "limit": 0}, "limit"),
        ({**HERE, "limit": 51}, "limit"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(
    client: TestClient, town: Town, params: dict[str, Any], field: str
) -> None:
    r = client.get(URL, params=params, headers=town.bob.auth)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "invalid"
    assert f"query.{field}" in {p["field"] for p in body["problems"]}


def test_only_app_users(client: TestClient) -> None:
    assert client.get(URL, params=HERE).status_code == 401
