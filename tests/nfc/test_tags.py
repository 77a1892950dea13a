"""NFC tags over HTTP: who may register, list and delete them, and what is refused."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from kernel.principal import Role
from tests.factories import api_key, auth, new_store
from tests.nfc.factories import COUNTER, COUNTER_HEX, ENTRANCE, new_tag


@pytest.fixture
def two_stores(client: TestClient, sessions: sessionmaker[Session]) -> tuple[int, str, int, str]:
    operator = api_key(sessions, Role.OPERATOR)
    a, b = new_store(client, operator, "A"), new_store(client, operator, "B")
    return a, api_key(sessions, Role.STORE, [a]), b, api_key(sessions, Role.STORE, [b])


def test_staff_register_list_and_delete_their_tags(
    client: TestClient, two_stores: tuple[int, str, int, str]
) -> None:
    a, staff_a, _, _ = two_stores
    tag = new_tag(client, staff_a, a)
    assert tag["uid"] == COUNTER_HEX
    assert tag["placement"] == "counter"
    assert tag["zone"] == f"nfc:{a}:counter"
    assert tag["store_id"] == a
    second = new_tag(client, staff_a, a, uid=ENTRANCE, placement="entrance")

    page = client.get(f"/v1/stores/{a}/nfc-tags?limit=1", headers=auth(staff_a)).json()
    assert [t["id"] for t in page["items"]] == [tag["id"]]
    rest = client.get(
        f"/v1/stores/{a}/nfc-tags?after={page['next_after']}&limit=1", headers=auth(staff_a)
    ).json()
    assert [t["id"] for t in rest["items"]] == [second["id"]]

    r = client.delete(f"/v1/nfc-tags/{tag['id']}", headers=auth(staff_a))
    assert r.status_code == 204, r.text
    left = client.get(f"/v1/stores/{a}/nfc-tags", headers=auth(staff_a)).json()
    assert [t["id"] for t in left["items"]] == [second["id"]]
    assert client.delete(f"/v1/nfc-tags/{tag['id']}", headers=auth(staff_a)).status_code == 404


def test_another_stores_tags_are_not_found(
    client: TestClient, two_stores: tuple[int, str, int, str]
) -> None:
    a, staff_a, b, staff_b = two_stores
    tag = new_tag(client, staff_a, a)
    body = {"uid": ENTRANCE, "placement": "counter"}
    r = client.post(f"/v1/stores/{a}/nfc-tags", json=body, headers=auth(staff_b))
    assert r.status_code == 404, r.text
    assert client.get(f"/v1/stores/{a}/nfc-tags", headers=auth(staff_b)).status_code == 404
    assert client.delete(f"/v1/nfc-tags/{tag['id']}", headers=auth(staff_b)).status_code == 404
    assert client.get(f"/v1/stores/{b}/nfc-tags", headers=auth(staff_b)).json()["items"] == []
    r = client.post("/v1/stores/999999/nfc-tags", json=body, headers=auth(staff_a))
    assert r.status_code == 404, r.text


def test_tech_keys_act_on_the_stores_they_cover(
    client: TestClient, sessions: sessionmaker[Session], two_stores: tuple[int, str, int, str]
) -> None:
    a, _, b, _ = two_stores
    tech_a = api_key(sessions, Role.TECH, [a])
    fleet = api_key(sessions, Role.TECH)  # all stores
    new_tag(client, tech_a, a)
    new_tag(client, fleet, b, uid=ENTRANCE)
    body = {"uid": "0102030405060708090A", "placement": "till"}
    r = client.post(f"/v1/stores/{b}/nfc-tags", json=body, headers=auth(tech_a))
    assert r.status_code == 404, r.text


def test_a_uid_is_one_tag_across_stores_and_the_409_does_not_say_where(
    client: TestClient, two_stores: tuple[int, str, int, str]
) -> None:
    a, staff_a, b, staff_b = two_stores
    new_tag(client, staff_a, a)
    # The same tag, printed another way.
    body = {"uid": COUNTER_HEX.lower(), "placement": "till"}
    r = client.post(f"/v1/stores/{b}/nfc-tags", json=body, headers=auth(staff_b))
    assert r.status_code == 409, r.text
    assert r.json()["error"]
    assert str(a) not in r.json()["detail"].replace(COUNTER_HEX, "")
    r = client.post(f"/v1/stores/{a}/nfc-tags", json=body, headers=auth(staff_a))
    assert r.status_code == 409, r.text


@pytest.mark.parametrize(
    "body",
    [
        {"uid": "04A22B1C5D80", "placement": "counter"},  # 6 bytes
        {"uid": "04A22B1C5D804", "placement": "counter"},  # odd digits
        {"uid": "04A22B1C5D80ZZ", "placement": "counter"},  # not hex
        {"uid": "", "placement": "counter"},
        {"uid": 12345678, "placement": "counter"},
        {"uid": COUNTER, "placement": ""},
        {"uid": COUNTER, "placement": "x" * 41},
        {"uid": COUNTER, "placement": "count\u0000er"},
        {"uid": COUNTER},
        {"uid": COUNTER, "placement": "counter", "store_id": 3},
    ],
)
def test_malformed_tags_are_422_and_nothing_is_registered(
    client: TestClient, two_stores: tuple[int, str, int, str], body: dict[str, object]
) -> None:
    a, staff_a, _, _ = two_stores
    r = client.post(f"/v1/stores/{a}/nfc-tags", json=body, headers=auth(staff_a))
    assert r.status_code == 422, r.text
    assert client.get(f"/v1/stores/{a}/nfc-tags", headers=auth(staff_a)).json()["items"] == []


def test_app_users_cannot_manage_tags(
    client: TestClient, two_stores: tuple[int, str, int, str]
) -> None:
    a, _, _, _ = two_stores
    user = client.post("/v1/users", json={"locale": "en", "timezone": "Europe/Paris"}).json()
    r = client.post(
        f"/v1/stores/{a}/nfc-tags",
        json={"uid": COUNTER, "placement": "counter"},
        headers=auth(user["token"]),
    )
    assert r.status_code == 403, r.text
