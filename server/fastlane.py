"""A fast lane for the two hot paths: ``POST /v1/me/locations`` and ``/v1/me/sightings``.

Every phone calls them several times a minute, and FastAPI's general machinery (matching
a hundred routes, solving dependencies, parsing JSON in Python, validating the response)
cost a worker more CPU than the work itself (py-spy: about half of it). The lane is a
plain route placed first: it reads the body, checks the user token's shape, validates the
body from bytes with the same pydantic schema (pydantic-core, no Python JSON), calls the
**same endpoint function** the router declares, and serialises its result with the same
response schema.

Anything it does not expect (not JSON, a body the schema refuses, no or a malformed
token) it hands, body replayed, to the router again, which skips the lane this time and
reaches the regular route: errors keep one vocabulary
(``server.handlers``) and the OpenAPI page documents the one operation. Errors raised by
the endpoint itself (401, 409 busy, 413, 503) reach the same exception handlers as any
route's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, get_type_hints

from fastapi import FastAPI
from pydantic import BaseModel, ValidationError
from starlette.routing import Match, Route
from starlette.types import Message, Receive, Scope, Send

from accounts.service import USER_TOKEN_PREFIX
from accounts.tokens import AppCaller, user_tokens
from beacons.api import report_sightings
from geofence.api import report_locations
from server.runtime import Runtime

Endpoint = Callable[[Any, AppCaller, Runtime], Awaitable[BaseModel]]

# The endpoints the lane serves: each takes (body, caller, runtime) and returns its schema.
HOT: dict[str, Endpoint] = {
    "/v1/me/locations": report_locations,
    "/v1/me/sightings": report_sightings,
}

_JSON = (b"content-type", b"application/json")
_PASSED = "vicinity.fast_lane_passed"


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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await _body(receive)
        token = _user_token(scope)
        parsed = None
        if token is not None and _header(scope, b"content-type").startswith(_JSON[1]):
            try:
                parsed = self.schema.model_validate_json(body)
            except ValidationError:
                parsed = None
        if parsed is None or token is None:
            await scope["app"].router({**scope, _PASSED: True}, _replay(body), send)
            return
        runtime: Runtime = scope["app"].state.runtime
        result = await self.endpoint(parsed, AppCaller(token, user_tokens.get(token)), runtime)
        payload = result.model_dump_json(by_alias=True).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [_JSON, (b"content-length", str(len(payload)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": payload})


class _LaneRoute(Route):
    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope.get(_PASSED):
            return Match.NONE, {}
        return super().matches(scope)


def install_fast_lane(app: FastAPI, paths: dict[str, Endpoint]) -> None:
    """Put a lane in front of each hot endpoint (path → the endpoint its router declares)."""
    for path, endpoint in paths.items():
        schema = get_type_hints(endpoint).get("body")
        if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
            raise TypeError(f"{path}: the fast lane serves pydantic bodies only")
        route = _LaneRoute(path, _Lane(endpoint, schema), methods=["POST"], include_in_schema=False)
        app.router.routes.insert(0, route)
