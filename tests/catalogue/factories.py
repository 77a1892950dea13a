"""The catalogue's world: two stores, each with its staff key, and items posted through
the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from kernel.principal import Role
from tests.factories import api_key, auth, new_store

HEADER = "sku,name,brand,segment,image_url,price,currency,active"


@dataclass(frozen=True, slots=True)
class Stores:
    operator: str
    a: int
    b: int
    staff_a: str
    staff_b: str
    tech_a: str


def two_stores(client: TestClient, sessions: sessionmaker[Session]) -> Stores:
    operator = api_key(sessions, Role.OPERATOR)
    a = new_store(client, operator, "Boutique A")
    b = new_store(client, operator, "Boutique B")
    return Stores(
        operator=operator,
        a=a,
        b=b,
        staff_a=api_key(sessions, Role.STORE, [a]),
        staff_b=api_key(sessions, Role.STORE, [b]),
        tech_a=api_key(sessions, Role.TECH, [a]),
    )


def item_body(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "sku": "AM90-42",
        "name": "Air Max 90",
        "brand": "Nike",
        "segment": "shoes",
        "image_url": "https://cdn.example.com/am90.jpg",
        "price_minor": 13990,
        "currency": "EUR",
    }
    body.update(fields)
    return body


def new_item(client: TestClient, key: str, store_id: int, **fields: Any) -> dict[str, Any]:
    r = client.post(f"/v1/stores/{store_id}/items", json=item_body(**fields), headers=auth(key))
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


def csv_file(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()
