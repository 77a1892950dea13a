"""A small shopping street for preference and privacy tests: shops, offers, visits."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from kernel.db import unit_of_work
from kernel.principal import Role
from preferences.models import Segment
from preferences.segments import seed_taxonomy
from tests.factories import (
    PARIS,
    api_key,
    auth,
    fix,
    new_geofence,
    new_offer,
    new_store,
    offset,
    square,
)


@dataclass(frozen=True, slots=True)
class Shop:
    store_id: int
    staff: str
    center: tuple[float, float]
    offer_id: int


def open_shop(
    client: TestClient,
    sessions: sessionmaker[Session],
    *,
    name: str,
    east_m: float,
    segments: list[str],
    fence_name: str = "Shop",
    **offer: Any,
) -> Shop:
    """A store ``east_m`` east of PARIS with a 40 m geofence and one offer."""
    operator = api_key(sessions, Role.OPERATOR)
    store_id = new_store(client, operator, name)
    staff = api_key(sessions, Role.STORE, [store_id])
    center = offset(*PARIS, east_m, 0.0)
    new_geofence(client, staff, store_id, square(*center, 40.0), name=fence_name)
    offer_id = new_offer(client, staff, store_id, segments, **offer)
    return Shop(store_id, staff, center, offer_id)


def clock(start_s_ago: float = 600.0, step_s: float = 10.0) -> Iterator[datetime]:
    """Strictly increasing fix times in the recent past, so every fix is fresh and newer."""
    at = datetime.now(UTC) - timedelta(seconds=start_s_ago)
    while True:
        yield at
        at += timedelta(seconds=step_s)


def visit(client: TestClient, token: str, shop: Shop, at: datetime) -> dict[str, Any]:
    """One fix in the middle of the shop: an ENTER unless the user is already inside."""
    r = client.post(
        "/v1/me/locations", json={"fixes": [fix(*shop.center, at)]}, headers=auth(token)
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def restore_taxonomy(sessions: sessionmaker[Session]) -> None:
    """Segments survive between tests (conftest keeps them): put the seeded set back."""
    with unit_of_work(sessions) as session:
        session.execute(delete(Segment))
        seed_taxonomy(session)
