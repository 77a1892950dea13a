"""Where a store's things may be: near its other geofences, not on another continent.

Latitude and longitude swapped but both in range (a Paris store at 48.85 E 2.35 N lands
off Somalia) passes every range check; only the distance to what the store already has
gives it away. The first geofence of a store has nothing to compare with and is accepted.
"""

from __future__ import annotations

import numpy as np
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from geofence.grid import haversine_m
from geofence.models import Geofence
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
