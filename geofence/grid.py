"""Circles, found fast: the haversine test and a NumPy grid of circle centres.

A circle is a centre and a radius in metres on the mean-radius sphere (6,371,008.8 m).
``d <= r`` is tested as the haversine term ``a <= sin²(r / 2R)``, without the arcsin.
Centres are bucketed in a uniform grid whose cell is at least the largest radius, so a
point's candidates are the circles of its cell and the eight around it; batches are
answered with vectorised NumPy, batches of a few points by plain Python.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from numpy.typing import NDArray

EARTH_RADIUS_M = 6_371_008.8
M_PER_DEG = math.pi * EARTH_RADIUS_M / 180.0


def haversine_m(
    lon1: NDArray[np.float64] | float,
    lat1: NDArray[np.float64] | float,
    lon2: NDArray[np.float64] | float,
    lat2: NDArray[np.float64] | float,
) -> NDArray[np.float64]:
    lon1, lat1, lon2, lat2 = (np.radians(v) for v in (lon1, lat1, lon2, lat2))
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(a, 1.0))))


def haversine_limit(radius_m: NDArray[np.float64]) -> NDArray[np.float64]:
    """The haversine term ``a`` at distance ``radius_m``: d <= r exactly when a <= this."""
    return np.asarray(np.sin(radius_m / (2 * EARTH_RADIUS_M)) ** 2)


class Batch:
    """A batch of points, with what every snapshot's test needs computed once."""

    def __init__(self, lons: NDArray[np.float64], lats: NDArray[np.float64]) -> None:
        self.size = len(lons)
        self.lons, self.lats = lons, lats
        # One (n, 2) array: shapely.points(x, y) broadcasts first, which costs µs per call.
        self.points = np.asarray(shapely.points(np.column_stack((lons, lats))))
        self.lon_rad = np.radians(lons)
        self.lat_rad = np.radians(lats)
        self.cos_lat = np.cos(self.lat_rad)


def expand(starts: NDArray[np.intp], counts: NDArray[np.intp]) -> NDArray[np.intp]:
    """The concatenated ranges ``start .. start + count`` (vectorised)."""
    total = int(counts.sum())
    offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    return np.asarray(np.repeat(starts, counts) + offsets)


# Grid cells are numbered (x + _OFFSET) * _SPAN + (y + _OFFSET): a cell of at least
# _MIN_CELL_DEG keeps |x| and |y| far below _OFFSET, so the numbers never collide.
_MIN_CELL_DEG = 1e-4
_FEW = 8  # batches up to this size take the plain-Python path
_OFFSET = 2**24
_SPAN = 2**25


class Grid:
    """Circles by the grid cells their boxes overlap: a point's one cell lists every circle
    that may hold it. Plain arrays (about 40 B a circle), where an STRtree would hold a box
    geometry per circle (about 400 B)."""

    def __init__(self, lon: NDArray[np.float64], lat: NDArray[np.float64], r: NDArray[np.float64]):
        # Cells about a typical circle's radius: a circle's box spans a few cells, and a
        # point's cell lists little more than the boxes that hold it.
        typical = float(np.median(r)) if len(r) else 100.0
        self.cell = max(typical / M_PER_DEG, _MIN_CELL_DEG)
        # 1 % slack so the exact haversine test, not the box, decides at the rim.
        dlat = r * 1.01 / M_PER_DEG
        dlon = dlat / np.maximum(np.cos(np.radians(np.minimum(np.abs(lat) + dlat, 89.9))), 1e-6)
        x0, x1 = self._cell(lon - dlon), self._cell(lon + dlon)
        y0, y1 = self._cell(lat - dlat), self._cell(lat + dlat)
        wide = x1 - x0 + 1
        counts = wide * (y1 - y0 + 1)
        owner = np.repeat(np.arange(len(r)), counts)
        k = expand(np.zeros(len(r), dtype=np.intp), counts)
        keys = self._key(x0[owner] + k % wide[owner], y0[owner] + k // wide[owner])
        order = np.argsort(keys, kind="stable")
        self.keys, first = np.unique(keys[order], return_index=True)
        self.start = first.astype(np.int32)
        self.count = np.diff(np.append(first, len(order))).astype(np.int32)
        self.members = owner[order].astype(np.int32)

    def _cell(self, degrees: NDArray[np.float64]) -> NDArray[np.int64]:
        return np.floor(degrees / self.cell).astype(np.int64)

    @staticmethod
    def _key(x: NDArray[np.int64], y: NDArray[np.int64]) -> NDArray[np.int64]:
        return np.asarray((x + _OFFSET) * _SPAN + (y + _OFFSET), dtype=np.int64)

    def candidates(self, batch: Batch) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """(point index, circle index) pairs whose circle's box may hold the point."""
        if len(self.keys) == 0:
            empty = np.empty(0, dtype=np.intp)
            return empty, empty
        if batch.size <= _FEW:
            return self._few(batch)
        wanted = self._key(self._cell(batch.lons), self._cell(batch.lats))
        at = np.minimum(np.searchsorted(self.keys, wanted), len(self.keys) - 1)
        counts = np.where(self.keys[at] == wanted, self.count[at], 0).astype(np.intp)
        points = np.repeat(np.arange(batch.size), counts)
        members = self.members[expand(self.start[at].astype(np.intp), counts)]
        return points, members.astype(np.intp)

    def _few(self, batch: Batch) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """:meth:`candidates` for a handful of points: a dozen NumPy calls on arrays of one
        cost more than plain arithmetic and one slice per point."""
        points, members = [], []
        for n, (lon, lat) in enumerate(zip(batch.lons.tolist(), batch.lats.tolist(), strict=True)):
            x, y = math.floor(lon / self.cell), math.floor(lat / self.cell)
            key = (x + _OFFSET) * _SPAN + (y + _OFFSET)
            at = int(self.keys.searchsorted(key))
            if at < len(self.keys) and int(self.keys[at]) == key:
                start = int(self.start[at])
                found = self.members[start : start + int(self.count[at])]
                members.append(found)
                points.append(np.full(len(found), n, dtype=np.intp))
        if len(points) == 1:
            return points[0], members[0].astype(np.intp)
        if not points:
            empty = np.empty(0, dtype=np.intp)
            return empty, empty
        return np.concatenate(points), np.concatenate(members).astype(np.intp)
