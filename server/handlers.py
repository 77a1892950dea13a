"""The one place that turns errors into HTTP answers.

Routers never raise HTTPException. Every error body is
``{"error": <code>, "detail": <sentence naming the problem>}``.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from kernel.errors import DomainError

log = logging.getLogger(__name__)


class ErrorOut(BaseModel):
    error: str = Field(examples=["forbidden"])
    detail: str = Field(examples=["this key may not manage store 7"])


class ValidationProblem(BaseModel):
    field: str
    message: str
    type: str | None


class ValidationErrorOut(ErrorOut):
    problems: list[ValidationProblem] = Field(default_factory=list)


# Documented on every route, so the OpenAPI page shows the error body clients will get.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "Missing, unknown or revoked credentials"},
    403: {"model": ErrorOut, "description": "Wrong role, or another store's resource"},
    404: {"model": ErrorOut, "description": "No such resource (for this caller)"},
    409: {"model": ErrorOut, "description": "Conflicts with existing data"},
    413: {"model": ErrorOut, "description": "Batch larger than the maximum"},
    422: {"model": ValidationErrorOut, "description": "Invalid input, with the problem named"},
    503: {"model": ErrorOut, "description": "A backing service is down; retry later"},
}


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(p) for p in loc if p not in ("body",)) or "body"


def describe_validation(exc: RequestValidationError) -> tuple[str, list[dict[str, Any]]]:
    problems = [
        {"field": _location(e.get("loc", ())), "message": e.get("msg", ""), "type": e.get("type")}
        for e in exc.errors()
    ]
    if any(p["type"] == "json_invalid" for p in problems):
        return "the request body is not valid JSON", problems
    detail = "; ".join(f"{p['field']}: {p['message']}" for p in problems[:5])
    return detail, problems


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_request: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse({"error": exc.code, "detail": exc.detail}, exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        detail, problems = describe_validation(exc)
        body = {"error": "invalid_request", "detail": detail, "problems": problems}
        return JSONResponse(body, 422)

    @app.exception_handler(redis.exceptions.ConnectionError)
    @app.exception_handler(redis.exceptions.TimeoutError)
    @app.exception_handler(OperationalError)
    async def _unavailable(_request: Request, exc: Exception) -> JSONResponse:
        # A dependency is down: the client should retry later, not treat it as its fault.
        log.error("dependency unavailable: %s", exc)
        body = {"error": "unavailable", "detail": "a backing service is unavailable; retry later"}
        return JSONResponse(body, 503, headers={"Retry-After": "5"})

    @app.exception_handler(DataError)
    async def _data(_request: Request, _exc: DataError) -> JSONResponse:
        # A value the schema let through but the column cannot hold (length, range).
        body = {"error": "invalid", "detail": "a value is out of range for where it is stored"}
        return JSONResponse(body, 422)

    @app.exception_handler(IntegrityError)
    async def _integrity(_request: Request, _exc: IntegrityError) -> JSONResponse:
        # A race past a service's own check: the database kept its invariants.
        body = {"error": "conflict", "detail": "the write conflicts with existing data"}
        return JSONResponse(body, 409)
