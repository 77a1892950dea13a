"""Browser-facing protections: security headers on every response, CORS only when asked.

* Every response carries ``X-Content-Type-Options: nosniff``, ``Referrer-Policy:
  no-referrer`` and ``X-Frame-Options: DENY``, and ``Strict-Transport-Security`` when
  ``VICINITY_HTTPS`` says the deployment is HTTPS only. A header the route set itself
  wins: the console's page sends its own Content-Security-Policy and a referrer policy
  that lets the map's tile host see this site's origin (``console/api.py``).
* CORS is off by default: without ``VICINITY_CORS_ORIGINS`` no response carries an
  ``Access-Control-*`` header, so a page of another site cannot read the API's answers.
  With it, Starlette's ``CORSMiddleware`` allows exactly those origins, with bearer
  tokens in ``Authorization`` (no cookies: credentials are never needed); a refused
  preflight is a 400 ``bad_request`` like any unreadable request.

A pure ASGI middleware: a header list appended to the response start, nothing parsed.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kernel.config import Settings
from server.handlers import error_body

HSTS_MAX_AGE_S = 365 * 24 * 60 * 60

BASE_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        hsts = (b"strict-transport-security", f"max-age={HSTS_MAX_AGE_S}".encode())
        self.headers = (*BASE_HEADERS, hsts) if https else BASE_HEADERS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {bytes(name).lower() for name, _ in headers}
                headers += [h for h in self.headers if h[0] not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _Cors(CORSMiddleware):
    """Starlette's CORS, its refused preflight answered in the house vocabulary."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code == 200:
            return response
        why = bytes(response.body).decode()  # "Disallowed CORS origin, method"
        body = error_body(400, f"CORS preflight refused: {why.removeprefix('Disallowed CORS ')}")
        return JSONResponse(body, 400, headers={"Vary": "Origin"})


def install_security(app: FastAPI, settings: Settings) -> None:
    """CORS (when configured) inside the security headers, both outside everything else:
    a preflight is answered before routing, and carries the headers too."""
    if settings.cors_origins:
        app.add_middleware(
            _Cors,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Request-Id"],
            expose_headers=["Retry-After", "X-Request-Id"],
            max_age=600,
        )
    app.add_middleware(SecurityHeaders, https=settings.https)
