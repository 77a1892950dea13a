"""The reads other domains build on (looks, search), the service's brand and import edges,
and what deleting a brand, a segment or a store does to items."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from catalogue import repository
from catalogue.importer import parse_csv
from catalogue.models import Brand, Item
from catalogue.service import find_or_create_brands, import_items
from kernel.db import unit_of_work
from tests.catalogue.factories import Stores, csv_file, new_item, two_stores
from tests.factories import auth


@pytest.fixture
def stores(client: TestClient, sessions: sessionmaker[Session]) -> Stores:
    return two_stores(client, sessions)


def test_reads_for_other_domains(
    client: TestClient, sessions: sessionmaker[Session], stores: Stores
) -> None:
    shoe = new_item(client, stores.staff_a, stores.a, sku="A1", brand="Nike")
    tee = new_item(client, stores.staff_a, stores.a, sku="A2", brand="Adidas")
    off = new_item(client, stores.staff_a, stores.a, sku="A3", brand="Puma", active=False)
    plain = new_item(client, stores.staff_a, stores.a, sku="A4", brand=None)
    other = new_item(client, stores.staff_b, stores.b, sku="B1", brand="Nike")
    with sessions() as session:
        got = repository.items_by_ids(session, [other["id"], off["id"], 999])
        assert [i.id for i in got] == [off["id"], other["id"]]
        assert repository.items_by_ids(session, []) == []

        active = repository.active_items_of_store(session, stores.a)
        assert [i.sku for i in active] == ["A1", "A2", "A4"]

        sold = repository.brand_ids_sold_at(session, stores.a)
        assert sold == {shoe["brand"]["id"], tee["brand"]["id"]}
        assert repository.brand_ids_sold_at(session, 999) == set()

        candidates = repository.search_candidates(session, [stores.a, stores.b])
        assert [i.sku for i in candidates] == ["A1", "A2", "A4", "B1"]
        assert candidates[0].brand is not None
        assert candidates[0].brand.name == "Nike"
        assert repository.search_candidates(session, []) == []

        brands = repository.brands_by_ids(session, [tee["brand"]["id"], shoe["brand"]["id"], 99])
        assert [b.name for b in brands] == ["Nike", "Adidas"]
    assert plain["brand"] is None


def test_brands_are_found_or_created_once_under_concurrency(
    sessions: sessionmaker[Session],
) -> None:
    def create(name: str) -> int:
        with unit_of_work(sessions) as session:
            return find_or_create_brands(session, [name])["acme"].id

    with ThreadPoolExecutor(4) as pool:
        ids = set(pool.map(create, ["Acme", "ACME", "acme ", "Acmé"] * 3))
    assert len(ids) == 1
    with sessions() as session:
        assert [b.name for b in session.scalars(select(Brand))] in (
            ["Acme"],
            ["ACME"],
            ["acme "],
            ["Acmé"],
        )


def test_deleting_a_brand_or_segment_keeps_items_and_a_store_takes_them(
    client: TestClient, sessions: sessionmaker[Session], stores: Stores
) -> None:
    # A segment of this test's own: the seeded taxonomy outlives each test.
    segment = {"slug": "sneakers", "parent": "shoes", "label_en": "Sneakers", "label_fr": "Baskets"}
    r = client.post("/v1/segments", json=segment, headers=auth(stores.operator))
    assert r.status_code == 201, r.text
    item = new_item(client, stores.staff_a, stores.a, brand="Nike", segment="sneakers")
    assert item["segment"] == "sneakers"
    with unit_of_work(sessions) as session:
        session.execute(delete(Brand))
    r = client.delete("/v1/segments/sneakers", headers=auth(stores.operator))
    assert r.status_code == 204, r.text
    got = client.get(f"/v1/items/{item['id']}", headers=auth(stores.staff_a)).json()
    assert (got["brand"], got["segment"]) == (None, None)

    assert client.delete(f"/v1/stores/{stores.a}", headers=auth(stores.operator)).status_code == 204
    with sessions() as session:
        assert session.scalars(select(Item)).all() == []


def test_the_import_reports_progress_per_chunk(
    sessions: sessionmaker[Session], client: TestClient, stores: Stores
) -> None:
    rows = [f"S{n},Sock {n},Brand {n % 7},,,{n}.50,EUR," for n in range(1200)]
    parsed = parse_csv(csv_file(*rows))
    seen: list[int] = []
    with unit_of_work(sessions) as session:
        report = import_items(
            session, staff=None, store_id=stores.a, rows=parsed, progress=seen.append
        )
    assert (report.created, report.imported, report.rejected) == (1200, 1200, [])
    assert seen == [500, 500, 200]
    r = client.get(
        f"/v1/stores/{stores.a}/items", params={"limit": 1}, headers=auth(stores.staff_a)
    )
    assert r.json()["items"][0]["brand"]["name"] == "Brand 0"
