"""The in-memory index answers as PostGIS does, on random Paris-sized scenes.

Polygons must agree exactly: both sides use planar predicates on lon/lat, boundary
included. Circles are compared away from their rim only: PostGIS ``ST_DWithin`` on
``geography`` measures on the WGS84 spheroid, the index on the mean-radius sphere, and
at Paris latitudes the two differ by up to about 0.3 % of a distance; points within
0.5 % of the radius from the rim are left out of the circle comparison.
"""

import math
from collections.abc import Iterator

import pytest
import shapely
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from shapely.geometry import MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, create_engine, text

from geofence.core import Fence, GeofenceIndex
from geofence.grid import M_PER_DEG, haversine_m

LON_MIN, LON_MAX, LAT_MIN, LAT_MAX = 2.25, 2.42, 48.81, 48.90
RIM_TOLERANCE = 0.005

Local = list[tuple[float, float]]


@pytest.fixture(scope="module")
def pg(database_url: str) -> Iterator[Connection]:
    """One connection holding two TEMP tables; the app's tables are never touched."""
    engine = create_engine(database_url)
    with engine.connect() as conn:
        # Unanalysed temp tables look huge to the planner, which would JIT-compile each
        # query: 60 ms of compiling for 1 ms of work.
        conn.execute(text("SET jit = off"))
        conn.execute(
            text(
                "CREATE TEMP TABLE agreement_fence ("
                " id int PRIMARY KEY, geom geometry(Geometry, 4326) NOT NULL, radius_m float8)"
            )
        )
        conn.execute(
            text(
                "CREATE TEMP TABLE agreement_point ("
                " id int PRIMARY KEY, geom geometry(Point, 4326) NOT NULL)"
            )
        )
        yield conn
        conn.rollback()
    engine.dispose()


def postgis_hits(
    conn: Connection, fences: list[Fence], points: list[tuple[float, float]]
) -> set[tuple[int, int]]:
    conn.execute(text("DELETE FROM agreement_fence"))
    conn.execute(text("DELETE FROM agreement_point"))
    conn.execute(
        text(
            "INSERT INTO agreement_fence"
            " SELECT i, ST_GeomFromWKB(w, 4326), r"
            " FROM unnest(CAST(:ids AS int[]), CAST(:wkbs AS bytea[]), CAST(:radii AS float8[]))"
            " AS t(i, w, r)"
        ),
        {
            "ids": [f.id for f in fences],
            "wkbs": [shapely.to_wkb(f.geometry) for f in fences],
            "radii": [f.radius_m for f in fences],
        },
    )
    conn.execute(
        text(
            "INSERT INTO agreement_point"
            " SELECT n, ST_SetSRID(ST_MakePoint(x, y), 4326)"
            " FROM unnest(CAST(:xs AS float8[]), CAST(:ys AS float8[])) WITH ORDINALITY"
            " AS t(x, y, n)"
        ),
        {"xs": [p[0] for p in points], "ys": [p[1] for p in points]},
    )
    rows = conn.execute(
        text(
            "SELECT p.id - 1, f.id FROM agreement_point p JOIN agreement_fence f ON"
            " CASE WHEN f.radius_m IS NULL THEN ST_Intersects(f.geom, p.geom)"
            " ELSE ST_DWithin(f.geom::geography, p.geom::geography, f.radius_m) END"
        )
    )
    return {(int(p), int(f)) for p, f in rows}


# Scenes: shapes laid out in metres around a centre, then placed in the box.


def to_lonlat(lon0: float, lat0: float, local: Local) -> Local:
    kx = M_PER_DEG * math.cos(math.radians(lat0))
    return [(lon0 + x / kx, lat0 + y / M_PER_DEG) for x, y in local]


def rectangle(cx: float, cy: float, hw: float, hh: float, angle: float) -> Local:
    c, s = math.cos(angle), math.sin(angle)
    corners = [(-hw, -hh), (hw, -hh), (hw, hh), (-hw, hh)]
    return [(cx + x * c - y * s, cy + x * s + y * c) for x, y in corners]


centres = st.tuples(
    st.floats(LON_MIN + 0.01, LON_MAX - 0.01), st.floats(LAT_MIN + 0.01, LAT_MAX - 0.01)
)
half_sizes = st.floats(10.0, 400.0)
angles = st.floats(0.0, math.pi)


@st.composite
def rotated_rectangles(draw: st.DrawFn) -> BaseGeometry:
    lon0, lat0 = draw(centres)
    hw, hh, angle = draw(half_sizes), draw(half_sizes), draw(angles)
    shell = to_lonlat(lon0, lat0, rectangle(0.0, 0.0, hw, hh, angle))
    if not draw(st.booleans()):
        return Polygon(shell)
    k = draw(st.floats(0.2, 0.8))
    hole = to_lonlat(lon0, lat0, rectangle(0.0, 0.0, hw * k, hh * k, angle))
    return Polygon(shell, [hole])


@st.composite
def stars(draw: st.DrawFn) -> BaseGeometry:
    """Star-shaped polygons: vertices at increasing angles, so always simple."""
    lon0, lat0 = draw(centres)
    n = draw(st.integers(3, 9))
    turns = sorted(draw(st.lists(angles, min_size=n, max_size=n, unique=True)))
    radii = draw(st.lists(st.floats(15.0, 400.0), min_size=n, max_size=n))
    local = [(r * math.cos(2 * a), r * math.sin(2 * a)) for a, r in zip(turns, radii, strict=True)]
    return Polygon(to_lonlat(lon0, lat0, local))


@st.composite
def multipolygons(draw: st.DrawFn) -> BaseGeometry:
    lon0, lat0 = draw(centres)
    parts = []
    for k in range(draw(st.integers(2, 3))):
        hw, hh, angle = draw(half_sizes), draw(half_sizes), draw(angles)
        # Parts 1,200 m apart cannot touch: each reaches at most 400·√2 m from its centre.
        shell = to_lonlat(lon0, lat0, rectangle(1200.0 * k, 0.0, hw, hh, angle))
        holes = []
        if draw(st.booleans()):
            q = draw(st.floats(0.2, 0.8))
            holes.append(to_lonlat(lon0, lat0, rectangle(1200.0 * k, 0.0, hw * q, hh * q, angle)))
        parts.append(Polygon(shell, holes))
    return MultiPolygon(parts)


@st.composite
def circles(draw: st.DrawFn) -> tuple[BaseGeometry, float]:
    lon0, lat0 = draw(centres)
    return Point(lon0, lat0), draw(st.floats(20.0, 500.0))


polygons = st.one_of(rotated_rectangles(), stars(), multipolygons()).filter(lambda g: g.is_valid)
shapes = st.one_of(polygons.map(lambda g: (g, None)), circles())


@st.composite
def scenes(draw: st.DrawFn) -> tuple[list[Fence], list[tuple[float, float]]]:
    drawn = draw(st.lists(shapes, min_size=1, max_size=16))
    fences = [Fence(n + 1, n + 1, g, r, 300) for n, (g, r) in enumerate(drawn)]
    points: list[tuple[float, float]] = []
    for _ in range(draw(st.integers(1, 120))):
        how = draw(st.sampled_from(["anywhere", "near", "near", "near", "vertex"]))
        fence = draw(st.sampled_from(fences))
        if how == "anywhere":
            points.append((draw(st.floats(LON_MIN, LON_MAX)), draw(st.floats(LAT_MIN, LAT_MAX))))
        elif how == "vertex" and fence.radius_m is None:
            vertices = shapely.get_coordinates(fence.geometry).tolist()
            lon, lat = draw(st.sampled_from(vertices))
            points.append((lon, lat))
        else:
            box = fence.envelope().bounds
            kx, ky = (box[2] - box[0]) * 0.7, (box[3] - box[1]) * 0.7
            cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            points.append((cx + draw(st.floats(-kx, kx)), cy + draw(st.floats(-ky, ky))))
    return fences, points


def near_rim(fence: Fence, lon: float, lat: float) -> bool:
    assert fence.radius_m is not None
    assert isinstance(fence.geometry, Point)
    d = float(haversine_m(lon, lat, fence.geometry.x, fence.geometry.y))
    return abs(d - fence.radius_m) <= RIM_TOLERANCE * fence.radius_m


@settings(
    max_examples=500,
    deadline=None,
    # The explain phase replays a failure hundreds of times against the database: minutes.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(scenes())
def test_index_agrees_with_postgis(
    pg: Connection, scene: tuple[list[Fence], list[tuple[float, float]]]
) -> None:
    fences, points = scene
    expected = postgis_hits(pg, fences, points)
    answers = GeofenceIndex(fences).containing([p[0] for p in points], [p[1] for p in points])
    got = {(n, f.id) for n, inside in enumerate(answers) for f in inside}
    by_id = {f.id: f for f in fences}
    differ = {
        (n, fid)
        for n, fid in got ^ expected
        if by_id[fid].radius_m is None or not near_rim(by_id[fid], *points[n])
    }
    assert differ == set(), [
        (points[n], by_id[fid].geometry.wkt, by_id[fid].radius_m, (n, fid) in got)
        for n, fid in sorted(differ)
    ]
