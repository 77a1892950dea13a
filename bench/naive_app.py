"""The design the geofence index exists to beat, served beside Vicinity by bench.ingest.

``POST /v1/me/locations`` authenticates exactly as Vicinity did before issue 7 (the ORM
token lookup in a request session) and asks PostGIS once per fix which fences contain
it: ``ST_Intersects`` for polygons, ``ST_DWithin`` on geography for circles, each on a
GiST index (bench.ingest creates the geography one). No presence, no decision: the
cheapest honest version of "one query per fix". ``POST /v1/me/sightings`` likewise asks
PostgreSQL once per sighting which registered beacon it heard (the unique index on the
beacon's identity).

Run: ``uvicorn bench.naive_app:create_app --factory`` with ``VICINITY_DATABASE_URL``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from anyio import to_thread
from fastapi import FastAPI, Header
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from accounts.service import user_for_token
from beacons.sighting_schemas import SightingBatch, to_sightings
from geofence.schemas import LocationBatch
from kernel.config import get_settings
from kernel.db import make_engine, make_session_factory
from kernel.errors import Unauthorized
from server.handlers import install_error_handlers

# Two index scans: a per-row radius cannot drive the geography index, so the largest
# radius (a constant) does and the row's own radius filters.
CONTAINING = text(
    """
    SELECT id FROM geofences
    WHERE radius_m IS NULL
      AND ST_Intersects(geometry, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
    UNION ALL
    SELECT id FROM geofences
    WHERE radius_m IS NOT NULL
      AND ST_DWithin(geography(geometry),
                     geography(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)), :max_radius)
      AND ST_DWithin(geography(geometry),
                     geography(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)), radius_m)
    """
)
MAX_RADIUS = text("SELECT coalesce(max(radius_m), 0) FROM geofences")
HEARD = text("SELECT id, store_id FROM beacons WHERE identity = :identity AND status = 'active'")


class NaiveReport(BaseModel):
    accepted: int
    zones: list[list[int]]


_sessions: list[sessionmaker[Session]] = []  # set by create_app, one per process
_max_radius: list[float] = [0.0]


def report_locations(
    body: LocationBatch, authorization: Annotated[str, Header()] = ""
) -> NaiveReport:
    # One thread-pool hop holding one connection: auth, then one query per fix.
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("missing bearer token")
    r = _max_radius[0]
    with _sessions[0].begin() as s:
        user_for_token(s, token)
        zones = [
            list(s.scalars(CONTAINING, {"lon": f.lon, "lat": f.lat, "max_radius": r}))
            for f in body.fixes
        ]
    return NaiveReport(accepted=len(zones), zones=zones)


def report_sightings(
    body: SightingBatch, authorization: Annotated[str, Header()] = ""
) -> NaiveReport:
    # As above: auth, then one query per sighting.
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("missing bearer token")
    with _sessions[0].begin() as s:
        user_for_token(s, token)
        heard = [
            [tuple(row) for row in s.execute(HEARD, {"identity": x.identity})]
            for x in to_sightings(body.sightings)
        ]
    return NaiveReport(accepted=len(heard), zones=[[r[0] for r in rows] for rows in heard])


def health() -> dict[str, str]:
    return {"status": "ok"}


def create_app() -> FastAPI:
    settings = get_settings()
    _sessions[:] = [make_session_factory(make_engine(settings))]
    with _sessions[0]() as s:
        _max_radius[0] = float(s.scalar(MAX_RADIUS) or 0.0)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Served like Vicinity: the thread pool no larger than the connection pool.
        to_thread.current_default_thread_limiter().total_tokens = settings.db_pool_size
        yield

    # Telemetry off as in Vicinity's app: the same framework overhead on both sides.
    app = FastAPI(
        title="naive locations",
        lifespan=lifespan,
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    install_error_handlers(app)
    app.post("/v1/me/locations")(report_locations)
    app.post("/v1/me/sightings")(report_sightings)
    app.get("/health")(health)
    return app
