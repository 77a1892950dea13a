"""The design the geofence index exists to beat, served beside Vicinity by bench.ingest.

``POST /v1/me/locations`` authenticates exactly as Vicinity did before issue 7 (the ORM
token lookup in a request session) and asks PostGIS once per fix which fences contain
it: ``ST_Intersects`` for polygons, ``ST_DWithin`` on geography for circles, each on a
GiST index (bench.ingest creates the geography one). No presence, no decision: the
cheapest honest version of "one query per fix".

Run: ``uvicorn bench.naive_app:create_app --factory`` with ``VICINITY_DATABASE_URL``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, FastAPI, Header
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from accounts.models import User
from accounts.service import user_for_token
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


class NaiveReport(BaseModel):
    accepted: int
    zones: list[list[int]]


_sessions: list[sessionmaker[Session]] = []  # set by create_app, one per process
_max_radius: list[float] = [0.0]


def session() -> Iterator[Session]:
    with _sessions[0].begin() as s:
        yield s


SessionDep = Annotated[Session, Depends(session)]


def current_user(s: SessionDep, authorization: Annotated[str, Header()] = "") -> User:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("missing bearer token")
    return user_for_token(s, token)


def report_locations(
    body: LocationBatch, s: SessionDep, _user: Annotated[User, Depends(current_user)]
) -> NaiveReport:
    r = _max_radius[0]
    zones = [
        list(s.scalars(CONTAINING, {"lon": f.lon, "lat": f.lat, "max_radius": r}))
        for f in body.fixes
    ]
    return NaiveReport(accepted=len(zones), zones=zones)


def health() -> dict[str, str]:
    return {"status": "ok"}


def create_app() -> FastAPI:
    _sessions[:] = [make_session_factory(make_engine(get_settings()))]
    with _sessions[0]() as s:
        _max_radius[0] = float(s.scalar(MAX_RADIUS) or 0.0)
    app = FastAPI(title="naive locations")
    install_error_handlers(app)
    app.post("/v1/me/locations")(report_locations)
    app.get("/health")(health)
    return app
