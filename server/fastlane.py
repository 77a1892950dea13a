"""A fast lane for the two hot paths: ``POST /v1/me/locations`` and ``/v1/me/sightings``.

Every phone calls them several times a minute, and FastAPI's general machinery (the
metrics middleware resolving the route template, exception middleware, matching a
hundred routes, solving dependencies, parsing JSON in Python, validating the response)
cost a worker more CPU than the work itself (py-spy: about half of it). The lane is a
pure ASGI middleware inside the cheap ones every request needs (security headers,
request id, rate limits, audit, body limit) and in front of the rest: it reads the body,
checks the user token's shape, validates the body from bytes with the same pydantic
schema (pydantic-core, no Python JSON), calls the **same endpoint function** the router
declares, and serialises its result with the same response schema.

Anything it does not expect (not JSON, a body the schema refuses, no or a malformed
token) it hands, body replayed, to the app behind it, whose regular route answers: errors
keep one vocabulary (``server.handlers``) and the OpenAPI page documents the one
operation. Errors raised by the endpoint itself (401, 409 busy, 413, 503) are answered
by the app's own exception handlers, and the request is counted in the same HTTP metrics
as any route's.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, get_type_hints

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from accounts.service import USER_TOKEN_PREFIX
from accounts.tokens import AppCaller, user_tokens
from beacons.api import report_sightings
from geofence.api import report_locations
from kernel.errors import DomainError
from server.runtime import Runtime

Endpoint = Callable[[Any, AppCaller, Runtime], Awaitable[BaseModel]]
Observe = Callable[[Scope, str, int, float], None]

# The endpoints the lane serves: each takes (body, caller, runtime) and returns its schema.
HOT: dict[str, Endpoint] = {
    "/v1/me/locations": report_locations,
    "/v1/me/sightings": report_sightings,
}

_JSON = (b"content-type", b"application/json")


def _header(scope: Scope, name: bytes) -> bytes:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return b""


def _user_token(scope: Scope) -> str | None:
    """A well-formed user token, else None (the regular route names the problem)."""
    scheme, _, token = _header(scope, b"authorization").partition(b" ")
    if scheme.lower() != b"bearer" or not token.startswith(USER_TOKEN_PREFIX.encode()):
        return None
    try:
        return token.strip().decode("ascii")
    except UnicodeDecodeError:
        return None


async def _body(receive: Receive) -> bytes:
    # ``receive`` is BodyLimit's: an oversized body raises before it is all held.
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


@dataclass(frozen=True)
class _Lane:
    endpoint: Endpoint
    schema: type[BaseModel]


class FastLane:
    """The lanes in front of ``app`` (the rest of the middleware and the router)."""

    def __init__(
        self, app: ASGIApp, *, lanes: Mapping[str, Endpoint], observe: Observe | None = None
    ) -> None:
        self.app = app
        self.observe = observe
        self.lanes: dict[str, _Lane] = {}
        for path, endpoint in lanes.items():
            schema = get_type_hints(endpoint).get("body")
            if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
                raise TypeError(f"{path}: the fast lane serves pydantic bodies only")
            self.lanes[path] = _Lane(endpoint, schema)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        lane = self.lanes.get(scope["path"]) if scope["type"] == "http" else None
        if lane is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        body = await _body(receive)
        token = _user_token(scope)
        parsed = None
        if token is not None and _header(scope, b"content-type").startswith(_JSON[1]):
            try:
                parsed = lane.schema.model_validate_json(body)
            except (ValidationError, DomainError):
                parsed = None  # a validator's own error (e.g. 413): the route raises it too
        if parsed is None or token is None:
            await self.app(scope, _replay(body), send)
            return
        runtime: Runtime = scope["app"].state.runtime
        status = 200
        try:
            caller = AppCaller(token, user_tokens.get(token))
            result = await lane.endpoint(parsed, caller, runtime)
        except Exception as exc:
            status = await self._answer_error(scope, body, send, exc)
        else:
            payload = result.model_dump_json(by_alias=True).encode()
            length = (b"content-length", str(len(payload)).encode())
            await send({"type": "http.response.start", "status": 200, "headers": [_JSON, length]})
            await send({"type": "http.response.body", "body": payload})
        if self.observe is not None:
            self.observe(scope, scope["path"], status, time.perf_counter() - started)

    async def _answer_error(self, scope: Scope, body: bytes, send: Send, exc: Exception) -> int:
        """The app's own exception handler for ``exc`` answers; without one it propagates."""
        handlers: dict[Any, Any] = scope["app"].exception_handlers
        handler = next((handlers[c] for c in type(exc).__mro__ if c in handlers), None)
        if handler is None:
            raise exc
        response = await handler(Request(scope, _replay(body)), exc)
        await response(scope, _replay(body), send)
        return int(response.status_code)
