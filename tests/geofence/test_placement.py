"""A store's geofences stay near each other: latitude and longitude swapped are refused."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import Point
from sqlalchemy.orm import Session, sessionmaker

from geofence.placement import check_near_store
from kernel.errors import Invalid
from kernel.principal import Role
from tests.factories import PARIS, api_key, auth, feature, new_geofence, new_store, offset, square


def _swapped(geometry: dict[str, Any]) -> dict[str, Any]:
    ring = [[lat, lon] for lon, lat in geometry["coordinates"][0]]
    return {"type": "Polygon", "coordinates": [ring]}


@pytest.fixture
def paris_store(client: TestClient, sessions: sessionmaker[Session]) -> tuple[int, str]:
    store_id = new_store(client, api_key(sessions, Role.OPERATOR), "Rivoli")
    return store_id, api_key(sessions, Role.STORE, [store_id])


def test_a_swapped_polygon_is_refused_with_the_distance_and_a_hint(
    client: TestClient, paris_store: tuple[int, str]
) -> None:
    store_id, staff = paris_store
    new_geofence(client, staff, store_id, square(*PARIS, 40.0))
    new_geofence(client, staff, store_id, square(*offset(*PARIS, 5_000.0, 0.0), 40.0))

    r = client.post(
        f"/v1/stores/{store_id}/geofences",
        json=feature(_swapped(square(*PARIS, 40.0))),
        headers=auth(staff),
    )
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert "swapped" in detail
    assert "is 6,790 km from" in detail  # Paris to off Somalia
    listed = client.get(f"/v1/stores/{store_id}/geofences", headers=auth(staff)).json()
    assert len(listed["features"]) == 2


def test_a_redraw_to_the_swapped_place_is_refused_too(
    client: TestClient, paris_store: tuple[int, str]
) -> None:
    store_id, staff = paris_store
    new_geofence(client, staff, store_id, square(*PARIS, 40.0))
    second = new_geofence(client, staff, store_id, square(*offset(*PARIS, 300.0, 0.0), 40.0))
    r = client.put(
        f"/v1/geofences/{second}",
        json=feature(_swapped(square(*PARIS, 40.0))),
        headers=auth(staff),
    )
    assert r.status_code == 422
    assert "swapped" in r.json()["detail"]
    # Redrawing the only fence compares with nothing else: a store may move.
    r = client.put(
        f"/v1/geofences/{second}", json=feature(square(*PARIS, 30.0)), headers=auth(staff)
    )
    assert r.status_code == 200


def test_the_first_geofence_of_a_store_is_accepted_anywhere(
    client: TestClient, paris_store: tuple[int, str]
) -> None:
    store_id, staff = paris_store
    new_geofence(client, staff, store_id, _swapped(square(*PARIS, 40.0)))


def test_the_limit_is_a_setting(
    client: TestClient, paris_store: tuple[int, str], sessions: sessionmaker[Session]
) -> None:
    store_id, staff = paris_store
    new_geofence(client, staff, store_id, square(*PARIS, 40.0))
    far = Point(*offset(*PARIS, 20_000.0, 0.0))
    with sessions() as session:
        check_near_store(session, store_id=store_id, point_or_shape=far, what="beacon 7", max_km=50)
        with pytest.raises(Invalid, match=r"beacon 7 is 20 km .*at most 10 km"):
            check_near_store(
                session, store_id=store_id, point_or_shape=far, what="beacon 7", max_km=10
            )
