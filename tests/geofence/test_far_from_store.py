"""A store with a location refuses a geofence whose nearest point is farther than
VICINITY_MAX_FENCE_DISTANCE_M from it, with the distance and the limit; a store without
a location is not checked."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import Point, shape
from sqlalchemy.orm import Session, sessionmaker

from geofence.placement import check_near_location
from geofence.shapes import distance_m
from kernel.config import Settings
from kernel.errors import Invalid
from kernel.principal import Role
from server.app import create_app
from tests.factories import PARIS, api_key, auth, feature, new_geofence, new_store, offset, square

LOCATION = {"lon": PARIS[0], "lat": PARIS[1]}


@pytest.fixture
def placed(client: TestClient, sessions: sessionmaker[Session]) -> tuple[int, str]:
    operator = api_key(sessions, Role.OPERATOR)
    r = client.post(
        "/v1/stores", json={"name": "Rivoli", "location": LOCATION}, headers=auth(operator)
    )
    assert r.status_code == 201, r.text
    store_id = int(r.json()["id"])
    return store_id, api_key(sessions, Role.STORE, [store_id])


def _post(client: TestClient, store: tuple[int, str], body: dict[str, Any]) -> Any:
    return client.post(f"/v1/stores/{store[0]}/geofences", json=body, headers=auth(store[1]))


def test_a_fence_far_from_the_store_is_refused_with_distance_and_limit(
    client: TestClient, placed: tuple[int, str]
) -> None:
    far = square(*offset(*PARIS, 3_000.0, 0.0), 40.0)  # nearest edge 2,980 m away
    r = _post(client, placed, feature(far))
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert "is 2,980 m from store" in detail
    assert "at most 2,000 m" in detail
    listed = client.get(f"/v1/stores/{placed[0]}/geofences", headers=auth(placed[1])).json()
    assert listed["features"] == []


def test_the_nearest_point_counts_not_the_centre(
    client: TestClient, placed: tuple[int, str]
) -> None:
    # A large fence centred 2.3 km away whose edge comes within 1.8 km: accepted.
    big = square(*offset(*PARIS, 2_300.0, 0.0), 1_000.0)
    assert _post(client, placed, feature(big)).status_code == 201
    # A circle centred 2.05 km away with a 100 m radius reaches within 1.95 km: accepted.
    circle = {"type": "Point", "coordinates": list(offset(*PARIS, 0.0, 2_050.0))}
    assert _post(client, placed, feature(circle, radius_m=100)).status_code == 201
    # Around the store itself: distance 0.
    assert _post(client, placed, feature(square(*PARIS, 40.0))).status_code == 201


def test_swapped_coordinates_are_refused_by_the_location_even_for_a_first_fence(
    client: TestClient, placed: tuple[int, str]
) -> None:
    swapped = {"type": "Point", "coordinates": [PARIS[1], PARIS[0]]}
    r = _post(client, placed, feature(swapped, radius_m=50))
    assert r.status_code == 422, r.text
    assert "km from store" in r.json()["detail"]
    assert "[longitude, latitude]" in r.json()["detail"]


def test_a_redraw_or_patch_far_away_is_refused_too(
    client: TestClient, placed: tuple[int, str]
) -> None:
    fence = new_geofence(client, placed[1], placed[0], square(*PARIS, 40.0))
    far = square(*offset(*PARIS, 0.0, 5_000.0), 40.0)
    r = client.put(f"/v1/geofences/{fence}", json=feature(far), headers=auth(placed[1]))
    assert r.status_code == 422, r.text
    assert "at most 2,000 m" in r.json()["detail"]
    r = client.patch(f"/v1/geofences/{fence}", json={"geometry": far}, headers=auth(placed[1]))
    assert r.status_code == 422, r.text


def test_a_store_without_a_location_is_not_checked(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    store_id = new_store(client, api_key(sessions, Role.OPERATOR))
    staff = api_key(sessions, Role.STORE, [store_id])
    new_geofence(client, staff, store_id, square(*offset(*PARIS, 10_000.0, 0.0), 40.0))


def test_the_limit_is_a_setting(settings: Settings, sessions: sessionmaker[Session]) -> None:
    wider = settings.model_copy(update={"max_fence_distance_m": 5_000.0})
    with TestClient(create_app(wider)) as client:
        operator = api_key(sessions, Role.OPERATOR)
        body = {"name": "Rivoli", "location": LOCATION}
        store_id = client.post("/v1/stores", json=body, headers=auth(operator)).json()["id"]
        far = square(*offset(*PARIS, 3_000.0, 0.0), 40.0)
        r = client.post(
            f"/v1/stores/{store_id}/geofences", json=feature(far), headers=auth(operator)
        )
        assert r.status_code == 201, r.text


def test_distance_is_zero_inside_and_metric_outside() -> None:
    ring = shape(square(*PARIS, 100.0))
    assert distance_m(ring, None, *PARIS) == 0.0
    east = offset(*PARIS, 1_050.0, 0.0)
    assert distance_m(ring, None, *east) == pytest.approx(1_000.0, rel=1e-3)
    assert distance_m(Point(*east), 300.0, *PARIS) == pytest.approx(750.0, rel=1e-3)
    assert distance_m(Point(*east), 2_000.0, *PARIS) == 0.0  # the circle covers the store


def test_check_near_location_names_kilometres_when_far() -> None:
    with pytest.raises(Invalid, match=r"is 6,79\d\.\d km from store 7's location"):
        check_near_location(
            Point(PARIS[1], PARIS[0]), None, store_id=7, location=PARIS, max_m=2_000.0
        )
    check_near_location(Point(0, 0), None, store_id=7, location=None, max_m=1.0)
