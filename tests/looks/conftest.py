from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.looks.factories import Person, befriend, brand, item, person, store


@dataclass(frozen=True, slots=True)
class World:
    """Ann and Bob are friends; Eve knows nobody. One shop sells Adidas and a dress."""

    ann: Person
    bob: Person
    eve: Person
    store_id: int
    adidas: int
    stan: int
    dress: int


@pytest.fixture
def world(client: TestClient, sessions: sessionmaker[Session]) -> World:  # noqa: ARG001 - the app's lifespan
    ann, bob, eve = person(sessions, "Ann"), person(sessions, "Bob"), person(sessions, "Eve")
    befriend(sessions, ann, bob)
    shop = store(sessions, "Maison Rivoli")
    adidas = brand(sessions, "Adidas")
    stan = item(sessions, shop, "Stan Smith", brand_id=adidas, segment="shoes")
    dress = item(sessions, shop, "Linen Dress", segment="womenswear")
    return World(ann, bob, eve, shop, adidas, stan, dress)
