"""The operator manages the taxonomy: add, relabel, move, delete; a parent covers its
children, including the ones added later."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from kernel.config import Settings
from kernel.principal import Role
from tests.factories import api_key, auth, clock, new_shopper, open_shop, visit
from tests.fcm_standin import FcmStandIn

pytestmark = pytest.mark.usefixtures("taxonomy")


def _segments(client: TestClient) -> dict[str, dict[str, str | None]]:
    return {s["slug"]: s for s in client.get("/v1/segments").json()}


def _create(client: TestClient, key: str, **body: str | None) -> tuple[int, dict[str, str]]:
    payload = {"label_en": "Sneakers", "label_fr": "Baskets", **body}
    r = client.post("/v1/segments", json=payload, headers=auth(key))
    return r.status_code, r.json()


def test_the_operator_adds_relabels_moves_and_deletes_a_segment(
    client: TestClient, operator: str
) -> None:
    status, body = _create(client, operator, slug="sneakers", parent="shoes")
    assert status == 201, body
    assert body == {
        "slug": "sneakers",
        "parent": "shoes",
        "label_en": "Sneakers",
        "label_fr": "Baskets",
    }
    assert _segments(client)["sneakers"]["parent"] == "shoes"

    r = client.patch(
        "/v1/segments/sneakers", json={"label_fr": "Sneakers et baskets"}, headers=auth(operator)
    )
    assert r.status_code == 200, r.text
    assert r.json()["label_fr"] == "Sneakers et baskets"
    assert r.json()["parent"] == "shoes"  # untouched when not sent

    r = client.patch("/v1/segments/sneakers", json={"parent": "sport"}, headers=auth(operator))
    assert r.json()["parent"] == "sport"
    r = client.patch("/v1/segments/sneakers", json={"parent": None}, headers=auth(operator))
    assert r.json()["parent"] is None

    r = client.delete("/v1/segments/sneakers", headers=auth(operator))
    assert r.status_code == 204
    assert "sneakers" not in _segments(client)


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({"slug": "shoes"}, 409, "already exists"),
        ({"slug": "sneakers", "parent": "nowhere"}, 422, "unknown parent segment 'nowhere'"),
        ({"slug": "Not A Slug"}, 422, "slug"),
        ({"slug": "sneakers", "label_en": ""}, 422, "label_en"),
    ],
)
def test_bad_new_segments_are_refused(
    client: TestClient, operator: str, body: dict[str, str], status: int, needle: str
) -> None:
    before = _segments(client)
    got, answer = _create(client, operator, **body)
    assert got == status, answer
    assert needle in answer["detail"]
    assert _segments(client) == before


@pytest.mark.parametrize("new_parent", ["fashion", "shoes", "sneakers"])
def test_a_segment_cannot_move_under_itself(
    client: TestClient, operator: str, new_parent: str
) -> None:
    assert _create(client, operator, slug="sneakers", parent="shoes")[0] == 201
    r = client.patch("/v1/segments/fashion", json={"parent": new_parent}, headers=auth(operator))
    assert r.status_code == 422, r.text
    assert "cannot sit under itself" in r.json()["detail"]
    assert _segments(client)["fashion"]["parent"] is None


def test_unknown_segments_are_404_and_busy_ones_are_kept(
    client: TestClient, sessions: sessionmaker[Session], operator: str
) -> None:
    assert client.patch("/v1/segments/nope", json={}, headers=auth(operator)).status_code == 404
    assert client.delete("/v1/segments/nope", headers=auth(operator)).status_code == 404
    r = client.delete("/v1/segments/fashion", headers=auth(operator))
    assert r.status_code == 409
    assert "child segments" in r.json()["detail"]
    open_shop(client, sessions, name="Cave", east_m=0.0, segments=["wine"])
    r = client.delete("/v1/segments/wine", headers=auth(operator))
    assert r.status_code == 409
    assert "targeted by 1 offers" in r.json()["detail"]
    assert {"fashion", "wine"} <= set(_segments(client))


def test_only_the_operator_manages_segments(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    tech = api_key(sessions, Role.TECH)
    shopper = new_shopper(client, settings)
    for token, status in ((tech, 403), (shopper, 403)):
        assert _create(client, token, slug="sneakers")[0] == status
        r = client.delete("/v1/segments/gaming", headers=auth(token))
        assert r.status_code == status
    assert client.post("/v1/segments", json={"slug": "x"}).status_code == 401


def test_a_parent_covers_children_added_after_the_user_chose_it(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    operator: str,
    fcm_standin: FcmStandIn,
) -> None:
    token = new_shopper(client, settings, interests=["fashion"])
    assert _create(client, operator, slug="sneakers", parent="shoes")[0] == 201
    shop = open_shop(client, sessions, name="Sneaker Lab", east_m=0.0, segments=["sneakers"])
    report = visit(client, token, shop, next(clock()))
    assert len(report["notifications"]) == 1
    fcm_standin.wait_for(1, timeout=10)
