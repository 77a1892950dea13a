"""Where a store's things may be: near its location and its other geofences, not on
another continent.

Latitude and longitude swapped but both in range (a Paris store at 48.85 E 2.35 N lands
off Somalia) passes every range check; only the distance to what the store already has
gives it away. A store with a location has a reference from its first geofence on: a
fence farther than a shop's catchment from it (``VICINITY_MAX_FENCE_DISTANCE_M``) is
drawn for the wrong store or at the wrong place. Without a location, the first geofence
has nothing to compare with and is accepted.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from geofence.grid import haversine_m
from geofence.models import Geofence
from geofence.shapes import distance_m
from kernel.errors import Invalid


def check_near_store(
    session: Session,
    *,
    store_id: int,
    point_or_shape: BaseGeometry,
    what: str,
    max_km: float,
    exclude_id: int | None = None,
) -> None:
    """Raise ``Invalid`` when ``point_or_shape`` (lon/lat) is farther than ``max_km`` from
    every other geofence of the store. ``what`` names it in the message ("the geofence",
    "beacon 12"); ``exclude_id`` is a geofence not to compare with (the one being redrawn).
    Centres are compared: at tens of kilometres a shop-sized shape's extent does not matter.
    """
    query = select(Geofence.geometry).where(Geofence.store_id == store_id)
    if exclude_id is not None:
        query = query.where(Geofence.id != exclude_id)
    others = [g.centroid for g in session.scalars(query)]
    check_near_others(point_or_shape, others, store_id=store_id, what=what, max_km=max_km)


def check_near_others(
    point_or_shape: BaseGeometry,
    others: Sequence[Point],
    *,
    store_id: int,
    what: str,
    max_km: float,
) -> None:
    """:func:`check_near_store` on centres already read (an import reads them once)."""
    if not others:
        return
    here = point_or_shape.centroid
    lons = np.array([p.x for p in others], dtype=np.float64)
    lats = np.array([p.y for p in others], dtype=np.float64)
    nearest_km = float(np.min(haversine_m(here.x, here.y, lons, lats))) / 1000.0
    if nearest_km > max_km:
        raise Invalid(
            f"{what} is {nearest_km:,.0f} km from the nearest other geofence of store "
            f"{store_id} (at most {max_km:g} km): were latitude and longitude swapped? "
            "GeoJSON positions are [longitude, latitude]."
        )


def check_near_location(
    shape: BaseGeometry,
    radius_m: float | None,
    *,
    store_id: int,
    location: tuple[float, float] | None,
    max_m: float,
) -> None:
    """Raise ``Invalid`` when the geofence's nearest point is farther than ``max_m`` from
    the store's location (lon, lat); a store without a location is not checked."""
    if location is None:
        return
    metres = distance_m(shape, radius_m, *location)
    if metres > max_m:
        far = f"{metres / 1000:,.1f} km" if metres >= 10_000 else f"{metres:,.0f} m"
        raise Invalid(
            f"the geofence is {far} from store {store_id}'s location (at most {max_m:,.0f} m, "
            "VICINITY_MAX_FENCE_DISTANCE_M): is it for this store? GeoJSON positions are "
            "[longitude, latitude]."
        )
