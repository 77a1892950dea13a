"""Validation of geofence shapes drawn by stores: pure, so it is tested without a server."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import shapely
from shapely.errors import ShapelyError
from shapely.geometry import MultiPolygon, Point, Polygon, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points
from shapely.validation import explain_validity

from geofence.grid import M_PER_DEG, haversine_m
from kernel.errors import Invalid

MIN_RADIUS_M = 10.0
MAX_RADIUS_M = 5_000.0
MAX_AREA_M2 = 10_000_000.0  # 10 km²: larger is a district, not a store


def _check_ranges(geom: BaseGeometry) -> None:
    for lon, lat in shapely.get_coordinates(geom).tolist():
        if not (math.isfinite(lon) and math.isfinite(lat)):
            raise Invalid("coordinates must be finite numbers")
        if not -90.0 <= lat <= 90.0:
            hint = (
                " GeoJSON positions are [longitude, latitude]: were they swapped?"
                if -180.0 <= lat <= 180.0 and -90.0 <= lon <= 90.0
                else ""
            )
            raise Invalid(f"latitude {lat} is out of range [-90, 90].{hint}")
        if not -180.0 <= lon <= 180.0:
            raise Invalid(f"longitude {lon} is out of range [-180, 180]")


def area_m2(geom: BaseGeometry) -> float:
    lat = geom.centroid.y
    return float(geom.area) * M_PER_DEG * M_PER_DEG * math.cos(math.radians(lat))


def parse_shape(geojson: dict[str, Any], radius_m: float | None) -> BaseGeometry:
    """A checked Shapely geometry from a GeoJSON geometry, or an ``Invalid`` naming why."""
    try:
        geom = shape(geojson)
    except (ShapelyError, ValueError, TypeError, AttributeError, IndexError, KeyError) as exc:
        raise Invalid(f"invalid GeoJSON geometry: {exc}") from exc
    if geom.is_empty:
        raise Invalid("the geometry is empty")
    _check_ranges(geom)
    if isinstance(geom, Point):
        if radius_m is None:
            raise Invalid("a Point geofence needs properties.radius_m (metres)")
        if not MIN_RADIUS_M <= radius_m <= MAX_RADIUS_M:
            raise Invalid(f"radius_m must be between {MIN_RADIUS_M:g} and {MAX_RADIUS_M:g} metres")
        return geom
    if not isinstance(geom, Polygon | MultiPolygon):
        raise Invalid(f"a geofence is a Polygon, MultiPolygon or Point, not {geom.geom_type}")
    if radius_m is not None:
        raise Invalid("radius_m applies only to Point geofences")
    if not geom.is_valid:
        raise Invalid(f"the polygon is not valid: {explain_validity(geom)}")
    area = area_m2(geom)
    if area <= 0:
        raise Invalid("the polygon has no area")
    if area > MAX_AREA_M2:
        raise Invalid(f"the polygon covers {area / 1e6:.1f} km²; the maximum is 10 km²")
    return geom


def distance_m(geom: BaseGeometry, radius_m: float | None, lon: float, lat: float) -> float:
    """Metres from (lon, lat) to the nearest point of the geofence (0 inside it).

    The nearest point is found on a local equirectangular projection centred on (lon, lat)
    (true to well under 1 % within tens of kilometres, the distances this is asked about);
    the distance to it is then great-circle, so a fence on another continent still gets a
    sensible figure. A circle's radius is taken off its centre's distance.
    """
    scale = np.array([M_PER_DEG * math.cos(math.radians(lat)), M_PER_DEG])
    origin = np.array([lon, lat])
    projected = shapely.transform(geom, lambda xy: (xy - origin) * scale)
    nearest, _ = nearest_points(projected, Point(0.0, 0.0))
    x, y = nearest.x / scale[0] + lon, nearest.y / scale[1] + lat
    metres = 0.0 if projected.covers(Point(0.0, 0.0)) else float(haversine_m(lon, lat, x, y))
    return max(0.0, metres - (radius_m or 0.0))
