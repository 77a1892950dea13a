"""``POST /v1/me/looks/suggestions``: the catalogues of the stores given and of the user's
favourites, ranked, with what matched."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.looks.conftest import World
from tests.looks.factories import brand, favour, item, set_active, store


def test_suggestions_from_nearby_and_favourite_stores(
    client: TestClient, sessions: sessionmaker[Session], world: World
) -> None:
    favourite, unrelated = store(sessions, "Favourite"), store(sessions, "Unrelated")
    veja = brand(sessions, "Veja")
    campo = item(sessions, favourite, "Campo Sneakers", brand_id=veja, segment="shoes")
    item(sessions, unrelated, "Campo Sneakers Twin", brand_id=veja)
    old = item(sessions, world.store_id, "Stan Smith Classic", brand_id=world.adidas)
    set_active(sessions, old, active=False)
    favour(sessions, world.ann, favourite)
    body = {
        "caption": "New stan smiht and my campo sneakers",
        "hashtags": ["#Adidas"],
        "store_ids": [world.store_id],
    }
    r = client.post("/v1/me/looks/suggestions", json=body, headers=world.ann.auth)
    assert r.status_code == 200, r.text
    got = [(s["kind"], s["id"], s["store_id"], s["matched"]) for s in r.json()]
    assert got == [
        ("brand", world.adidas, None, ["adidas"]),
        ("item", campo, favourite, ["campo", "sneakers"]),
        ("item", world.stan, world.store_id, ["stan", "smiht", "adidas"]),
    ]
    scores = [s["score"] for s in r.json()]
    assert scores == sorted(scores, reverse=True)
    assert r.json()[2]["brand_name"] == "Adidas"
    # Eve favours nothing: only the stores she names.
    r = client.post("/v1/me/looks/suggestions", json=body, headers=world.eve.auth)
    assert [s["id"] for s in r.json()] == [world.adidas, world.stan]
    r = client.post(
        "/v1/me/looks/suggestions", json={**body, "store_ids": []}, headers=world.eve.auth
    )
    assert r.json() == []


def test_bad_suggestion_requests_are_422(client: TestClient, world: World) -> None:
    for body in ({"store_ids": [0]}, {"store_ids": list(range(1, 22))}, {"caption": 5}):
        r = client.post("/v1/me/looks/suggestions", json=body, headers=world.ann.auth)
        assert r.status_code == 422, body
