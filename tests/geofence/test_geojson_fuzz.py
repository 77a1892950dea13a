"""Geofence shapes under Hypothesis: whatever GeoJSON arrives, it is a geofence or a 422.

Pure checks on :func:`geofence.shapes.parse_shape` (any geometry parses or is ``Invalid``,
simple polygons are accepted, crossed rings refused, swapped positions named), then the
same properties through the API, where nothing a client draws may answer 500.
"""

from __future__ import annotations

import json
import math
from typing import Any, NamedTuple

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, Polygon, shape
from sqlalchemy.orm import Session, sessionmaker

from geofence.grid import haversine_m
from geofence.shapes import parse_shape
from kernel.errors import Invalid
from kernel.principal import Role
from tests.factories import PARIS, api_key, auth, feature, new_geofence, new_store, offset, square

# Through the app each example is a request or three: a bounded count keeps it seconds.
api_settings = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# Strategies

# Any float JSON can carry and more: out of range, huge, NaN and infinities.
wild_floats = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(
    [-180.0, 180.0, -90.0, 90.0, 0.0, 1e308]
)
positions = st.lists(wild_floats, min_size=0, max_size=4)
rings = st.lists(positions, max_size=8)
# Nested to any of the depths GeoJSON uses (position, ring, polygon, multipolygon) and wrong.
coordinates = st.one_of(
    wild_floats,
    positions,
    rings,
    st.lists(rings, max_size=3),
    st.lists(st.lists(rings, max_size=2), max_size=2),
)
geometry_types = st.sampled_from(
    ["Point", "Polygon", "MultiPolygon", "LineString", "GeometryCollection", "Hexagon", ""]
)
wild_geometries = st.fixed_dictionaries({"type": geometry_types, "coordinates": coordinates})
radii = st.none() | wild_floats

# Shop-sized places, clear of the poles and of the antimeridian.
places = st.tuples(st.floats(-179.0, 179.0), st.floats(-80.0, 80.0))


@st.composite
def star_rings(draw: st.DrawFn, centre: tuple[float, float] | None = None) -> list[list[float]]:
    """A simple ring: 4 to 16 vertices at increasing angles round a centre, each 10 to
    500 m out. Gaps between angles stay under half a turn, so the ring is star-shaped
    round its centre: simple, and holding the centre."""
    lon, lat = centre if centre is not None else draw(places)
    n = draw(st.integers(4, 16))
    step = 2 * math.pi / n
    jitter = draw(st.lists(st.floats(0.0, 0.9), min_size=n, max_size=n))
    reach = draw(st.lists(st.floats(10.0, 500.0), min_size=n, max_size=n))
    ring = []
    for i in range(n):
        angle = (i + jitter[i]) * step
        ring.append(list(offset(lon, lat, reach[i] * math.cos(angle), reach[i] * math.sin(angle))))
    return [*ring, ring[0]]


@st.composite
def bow_ties(draw: st.DrawFn) -> list[list[float]]:
    """A rectangle's corners visited across its diagonals: a ring that crosses itself."""
    lon, lat = draw(places)
    east, north = draw(st.floats(10.0, 500.0)), draw(st.floats(10.0, 500.0))
    corners = [(-east, -north), (east, north), (east, -north), (-east, north)]
    start = draw(st.integers(0, 3))  # any corner may come first
    ring = [list(offset(lon, lat, *c)) for c in corners[start:] + corners[:start]]
    return [*ring, ring[0]]


def polygon(ring: list[list[float]]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [ring]}


def swapped(geometry: dict[str, Any]) -> dict[str, Any]:
    rings = [[[lat, lon] for lon, lat in ring] for ring in geometry["coordinates"]]
    return {"type": "Polygon", "coordinates": rings}


# Pure


@given(wild_geometries, radii)
def test_any_geometry_is_a_shape_or_invalid(
    geojson: dict[str, Any], radius_m: float | None
) -> None:
    try:
        parse_shape(geojson, radius_m)
    except Invalid as refused:
        problem = refused
    else:
        return
    assert problem.status_code == 422
    assert problem.detail


@given(places, st.data())
def test_a_simple_ring_is_accepted_and_holds_its_centre(
    place: tuple[float, float], data: st.DataObject
) -> None:
    geom = parse_shape(polygon(data.draw(star_rings(centre=place))), None)
    assert isinstance(geom, Polygon)
    assert geom.contains(Point(*place))


@given(bow_ties())
def test_a_ring_that_crosses_itself_is_refused(ring: list[list[float]]) -> None:
    with pytest.raises(Invalid, match="Self-intersection"):
        parse_shape(polygon(ring), None)


@given(
    st.floats(-180.0, 180.0).filter(lambda lon: abs(lon) > 90.0),
    st.floats(-90.0, 90.0),
)
def test_a_position_written_lat_lon_is_named_as_swapped(lon: float, lat: float) -> None:
    # [lat, lon] puts the longitude where the latitude goes: out of range, with the hint.
    with pytest.raises(Invalid, match="were they swapped"):
        parse_shape({"type": "Point", "coordinates": [lat, lon]}, 50.0)


# Through the API


class Shop(NamedTuple):
    store_id: int
    staff: str
    operator: str
    fence_id: int


@pytest.fixture
def shop(client: TestClient, sessions: sessionmaker[Session]) -> Shop:
    operator = api_key(sessions, Role.OPERATOR)
    store_id = new_store(client, operator, "Fuzzed")
    staff = api_key(sessions, Role.STORE, [store_id])
    return Shop(
        store_id, staff, operator, new_geofence(client, staff, store_id, square(*PARIS, 40))
    )


def post_json(client: TestClient, url: str, body: Any, key: str) -> Any:
    """POST as Python's JSON writes it: NaN and Infinity included, as some clients send."""
    headers = {"Content-Type": "application/json", **auth(key)}
    return client.post(url, content=json.dumps(body), headers=headers)


def put_json(client: TestClient, url: str, body: Any, key: str) -> Any:
    headers = {"Content-Type": "application/json", **auth(key)}
    return client.put(url, content=json.dumps(body), headers=headers)


def _refused_in_words(r: Any) -> None:
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "invalid"
    assert body["detail"]


@api_settings
@given(wild_geometries, radii)
def test_no_drawing_is_a_server_error(
    client: TestClient,
    shop: Shop,
    geometry: dict[str, Any],
    radius_m: float | None,
) -> None:
    sent = feature(geometry) if radius_m is None else feature(geometry, radius_m=radius_m)
    for r in (
        post_json(client, f"/v1/stores/{shop.store_id}/geofences", sent, shop.staff),
        put_json(client, f"/v1/geofences/{shop.fence_id}", sent, shop.staff),
    ):
        if r.status_code not in (200, 201):
            _refused_in_words(r)
    labelled = {**sent, "properties": {**sent["properties"], "external_id": "x"}}
    batch = {"type": "FeatureCollection", "features": [labelled]}
    r = post_json(client, f"/v1/stores/{shop.store_id}/geofences/import", batch, shop.staff)
    if r.status_code != 200:
        _refused_in_words(r)


@api_settings
@given(places, st.data())
def test_a_simple_polygon_round_trips_and_its_swap_is_refused(
    client: TestClient,
    shop: Shop,
    place: tuple[float, float],
    data: st.DataObject,
) -> None:
    operator = shop.operator
    lon, lat = place
    # A store of its own at the place, so the swapped drawing has a location to miss.
    r = client.post(
        "/v1/stores",
        json={"name": "Placed", "location": {"lon": lon, "lat": lat}},
        headers=auth(operator),
    )
    assert r.status_code == 201, r.text
    store_id = r.json()["id"]
    drawn = polygon(data.draw(star_rings(centre=place)))

    r = client.post(f"/v1/stores/{store_id}/geofences", json=feature(drawn), headers=auth(operator))
    assert r.status_code == 201, r.text
    back = client.get(f"/v1/geofences/{r.json()['id']}", headers=auth(operator)).json()
    assert shape(back["geometry"]).equals_exact(shape(drawn), 1e-9)

    assume(haversine_m(lon, lat, lat, lon) > 5_000.0)  # a place on the lon = lat diagonal
    r = client.post(
        f"/v1/stores/{store_id}/geofences", json=feature(swapped(drawn)), headers=auth(operator)
    )
    _refused_in_words(r)
    assert "[longitude, latitude]" in r.json()["detail"]


@api_settings
@given(bow_ties())
def test_a_crossed_ring_is_refused_through_the_api(
    client: TestClient, shop: Shop, ring: list[list[float]]
) -> None:
    r = client.post(
        f"/v1/stores/{shop.store_id}/geofences",
        json=feature(polygon(ring)),
        headers=auth(shop.staff),
    )
    _refused_in_words(r)
    assert "Self-intersection" in r.json()["detail"]
