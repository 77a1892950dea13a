"""Items and brands through the API: CRUD, each store's staff on its own catalogue only,
and every bad input a clear 4xx naming the field."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.catalogue.factories import Stores, item_body, new_item, two_stores
from tests.factories import auth


@pytest.fixture
def stores(client: TestClient, sessions: sessionmaker[Session]) -> Stores:
    return two_stores(client, sessions)


def test_an_item_is_published_read_changed_and_deleted(client: TestClient, stores: Stores) -> None:
    item = new_item(client, stores.staff_a, stores.a)
    assert item["store_id"] == stores.a
    assert item["sku"] == "AM90-42"
    assert item["brand"]["name"] == "Nike"
    assert item["brand"]["slug"] == "nike"
    assert item["segment"] == "shoes"
    assert (item["price_minor"], item["currency"], item["active"]) == (13990, "EUR", True)

    got = client.get(f"/v1/items/{item['id']}", headers=auth(stores.staff_a))
    assert got.status_code == 200
    assert got.json() == item

    r = client.patch(
        f"/v1/items/{item['id']}",
        json={"price_minor": 9990, "brand": None, "segment": "running", "active": False},
        headers=auth(stores.staff_a),
    )
    assert r.status_code == 200, r.text
    changed = r.json()
    assert (changed["price_minor"], changed["brand"], changed["segment"]) == (9990, None, "running")
    assert changed["active"] is False
    assert changed["name"] == "Air Max 90"  # not sent, kept

    assert client.delete(f"/v1/items/{item['id']}", headers=auth(stores.staff_a)).status_code == 204
    assert client.get(f"/v1/items/{item['id']}", headers=auth(stores.staff_a)).status_code == 404


def test_lists_page_and_filter_on_active(client: TestClient, stores: Stores) -> None:
    ids = [
        new_item(client, stores.staff_a, stores.a, sku=f"S{n}", active=n % 2 == 0)["id"]
        for n in range(5)
    ]
    new_item(client, stores.staff_b, stores.b, sku="OTHER")
    url = f"/v1/stores/{stores.a}/items"
    first = client.get(url, params={"limit": 3}, headers=auth(stores.staff_a)).json()
    assert [i["id"] for i in first["items"]] == ids[:3]
    rest = client.get(
        url, params={"limit": 3, "after": first["next_after"]}, headers=auth(stores.staff_a)
    ).json()
    assert [i["id"] for i in rest["items"]] == ids[3:]
    assert rest["next_after"] is None

    active = client.get(url, params={"active": "true"}, headers=auth(stores.staff_a)).json()
    assert [i["sku"] for i in active["items"]] == ["S0", "S2", "S4"]
    inactive = client.get(url, params={"active": "false"}, headers=auth(stores.staff_a)).json()
    assert [i["sku"] for i in inactive["items"]] == ["S1", "S3"]


def test_another_stores_items_are_not_found(client: TestClient, stores: Stores) -> None:
    theirs = new_item(client, stores.staff_b, stores.b)["id"]
    for method in ("GET", "PATCH", "DELETE"):
        kwargs: dict[str, Any] = {"json": {"name": "Mine now"}} if method == "PATCH" else {}
        r = client.request(method, f"/v1/items/{theirs}", headers=auth(stores.staff_a), **kwargs)
        assert (r.status_code, r.json()) == (
            404,
            {"error": "not_found", "detail": f"no item {theirs}"},
        )
    for method in ("GET", "POST"):
        kwargs = {"json": item_body()} if method == "POST" else {}
        r = client.request(
            method, f"/v1/stores/{stores.b}/items", headers=auth(stores.staff_a), **kwargs
        )
        assert r.status_code == 404, r.text
        assert r.json()["detail"] == f"no store {stores.b}"
    # The operator manages every store's catalogue.
    assert client.get(f"/v1/items/{theirs}", headers=auth(stores.operator)).status_code == 200


def test_a_tech_key_manages_no_catalogue(client: TestClient, stores: Stores) -> None:
    mine = new_item(client, stores.staff_a, stores.a)["id"]
    r = client.get(f"/v1/stores/{stores.a}/items", headers=auth(stores.tech_a))
    assert r.status_code == 403
    assert client.get(f"/v1/items/{mine}", headers=auth(stores.tech_a)).status_code == 403
    r = client.post(f"/v1/stores/{stores.a}/items", json=item_body(), headers=auth(stores.tech_a))
    assert r.status_code == 403
    assert client.get("/v1/items/1").status_code == 401


def test_a_duplicate_sku_is_a_conflict_naming_it(client: TestClient, stores: Stores) -> None:
    first = new_item(client, stores.staff_a, stores.a, sku="DUP-1")
    r = client.post(
        f"/v1/stores/{stores.a}/items", json=item_body(sku="DUP-1"), headers=auth(stores.staff_a)
    )
    assert r.status_code == 409
    assert r.json()["detail"] == f"store {stores.a} already has an item with SKU 'DUP-1'"
    # Another store may use the same SKU; renaming onto a taken SKU is refused too.
    new_item(client, stores.staff_b, stores.b, sku="DUP-1")
    other = new_item(client, stores.staff_a, stores.a, sku="DUP-2")
    r = client.patch(
        f"/v1/items/{other['id']}", json={"sku": "DUP-1"}, headers=auth(stores.staff_a)
    )
    assert r.status_code == 409
    r = client.patch(
        f"/v1/items/{first['id']}", json={"sku": "DUP-1"}, headers=auth(stores.staff_a)
    )
    assert r.status_code == 200  # its own SKU


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"price_minor": -1}, "price_minor", "greater than or equal to 0"),
        ({"price_minor": 10_000_001}, "price_minor", "less than or equal to 10000000"),
        ({"price_minor": 59.9}, "price_minor", "valid integer"),
        ({"currency": "eur"}, "currency", "three capital letters"),
        ({"currency": "EURO"}, "currency", "three capital letters"),
        ({"currency": "ABC"}, "currency", "unknown ISO 4217 currency ABC"),
        ({"image_url": "http://cdn.example.com/a.jpg"}, "image_url", "https:// URL"),
        ({"image_url": "javascript:alert(1)"}, "image_url", "https:// URL"),
        ({"image_url": "https://cdn.example.com/a b.jpg"}, "image_url", "spaces"),
        ({"image_url": "https://" + "a" * 1000}, "image_url", "at most 1000"),
        ({"name": "Air\x00Max"}, "name", "control characters"),
        ({"sku": "AM\n90"}, "sku", "control characters"),
        ({"sku": " AM90"}, "sku", "space"),
        ({"sku": "x" * 65}, "sku", "at most 64"),
        ({"sku": ""}, "sku", "at least 1"),
        ({"brand": "!!!"}, "brand", "a letter or a digit"),
        ({"name": "n" * 201}, "name", "at most 200"),
        ({"colour": "red"}, "colour", "Extra inputs"),
    ],
)
def test_bad_item_fields_are_422_naming_the_field(
    client: TestClient, stores: Stores, fields: dict[str, Any], field: str, message: str
) -> None:
    r = client.post(
        f"/v1/stores/{stores.a}/items", json=item_body(**fields), headers=auth(stores.staff_a)
    )
    assert r.status_code == 422, r.text
    [problem] = r.json()["problems"]
    assert problem["field"] == field
    assert message in problem["message"]
    assert "\x00" not in r.text


def test_an_unknown_segment_is_422_naming_it(client: TestClient, stores: Stores) -> None:
    r = client.post(
        f"/v1/stores/{stores.a}/items",
        json=item_body(segment="spaceships"),
        headers=auth(stores.staff_a),
    )
    assert r.status_code == 422
    assert "unknown segment 'spaceships'" in r.json()["detail"]


def test_patch_refuses_null_for_required_fields(client: TestClient, stores: Stores) -> None:
    item = new_item(client, stores.staff_a, stores.a)
    for field in ("sku", "name", "price_minor", "currency", "active"):
        r = client.patch(
            f"/v1/items/{item['id']}", json={field: None}, headers=auth(stores.staff_a)
        )
        assert r.status_code == 422, field
        assert r.json()["detail"].startswith(f"{field}: cannot be null")


def test_brands_are_shared_found_by_slug_and_searchable(client: TestClient, stores: Stores) -> None:
    a = new_item(client, stores.staff_a, stores.a, brand="Lévi's")
    b = new_item(client, stores.staff_b, stores.b, brand="LEVI S ")
    assert a["brand"]["id"] == b["brand"]["id"]
    assert a["brand"]["slug"] == "levi-s"

    r = client.post("/v1/brands", json={"name": "Patagonia"}, headers=auth(stores.staff_a))
    assert r.status_code == 201, r.text
    again = client.post("/v1/brands", json={"name": "patagonia"}, headers=auth(stores.staff_b))
    assert (again.status_code, again.json()) == (200, r.json())
    assert (
        client.post(
            "/v1/brands", json={"name": "Arc'teryx"}, headers=auth(stores.tech_a)
        ).status_code
        == 403
    )

    found = client.get("/v1/brands", params={"q": "LEVI"}, headers=auth(stores.tech_a))
    assert found.status_code == 200  # any staff key reads the shared list
    assert [x["name"] for x in found.json()["items"]] == ["Lévi's"]
    every = client.get("/v1/brands", params={"limit": 1}, headers=auth(stores.staff_a)).json()
    assert len(every["items"]) == 1
    assert every["next_after"] == every["items"][0]["id"]
    r = client.post("/v1/brands", json={"name": "\x07"}, headers=auth(stores.staff_a))
    assert r.status_code == 422
