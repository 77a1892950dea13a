from typing import Any

import pytest
from shapely.geometry import MultiPolygon, Point, Polygon

from geofence.shapes import MAX_AREA_M2, area_m2, parse_shape
from kernel.errors import Invalid

# A 100 m x 67 m block near the Louvre, with a 20 m courtyard.
SHELL = [
    [2.3370, 48.8600],
    [2.3384, 48.8600],
    [2.3384, 48.8606],
    [2.3370, 48.8606],
    [2.3370, 48.8600],
]
HOLE = [
    [2.3375, 48.8602],
    [2.3378, 48.8602],
    [2.3378, 48.8604],
    [2.3375, 48.8604],
    [2.3375, 48.8602],
]


def poly(*rings: list[list[float]]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": list(rings)}


def rejects(geojson: dict[str, Any], radius_m: float | None, match: str) -> None:
    with pytest.raises(Invalid, match=match) as info:
        parse_shape(geojson, radius_m)
    assert info.value.status_code == 422


def test_valid_polygon_with_a_hole_is_accepted() -> None:
    geom = parse_shape(poly(SHELL, HOLE), None)
    assert isinstance(geom, Polygon)
    assert len(geom.interiors) == 1
    assert not geom.contains(Point(2.33765, 48.8603))
    assert geom.contains(Point(2.3382, 48.8603))
    assert 5_000 < area_m2(geom) < 7_000


def test_valid_multipolygon_is_accepted() -> None:
    other = [[lon + 0.002, lat] for lon, lat in SHELL]
    geom = parse_shape({"type": "MultiPolygon", "coordinates": [[SHELL], [other]]}, None)
    assert isinstance(geom, MultiPolygon)
    assert len(geom.geoms) == 2


def test_point_with_radius_is_accepted() -> None:
    geom = parse_shape({"type": "Point", "coordinates": [2.3522, 48.8566]}, 80.0)
    assert geom == Point(2.3522, 48.8566)


@pytest.mark.parametrize("radius_m", [10.0, 5_000.0])
def test_radius_limits_are_inclusive(radius_m: float) -> None:
    assert parse_shape({"type": "Point", "coordinates": [2.35, 48.85]}, radius_m)


def test_self_intersecting_bow_tie_is_refused() -> None:
    bow_tie = [[2.350, 48.850], [2.351, 48.851], [2.351, 48.850], [2.350, 48.851], [2.350, 48.850]]
    rejects(poly(bow_tie), None, r"not valid: Self-intersection")


def test_hole_outside_the_shell_is_refused() -> None:
    far = [[lon + 0.01, lat] for lon, lat in HOLE]
    rejects(poly(SHELL, far), None, "not valid")


def test_latitude_200_is_refused() -> None:
    rejects(
        {"type": "Point", "coordinates": [2.35, 200.0]}, 50.0, r"latitude 200.0 is out of range"
    )


def test_latitude_200_gives_no_swap_hint() -> None:
    with pytest.raises(Invalid) as info:
        parse_shape({"type": "Point", "coordinates": [2.35, 200.0]}, 50.0)
    assert "swapped" not in info.value.detail


def test_swapped_lon_lat_gets_a_hint() -> None:
    # Sydney written [lat, lon]: latitude 151 is impossible, longitude -33.9 is plausible.
    rejects({"type": "Point", "coordinates": [-33.87, 151.21]}, 50.0, r"were they swapped\?")


def test_longitude_out_of_range_is_refused() -> None:
    rejects(
        {"type": "Point", "coordinates": [200.0, 48.85]}, 50.0, r"longitude 200.0 is out of range"
    )


def test_non_finite_coordinates_are_refused() -> None:
    rejects({"type": "Point", "coordinates": [float("nan"), 48.85]}, 50.0, "finite")


@pytest.mark.parametrize(
    "geojson",
    [
        {"type": "Polygon", "coordinates": []},
        {"type": "MultiPolygon", "coordinates": []},
        {"type": "Point", "coordinates": []},
    ],
)
def test_empty_geometry_is_refused(geojson: dict[str, Any]) -> None:
    rejects(geojson, None, "empty")


def test_point_without_radius_is_refused() -> None:
    rejects({"type": "Point", "coordinates": [2.35, 48.85]}, None, "needs properties.radius_m")


@pytest.mark.parametrize("radius_m", [0.0, 9.99, 5_000.1, -50.0, float("nan")])
def test_radius_out_of_range_is_refused(radius_m: float) -> None:
    rejects({"type": "Point", "coordinates": [2.35, 48.85]}, radius_m, "between 10 and 5000")


def test_radius_on_a_polygon_is_refused() -> None:
    rejects(poly(SHELL), 50.0, "only to Point")


def test_linestring_is_refused() -> None:
    line = {"type": "LineString", "coordinates": [[2.35, 48.85], [2.36, 48.86]]}
    rejects(line, None, "not LineString")


def test_area_too_large_is_refused() -> None:
    # 0.1 degree square over Paris: about 7.3 km x 11.1 km.
    big = [[2.30, 48.80], [2.40, 48.80], [2.40, 48.90], [2.30, 48.90], [2.30, 48.80]]
    rejects(poly(big), None, r"covers 81\.\d km²; the maximum is 10 km²")


def test_area_just_under_the_limit_is_accepted() -> None:
    # 3 km x 3 km = 9 km².
    dlat = 3000 / 111_195.08
    dlon = dlat / 0.6583
    square = [[2.3, 48.85], [2.3 + dlon, 48.85], [2.3 + dlon, 48.85 + dlat], [2.3, 48.85 + dlat]]
    geom = parse_shape(poly([*square, square[0]]), None)
    assert area_m2(geom) < MAX_AREA_M2


def test_malformed_geojson_is_refused() -> None:
    rejects({"type": "Polygon", "coordinates": [[[2.35]]]}, None, "invalid GeoJSON geometry")


def test_unknown_geojson_type_is_invalid_not_a_crash() -> None:
    with pytest.raises(Invalid, match="invalid GeoJSON"):
        parse_shape({"type": "Hexagon", "coordinates": []}, None)
