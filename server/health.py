"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text

from server.deps import RuntimeDep

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    database: str
    redis: str
    geofences_indexed: int
    push: str


@router.get("/health", summary="Is the server up, and are its dependencies reachable?")
def health(runtime: RuntimeDep) -> Health:
    with runtime.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    redis_state = "embedded"
    if runtime.redis is not None:
        redis_state = "ok" if runtime.redis.ping() else "down"
    return Health(
        status="ok",
        database=runtime.engine.dialect.name,
        redis=redis_state,
        geofences_indexed=len(runtime.index),
        push=runtime.push.name,
    )
