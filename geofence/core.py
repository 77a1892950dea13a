"""Geofence matching: an in-memory spatial index and the fix screening rules.

Shapes and the questions asked of them:

* Polygons and multipolygons (holes included) are lon/lat and tested with planar
  predicates, exactly as PostGIS ``ST_Intersects`` does on ``geometry(4326)``.
* Circles are a centre and a radius in metres, tested with the haversine distance on
  the mean-radius sphere (6,371,008.8 m). PostGIS ``ST_DWithin`` on ``geography`` uses
  the WGS84 spheroid; the two differ by well under 0.5 % of the radius.

Screening (what a fix must be to count), from traccar and Radar's field experience:

* accuracy worse than ``max_accuracy_m`` is ignored: it cannot place anyone in a shop;
* a fix not newer than the user's last accepted one is ignored (replay, out of order);
* a fix older than ``max_age_s`` is ignored: a late event must not trigger a push.

Hysteresis: once in a fence, a user stays in it until a fix lies outside by more than
``max(accuracy_m, exit_margin_m)``, so GPS jitter at a border does not flap.

The index is an immutable snapshot (an STRtree over every fence) plus a small overlay of
fences changed since; a query checks both, and a rebuild folds the overlay in once it
grows. Batches of fixes are answered with vectorised Shapely and NumPy calls: the
per-fix Python work is a few list operations.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from presence.core import Observation, zone_key

EARTH_RADIUS_M = 6_371_008.8
M_PER_DEG = math.pi * EARTH_RADIUS_M / 180.0
SOURCE = "geofence"
OVERLAY_LIMIT = 256


@dataclass(frozen=True, slots=True)
class Fence:
    """A geofence as the index sees it. ``radius_m`` set means a circle around a Point."""

    id: int
    store_id: int
    geometry: BaseGeometry
    radius_m: float | None
    dwell_s: int

    @property
    def zone(self) -> str:
        return zone_key(SOURCE, self.id)

    def envelope(self) -> BaseGeometry:
        if self.radius_m is None:
            return self.geometry
        assert isinstance(self.geometry, Point)
        lon, lat = self.geometry.x, self.geometry.y
        # 1 % slack so the exact haversine test, not the box, decides at the rim.
        dlat = self.radius_m * 1.01 / M_PER_DEG
        dlon = dlat / max(math.cos(math.radians(min(abs(lat) + dlat, 89.9))), 1e-6)
        return shapely.box(lon - dlon, lat - dlat, lon + dlon, lat + dlat)

    def metres_outside(self, lon: float, lat: float) -> float:
        """How far outside the fence a point is, in metres (0 inside)."""
        if self.radius_m is not None:
            assert isinstance(self.geometry, Point)
            d = haversine_m(lon, lat, self.geometry.x, self.geometry.y)
            return max(0.0, float(d) - self.radius_m)
        # Shop-sized shapes: an equirectangular projection around the fix is exact enough.
        kx = math.cos(math.radians(lat)) * M_PER_DEG
        local = shapely.transform(
            self.geometry, lambda c: (c - np.array([lon, lat])) * np.array([kx, M_PER_DEG])
        )
        return float(shapely.distance(local, Point(0.0, 0.0)))


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


class _Snapshot:
    """An immutable STRtree over a list of fences, answering batches of points."""

    def __init__(self, fences: Sequence[Fence]) -> None:
        self.fences = list(fences)
        self.ids = np.array([f.id for f in self.fences], dtype=np.int64)
        self.is_circle = np.array([f.radius_m is not None for f in self.fences], dtype=bool)
        self.geoms = np.array([f.geometry for f in self.fences], dtype=object)
        self.radius = np.array([f.radius_m or 0.0 for f in self.fences], dtype=np.float64)
        cx = [f.geometry.x if f.radius_m is not None else 0.0 for f in self.fences]  # type: ignore[attr-defined]
        cy = [f.geometry.y if f.radius_m is not None else 0.0 for f in self.fences]  # type: ignore[attr-defined]
        self.cx = np.array(cx, dtype=np.float64)
        self.cy = np.array(cy, dtype=np.float64)
        self.tree = shapely.STRtree([f.envelope() for f in self.fences])
        for g in self.geoms:
            shapely.prepare(g)

    def hits(
        self, points: NDArray[np.object_], lons: NDArray[np.float64], lats: NDArray[np.float64]
    ) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """(point index, fence position) pairs where the point is in the fence."""
        if not self.fences or len(points) == 0:
            empty = np.empty(0, dtype=np.intp)
            return empty, empty
        pi, fi = self.tree.query(points)
        circle = self.is_circle[fi]
        keep = np.empty(len(fi), dtype=bool)
        ci, cf = pi[circle], fi[circle]
        keep[circle] = haversine_m(lons[ci], lats[ci], self.cx[cf], self.cy[cf]) <= self.radius[cf]
        poly = ~circle
        keep[poly] = shapely.intersects(self.geoms[fi[poly]], points[pi[poly]])
        return pi[keep], fi[keep]


class GeofenceIndex:
    """All geofences in memory. Safe to query from many threads while one thread edits."""

    def __init__(self, fences: Iterable[Fence] = ()) -> None:
        self._lock = threading.Lock()
        self._base = _Snapshot(list(fences))
        self._base_pos = {int(i): n for n, i in enumerate(self._base.ids)}
        self._overlay: dict[int, Fence] = {}
        self._hidden: frozenset[int] = frozenset()

    def __len__(self) -> int:
        return len(self._base_pos.keys() - self._hidden) + len(self._overlay)

    def get(self, fence_id: int) -> Fence | None:
        if fence_id in self._overlay:
            return self._overlay[fence_id]
        if fence_id in self._hidden or fence_id not in self._base_pos:
            return None
        return self._base.fences[self._base_pos[fence_id]]

    def upsert(self, fence: Fence) -> None:
        with self._lock:
            self._overlay = {**self._overlay, fence.id: fence}
            self._hidden = self._hidden | {fence.id}
            self._maybe_rebuild()

    def remove(self, fence_id: int) -> None:
        with self._lock:
            self._overlay = {k: v for k, v in self._overlay.items() if k != fence_id}
            self._hidden = self._hidden | {fence_id}
            self._maybe_rebuild()

    def replace_all(self, fences: Iterable[Fence]) -> None:
        snapshot = _Snapshot(list(fences))
        with self._lock:
            self._base, self._overlay, self._hidden = snapshot, {}, frozenset()
            self._base_pos = {int(i): n for n, i in enumerate(snapshot.ids)}

    def _maybe_rebuild(self) -> None:
        if len(self._overlay) < OVERLAY_LIMIT:
            return
        kept = [f for f in self._base.fences if f.id not in self._hidden]
        snapshot = _Snapshot(kept + list(self._overlay.values()))
        self._base, self._overlay, self._hidden = snapshot, {}, frozenset()
        self._base_pos = {int(i): n for n, i in enumerate(snapshot.ids)}

    def containing(
        self,
        lons: Sequence[float] | NDArray[np.float64],
        lats: Sequence[float] | NDArray[np.float64],
    ) -> list[list[Fence]]:
        """For each point, the fences it lies in."""
        base, overlay, hidden = self._base, self._overlay, self._hidden
        lon_arr = np.asarray(lons, dtype=np.float64)
        lat_arr = np.asarray(lats, dtype=np.float64)
        points = shapely.points(lon_arr, lat_arr)
        out: list[list[Fence]] = [[] for _ in range(len(lon_arr))]
        pi, fi = base.hits(points, lon_arr, lat_arr)
        fences = base.fences
        if hidden:
            for p, f in zip(pi.tolist(), fi.tolist(), strict=True):
                if fences[f].id not in hidden:
                    out[p].append(fences[f])
        else:
            for p, f in zip(pi.tolist(), fi.tolist(), strict=True):
                out[p].append(fences[f])
        for fence in overlay.values():
            for p in np.flatnonzero(_contains(fence, points, lon_arr, lat_arr)).tolist():
                out[p].append(fence)
        return out


def _contains(
    fence: Fence, points: NDArray[np.object_], lons: NDArray[np.float64], lats: NDArray[np.float64]
) -> NDArray[np.bool_]:
    if fence.radius_m is not None:
        assert isinstance(fence.geometry, Point)
        return haversine_m(lons, lats, fence.geometry.x, fence.geometry.y) <= fence.radius_m
    return np.asarray(shapely.intersects(fence.geometry, points), dtype=bool)


@dataclass(frozen=True, slots=True)
class Fix:
    lon: float
    lat: float
    accuracy_m: float
    at: float


class Rejection(StrEnum):
    POOR_ACCURACY = "poor_accuracy"
    OUT_OF_ORDER = "out_of_order"
    STALE = "stale"


@dataclass(frozen=True, slots=True)
class Screening:
    max_accuracy_m: float
    max_age_s: float
    exit_margin_m: float


def screen(fix: Fix, *, last_at: float, now: float, rules: Screening) -> Rejection | None:
    if fix.accuracy_m > rules.max_accuracy_m:
        return Rejection.POOR_ACCURACY
    if fix.at <= last_at:
        return Rejection.OUT_OF_ORDER
    if now - fix.at > rules.max_age_s:
        return Rejection.STALE
    return None


def observe(
    fix: Fix,
    inside: Iterable[Fence],
    current: Iterable[str],
    index: GeofenceIndex,
    rules: Screening,
) -> Observation:
    """The observation a fix makes: fences it is in, and current ones within the band."""
    inside_zones = frozenset(f.zone for f in inside)
    band = max(fix.accuracy_m, rules.exit_margin_m)
    holding = set()
    for zone in current:
        if zone in inside_zones or not zone.startswith(SOURCE + ":"):
            continue
        fence = index.get(int(zone.split(":", 1)[1]))
        if fence is not None and fence.metres_outside(fix.lon, fix.lat) <= band:
            holding.add(zone)
    return Observation(SOURCE, fix.at, inside_zones, frozenset(holding))
