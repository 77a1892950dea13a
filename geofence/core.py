"""Geofence matching: an in-memory spatial index (the rules a fix must pass to count are
in ``geofence.screening``).

Shapes and the questions asked of them:

* Polygons and multipolygons (holes included) are lon/lat and tested with planar
  predicates, exactly as PostGIS ``ST_Intersects`` does on ``geometry(4326)``.
* Circles are a centre and a radius in metres, tested with the haversine distance on
  the mean-radius sphere (6,371,008.8 m). PostGIS ``ST_DWithin`` on ``geography`` uses
  the WGS84 spheroid; the two differ by well under 0.5 % of the radius.

The index is an immutable snapshot (an STRtree over the polygons, a grid of the circles'
centres: ``geofence.grid``) plus a small overlay of fences changed since, indexed the
same way; a rebuild folds the overlay in once it grows. A query reads both through one
reference, so an edit never shows it half done. Batches of fixes are answered with
vectorised Shapely and NumPy calls, circles by comparing the haversine term ``a`` with
``sin²(r / 2R)`` (the same test as ``d <= r`` without the arcsin).
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from geofence.grid import EARTH_RADIUS_M, M_PER_DEG, Batch, Grid, haversine_limit, haversine_m
from presence.confidence import equivalent_radius_m
from presence.core import ZoneKey

SOURCE = "geofence"
OVERLAY_LIMIT = 256


class Fence:
    """A geofence as the index sees it. ``radius_m`` set means a circle around a Point.

    Immutable. A circle keeps its centre as two floats and makes its ``Point`` when asked
    (rarely: hysteresis and screening): at 100,000 fences a GEOS point per circle was a
    third of a worker's memory per fence.
    """

    __slots__ = ("_lat", "_lon", "_polygon", "dwell_s", "id", "radius_m", "store_id")

    id: int
    store_id: int
    radius_m: float | None
    dwell_s: int
    _polygon: BaseGeometry | None
    _lon: float
    _lat: float

    def __init__(
        self, id: int, store_id: int, geometry: BaseGeometry, radius_m: float | None, dwell_s: int
    ) -> None:
        init = object.__setattr__
        init(self, "id", id)
        init(self, "store_id", store_id)
        init(self, "radius_m", radius_m)
        init(self, "dwell_s", dwell_s)
        if radius_m is None:
            init(self, "_polygon", geometry)
            init(self, "_lon", math.nan)
            init(self, "_lat", math.nan)
        else:
            assert isinstance(geometry, Point)
            init(self, "_polygon", None)
            init(self, "_lon", geometry.x)
            init(self, "_lat", geometry.y)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Fence is immutable; cannot set {name}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Fence is immutable; cannot delete {name}")

    def _key(self) -> tuple[object, ...]:
        shape = self._polygon.wkb if self._polygon is not None else (self._lon, self._lat)
        return (self.id, self.store_id, shape, self.radius_m, self.dwell_s)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Fence) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"Fence(id={self.id}, store_id={self.store_id}, geometry={self.geometry.wkt}, "
            f"radius_m={self.radius_m}, dwell_s={self.dwell_s})"
        )

    @property
    def geometry(self) -> BaseGeometry:
        return self._polygon if self._polygon is not None else Point(self._lon, self._lat)

    @property
    def centre(self) -> tuple[float, float]:
        """A circle's centre (lon, lat); NaNs for a polygon."""
        return self._lon, self._lat

    @property
    def zone(self) -> str:
        return str(ZoneKey(SOURCE, self.id))

    def envelope(self) -> BaseGeometry:
        if self.radius_m is None:
            return self.geometry
        lon, lat = self._lon, self._lat
        # 1 % slack so the exact haversine test, not the box, decides at the rim.
        dlat = self.radius_m * 1.01 / M_PER_DEG
        dlon = dlat / max(math.cos(math.radians(min(abs(lat) + dlat, 89.9))), 1e-6)
        return shapely.box(lon - dlon, lat - dlat, lon + dlon, lat + dlat)

    def radius_m_equivalent(self) -> float:
        """A circle's radius, or the radius of the circle of the polygon's area (metres): the
        fence's size that a fix's accuracy is weighed against (``presence.confidence``)."""
        if self.radius_m is not None:
            return self.radius_m
        polygon = self.geometry
        lat = (polygon.bounds[1] + polygon.bounds[3]) / 2
        area = polygon.area * M_PER_DEG * M_PER_DEG * math.cos(math.radians(lat))
        return equivalent_radius_m(area)

    def metres_outside(self, lon: float, lat: float) -> float:
        """How far outside the fence a point is, in metres (0 inside)."""
        if self.radius_m is not None:
            d = haversine_m(lon, lat, self._lon, self._lat)
            return max(0.0, float(d) - self.radius_m)
        # Shop-sized shapes: an equirectangular projection around the fix is exact enough.
        kx = math.cos(math.radians(lat)) * M_PER_DEG
        local = shapely.transform(
            self.geometry, lambda c: (c - np.array([lon, lat])) * np.array([kx, M_PER_DEG])
        )
        return float(shapely.distance(local, Point(0.0, 0.0)))


class _Snapshot:
    """Immutable indexes over a list of fences, for batches: circles as NumPy columns in a
    grid, polygons as prepared geometries in an STRtree."""

    def __init__(self, fences: Iterable[Fence]) -> None:
        listed = list(fences)
        self.objects = np.empty(len(listed), dtype=object)
        self.objects[:] = listed
        ids = np.fromiter((f.id for f in listed), dtype=np.int64, count=len(listed))
        self.by_id = np.argsort(ids, kind="stable")
        self.sorted_ids = ids[self.by_id]
        radius = np.fromiter(
            (math.nan if f.radius_m is None else f.radius_m for f in listed),
            dtype=np.float64,
            count=len(listed),
        )
        is_circle = ~np.isnan(radius)
        self.circle_at = np.flatnonzero(is_circle)
        self.polygon_at = np.flatnonzero(~is_circle)
        centres = np.array([listed[n].centre for n in self.circle_at.tolist()], dtype=np.float64)
        centres = centres.reshape(-1, 2)
        self.circle_lon = np.radians(centres[:, 0])
        self.circle_lat = np.radians(centres[:, 1])
        self.circle_cos_lat = np.cos(self.circle_lat)
        self.circle_limit = haversine_limit(radius[self.circle_at])
        self.grid = Grid(centres[:, 0], centres[:, 1], radius[self.circle_at])
        self.polygons = np.empty(len(self.polygon_at), dtype=object)
        self.polygons[:] = [listed[n].geometry for n in self.polygon_at.tolist()]
        shapely.prepare(self.polygons)
        self.polygon_tree = shapely.STRtree(self.polygons)

    def __len__(self) -> int:
        return len(self.objects)

    def position(self, fence_id: int) -> int | None:
        k = int(np.searchsorted(self.sorted_ids, fence_id))
        if k < len(self.sorted_ids) and self.sorted_ids[k] == fence_id:
            return int(self.by_id[k])
        return None

    def fence(self, n: int) -> Fence:
        found: Fence = self.objects[n]
        return found

    def fences(self, skip: frozenset[int] = frozenset()) -> Iterator[Fence]:
        return (f for f in self.objects.tolist() if f.id not in skip)

    def hits(self, batch: Batch) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """(point index, fence position) pairs where the point is in the fence, by point."""
        if len(self.objects) == 0 or batch.size == 0:
            empty = np.empty(0, dtype=np.intp)
            return empty, empty
        # Circles: the haversine formula, compared before its arcsin and square root.
        pi, ci = self.grid.candidates(batch)
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

    def near(
        self, lon: float, lat: float, radius_m: float
    ) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
        """Positions of the fences within ``radius_m`` of the point, and how far each is
        (metres outside it, 0 inside). Circles: the haversine distance to the centre less
        the radius (recovered from ``circle_limit``, so no per-fence memory is added)."""
        lon_r, lat_r = math.radians(lon), math.radians(lat)
        sin_dlat = np.sin((self.circle_lat - lat_r) * 0.5)
        sin_dlon = np.sin((self.circle_lon - lon_r) * 0.5)
        a = sin_dlat * sin_dlat + math.cos(lat_r) * self.circle_cos_lat * sin_dlon * sin_dlon
        central = np.arcsin(np.sqrt(np.minimum(a, 1.0))) - np.arcsin(np.sqrt(self.circle_limit))
        circle_d = np.maximum(2 * EARTH_RADIUS_M * central, 0.0)
        close = circle_d <= radius_m
        box = Fence(0, 0, Point(lon, lat), radius_m, 0).envelope()
        gi = self.polygon_tree.query(box)
        polygon_d = np.array(
            [self.fence(int(self.polygon_at[g])).metres_outside(lon, lat) for g in gi.tolist()],
            dtype=np.float64,
        )
        kept = polygon_d <= radius_m
        positions = np.concatenate([self.circle_at[close], self.polygon_at[gi[kept]]])
        return positions, np.concatenate([circle_d[close], polygon_d[kept]])


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
        base = _Snapshot(itertools.chain(base.fences(skip=hidden), overlay.values()))
        overlay, hidden = {}, frozenset()
    shown = None
    gone = [n for i in hidden if (n := base.position(i)) is not None]
    if gone:
        shown = np.ones(len(base), dtype=bool)
        shown[gone] = False
    size = len(base) - len(gone) + len(overlay)
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
        position = view.base.position(fence_id)
        if position is None or fence_id in view.hidden:
            return None
        return view.base.fence(position)

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

    def near(self, lon: float, lat: float, radius_m: float) -> list[tuple[Fence, float]]:
        """The fences within ``radius_m`` metres of a point, nearest first (metres outside
        each, 0 inside; ties by id). For "what is around me", not the hot path."""
        view = self._view
        at, metres = view.base.near(lon, lat, radius_m)
        if view.shown is not None:
            shown = view.shown[at]
            at, metres = at[shown], metres[shown]
        found = list(zip(view.base.objects[at].tolist(), metres.tolist(), strict=True))
        if view.overlay:
            at, metres = view.extra.near(lon, lat, radius_m)
            found += zip(view.extra.objects[at].tolist(), metres.tolist(), strict=True)
        return sorted(found, key=lambda hit: (hit[1], hit[0].id))

    def containing(
        self,
        lons: Sequence[float] | NDArray[np.float64],
        lats: Sequence[float] | NDArray[np.float64],
    ) -> list[list[Fence]]:
        """For each point, the fences it lies in."""
        view = self._view
        batch = Batch(np.asarray(lons, dtype=np.float64), np.asarray(lats, dtype=np.float64))
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
