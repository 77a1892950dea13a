"""The request body limit: a pure ASGI middleware, so a refusal costs no parsing at all.

A declared ``Content-Length`` over the limit is answered 413 before a byte of the body is
read; a body without one (chunked) is counted as it arrives and refused once it passes the
limit. Either way the worker never holds more than the limit in memory for one request.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SCOPE_KEY = "vicinity.max_body_bytes"


def too_large_detail(max_bytes: int) -> str:
    return f"the request body is larger than the limit of {max_bytes} bytes"


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` mid-body; the error handlers turn it into the 413 body."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(status_code=413, detail=too_large_detail(max_bytes))


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope[SCOPE_KEY] = self.max_bytes
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyTooLarge:
            # Read outside a route (the routes' own errors are answered by the handlers).
            if started:
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = {"error": "too_large", "detail": too_large_detail(self.max_bytes)}
        await JSONResponse(body, 413, headers={"Connection": "close"})(scope, receive, send)
