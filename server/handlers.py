"""The one place that turns errors into HTTP answers.

Routers never raise HTTPException. Every error body is
``{"error": <code>, "detail": <sentence naming the problem>}``, with one code per status
(:data:`ERROR_CODES`), including the framework's own 404, 405 and 413.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import redis
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from kernel.errors import DomainError

log = logging.getLogger(__name__)

# The error vocabulary: one code per status, documented in the README and OpenAPI.
ERROR_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",  # or "busy" with Retry-After: the same thing is being changed now
    413: "too_large",
    422: "invalid",
    429: "too_many_requests",  # with Retry-After (server/ratelimit.py)
    503: "unavailable",
}

JSON_HINT = "send Content-Type: application/json"
MAX_MESSAGE = 300


class ErrorOut(BaseModel):
    error: str = Field(examples=["not_found"])
    detail: str = Field(examples=["no store 7"])


class ValidationProblem(BaseModel):
    field: str
    message: str
    type: str | None


class ValidationErrorOut(ErrorOut):
    problems: list[ValidationProblem] = Field(default_factory=list)


# Documented on every route, so the OpenAPI page shows the error body clients will get.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "`bad_request`: the body could not be read"},
    401: {"model": ErrorOut, "description": "`unauthorized`: missing, unknown or revoked"},
    403: {"model": ErrorOut, "description": "`forbidden`: this role may not do this"},
    404: {"model": ErrorOut, "description": "`not_found`: no such resource for this caller"},
    409: {"model": ErrorOut, "description": "`conflict`: conflicts with existing data"},
    413: {"model": ErrorOut, "description": "`too_large`: body or batch over the limit"},
    422: {"model": ValidationErrorOut, "description": "`invalid`: the problem is named"},
    429: {
        "model": ErrorOut,
        "description": "`too_many_requests`: over a rate limit; retry after `Retry-After`",
    },
    503: {"model": ErrorOut, "description": "`unavailable`: a backing service is down"},
}


def error_body(status: int, detail: str) -> dict[str, Any]:
    return {"error": ERROR_CODES.get(status, "error"), "detail": detail}


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(p) for p in loc if p not in ("body",)) or "body"


def _line_column(doc: str, pos: int) -> tuple[int, int]:
    line = doc.count("\n", 0, pos) + 1
    return line, pos - (doc.rfind("\n", 0, pos) + 1) + 1


def _problem(error: Any, body: Any) -> dict[str, Any]:
    kind = error.get("type")
    value = error.get("input")
    if kind == "json_invalid":
        # FastAPI reports the character offset as the field; people count lines.
        pos = error.get("loc", ("body", 0))[-1]
        doc = body if isinstance(body, str) else ""
        msg = (error.get("ctx") or {}).get("error", "malformed")
        line, column = _line_column(doc, pos if isinstance(pos, int) else 0)
        message = f"body is not valid JSON: {msg} at line {line} column {column}"
        return {"field": "body", "message": message, "type": kind}
    message = error.get("msg", "")
    if isinstance(value, float) and not math.isfinite(value):
        # Python's JSON reader accepts NaN and Infinity; a bound check then misleads.
        message, kind = "must be a finite number", "finite_number"
    elif message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    if len(message) > MAX_MESSAGE:
        # A validator may quote what it got; a huge value must not come back in full.
        message = message[: MAX_MESSAGE - 1] + "…"
    return {"field": _location(error.get("loc", ())), "message": message, "type": kind}


def _sent_as_json(request: Request) -> bool:
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return content_type == "application/json" or content_type.endswith("+json")


def describe_validation(
    exc: RequestValidationError, request: Request
) -> tuple[str, list[dict[str, Any]]]:
    problems = [_problem(e, exc.body) for e in exc.errors()]
    if any(p["type"] == "json_invalid" for p in problems):
        return next(p["message"] for p in problems if p["type"] == "json_invalid"), problems
    detail = "; ".join(f"{p['field']}: {p['message']}" for p in problems[:5])
    if isinstance(exc.body, bytes | bytearray) and not _sent_as_json(request):
        # FastAPI hands a body of another content type over as raw bytes, unparsed.
        detail = f"the body was not read as JSON: {JSON_HINT}"
    return detail, problems


def _http_detail(request: Request, exc: StarletteHTTPException) -> str:
    if exc.status_code == 404:
        return f"no route {request.method} {request.url.path}"
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        return f"{request.method} is not allowed on {request.url.path}; allowed: {allowed}"
    return str(exc.detail)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_request: Request, exc: DomainError) -> JSONResponse:
        headers = None if exc.retry_after is None else {"Retry-After": str(exc.retry_after)}
        body = {"error": exc.code, "detail": exc.detail, **(exc.extra or {})}
        return JSONResponse(body, exc.status_code, headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # The framework's own answers (unknown route, wrong method, body over the limit).
        body = error_body(exc.status_code, _http_detail(request, exc))
        return JSONResponse(body, exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        detail, problems = describe_validation(exc, request)
        return JSONResponse({**error_body(422, detail), "problems": problems}, 422)

    @app.exception_handler(redis.exceptions.ConnectionError)
    @app.exception_handler(redis.exceptions.TimeoutError)
    @app.exception_handler(OperationalError)
    async def _unavailable(_request: Request, exc: Exception) -> JSONResponse:
        # A dependency is down: the client should retry later, not treat it as its fault.
        log.error("dependency unavailable: %s", exc)
        body = error_body(503, "a backing service is unavailable; retry later")
        return JSONResponse(body, 503, headers={"Retry-After": "5"})

    @app.exception_handler(DataError)
    async def _data(_request: Request, _exc: DataError) -> JSONResponse:
        # A value the schema let through but the column cannot hold (length, range).
        return JSONResponse(error_body(422, "a value is out of range for where it is stored"), 422)

    @app.exception_handler(IntegrityError)
    async def _integrity(_request: Request, _exc: IntegrityError) -> JSONResponse:
        # A race past a service's own check: the database kept its invariants.
        return JSONResponse(error_body(409, "the write conflicts with existing data"), 409)
