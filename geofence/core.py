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

The index is an immutable snapshot (one STRtree over the polygons, one over the circles'
boxes) plus a small overlay of fences changed since, indexed the same way; a rebuild
folds the overlay in once it grows. A query reads both through one reference, so an edit
never shows it half done. Batches of fixes are answered with vectorised Shapely and
NumPy calls, circles by comparing the haversine term ``a`` with ``sin²(r / 2R)`` (the
same test as ``d <= r`` without the arcsin); the Python work is one list slice per fix.
"""

from __future__ import annotations

import itertools
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

from presence.core import Observation, ZoneKey, kind_of

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
        return str(ZoneKey(SOURCE, self.id))

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


def _haversine_limit(radius_m: NDArray[np.float64]) -> NDArray[np.float64]:
    """The haversine term ``a`` at distance ``radius_m``: d <= r exactly when a <= this."""
    return np.asarray(np.sin(radius_m / (2 * EARTH_RADIUS_M)) ** 2)


class _Batch:
    """A batch of points, with what every snapshot's test needs computed once."""

    def __init__(self, lons: NDArray[np.float64], lats: NDArray[np.float64]) -> None:
        self.size = len(lons)
        # One (n, 2) array: shapely.points(x, y) broadcasts first, which costs µs per call.
        self.points = np.asarray(shapely.points(np.column_stack((lons, lats))))
        self.lon_rad = np.radians(lons)
        self.lat_rad = np.radians(lats)
        self.cos_lat = np.cos(self.lat_rad)


class _Snapshot:
    """Immutable STRtrees over a list of fences (circles and polygons apart), for batches."""

    def __init__(self, fences: Sequence[Fence]) -> None:
        self.fences = list(fences)
        self.objects = np.empty(len(self.fences), dtype=object)
        self.objects[:] = self.fences
        self.position = {f.id: n for n, f in enumerate(self.fences)}
        is_circle = np.array([f.radius_m is not None for f in self.fences], dtype=bool)
        self.circle_at = np.flatnonzero(is_circle)
        self.polygon_at = np.flatnonzero(~is_circle)
        circles = [self.fences[n] for n in self.circle_at.tolist()]
        centres = shapely.get_coordinates([f.geometry for f in circles]).reshape(-1, 2)
        self.circle_lon = np.radians(centres[:, 0])
        self.circle_lat = np.radians(centres[:, 1])
        self.circle_cos_lat = np.cos(self.circle_lat)
        radius = np.array([f.radius_m for f in circles], dtype=np.float64)
        self.circle_limit = _haversine_limit(radius)
        self.circle_tree = shapely.STRtree([f.envelope() for f in circles])
        self.polygons = np.empty(len(self.polygon_at), dtype=object)
        self.polygons[:] = [self.fences[n].geometry for n in self.polygon_at.tolist()]
        shapely.prepare(self.polygons)
        self.polygon_tree = shapely.STRtree(self.polygons)

    def hits(self, batch: _Batch) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """(point index, fence position) pairs where the point is in the fence, by point."""
        if not self.fences or batch.size == 0:
            empty = np.empty(0, dtype=np.intp)
            return empty, empty
        # Circles: the haversine formula, compared before its arcsin and square root.
        pi, ci = self.circle_tree.query(batch.points)
        sin_dlat = np.sin((batch.lat_rad[pi] - self.circle_lat[ci]) * 0.5)
        sin_dlon = np.sin((batch.lon_rad[pi] - self.circle_lon[ci]) * 0.5)
        a = sin_dlat * sin_dlat + batch.cos_lat[pi] * self.circle_cos_lat[ci] * sin_dlon * sin_dlon
        in_circle = a <= self.circle_limit[ci]
        # Polygons: the prepared geometries answer faster than a predicate inside the query.
        qi, gi = self.polygon_tree.query(batch.points)
        in_polygon = shapely.intersects(self.polygons[gi], batch.points[qi])
        pi = np.concatenate([pi[in_circle], qi[in_polygon]])
        fi = np.concatenate([self.circle_at[ci[in_circle]], self.polygon_at[gi[in_polygon]]])
        order = np.argsort(pi, kind="stable")
        return pi[order], fi[order]


@dataclass(frozen=True, slots=True)
class _View:
    """Everything a query reads, replaced in one assignment: no reader sees half an edit."""

    base: _Snapshot
    overlay: dict[int, Fence]  # fences upserted since ``base`` was built
    extra: _Snapshot  # the overlay, indexed
    hidden: frozenset[int]  # ids whose ``base`` version no longer counts
    shown: NDArray[np.bool_] | None  # per ``base`` position; None when nothing is hidden
    size: int


def _view(base: _Snapshot, overlay: dict[int, Fence], hidden: frozenset[int]) -> _View:
    # ``hidden`` holds every id edited since ``base`` (upserted or removed, in ``base`` or
    # not), so counting it, not the overlay, bounds deletions too.
    if len(hidden) >= OVERLAY_LIMIT:
        base = _Snapshot([f for f in base.fences if f.id not in hidden] + list(overlay.values()))
        overlay, hidden = {}, frozenset()
    shown = None
    gone = [base.position[i] for i in hidden if i in base.position]
    if gone:
        shown = np.ones(len(base.fences), dtype=bool)
        shown[gone] = False
    size = len(base.position) - len(gone) + len(overlay)
    return _View(base, overlay, _Snapshot(list(overlay.values())), hidden, shown, size)


class GeofenceIndex:
    """All geofences in memory. Safe to query from many threads while one thread edits."""

    def __init__(self, fences: Iterable[Fence] = ()) -> None:
        self._lock = threading.Lock()
        self._view = _view(_Snapshot(list(fences)), {}, frozenset())

    def __len__(self) -> int:
        return self._view.size

    @property
    def pending(self) -> int:
        """Fences edited since the base trees were built; a rebuild keeps it below the limit."""
        return len(self._view.hidden)

    def get(self, fence_id: int) -> Fence | None:
        view = self._view
        if fence_id in view.overlay:
            return view.overlay[fence_id]
        position = view.base.position.get(fence_id)
        if position is None or fence_id in view.hidden:
            return None
        return view.base.fences[position]

    def upsert(self, fence: Fence) -> None:
        with self._lock:
            view = self._view
            overlay = {**view.overlay, fence.id: fence}
            self._view = _view(view.base, overlay, view.hidden | {fence.id})

    def remove(self, fence_id: int) -> None:
        with self._lock:
            view = self._view
            overlay = {k: v for k, v in view.overlay.items() if k != fence_id}
            self._view = _view(view.base, overlay, view.hidden | {fence_id})

    def replace_all(self, fences: Iterable[Fence]) -> None:
        view = _view(_Snapshot(list(fences)), {}, frozenset())
        with self._lock:
            self._view = view

    def containing(
        self,
        lons: Sequence[float] | NDArray[np.float64],
        lats: Sequence[float] | NDArray[np.float64],
    ) -> list[list[Fence]]:
        """For each point, the fences it lies in."""
        view = self._view
        batch = _Batch(np.asarray(lons, dtype=np.float64), np.asarray(lats, dtype=np.float64))
        pi, fi = view.base.hits(batch)
        if view.shown is not None:
            shown = view.shown[fi]
            pi, fi = pi[shown], fi[shown]
        found = view.base.objects[fi]
        if view.overlay:
            qi, gi = view.extra.hits(batch)
            pi = np.concatenate([pi, qi])
            found = np.concatenate([found, view.extra.objects[gi]])
            order = np.argsort(pi, kind="stable")
            pi, found = pi[order], found[order]
        # One slice per point of one list of hits: no Python work per hit.
        bounds = np.searchsorted(pi, np.arange(batch.size + 1)).tolist()
        hits: list[Fence] = found.tolist()
        return [hits[a:b] for a, b in itertools.pairwise(bounds)]


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
    max_skew_s: float = 30.0  # how far ahead of the server a phone's clock may run


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
        if zone in inside_zones or kind_of(zone) != SOURCE:
            continue
        fence = index.get(ZoneKey.parse(zone).id)
        if fence is not None and fence.metres_outside(fix.lon, fix.lat) <= band:
            holding.add(zone)
    return Observation(SOURCE, fix.at, inside_zones, frozenset(holding))
