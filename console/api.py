"""The web console at ``/console``: one HTML page and its static files, from this process.

The page is a client of the JSON API like any other (the API key in an ``Authorization``
header, kept in the tab's session storage), so nothing here decides anything: it serves
files. Its Content-Security-Policy lets the page run only scripts served from here, call
only this server, and load images from here and from the map's tile host: a script
injected through data (a store's name, an offer's text) cannot run, nor send a key away.
"""

from __future__ import annotations

from functools import cache
from html import escape
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from kernel.config import Settings
from server.deps import RuntimeDep

HERE = Path(__file__).parent
STATIC = HERE / "static"

router = APIRouter(prefix="/console", include_in_schema=False)
_files = StaticFiles(directory=STATIC)

# Files are not renamed per version (no build step): the browser revalidates each one
# (ETag, an empty 304 when unchanged), so a deploy is seen at the next load.
REVALIDATE = "no-cache"


def tile_origin(tile_url: str) -> str | None:
    """The origin to allow images from for ``tile_url``; a ``{s}`` subdomain is any one."""
    parts = urlsplit(tile_url.replace("{s}", "subdomain"))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.netloc.replace("subdomain", "*") if "{s}" in tile_url else parts.netloc
    return f"{parts.scheme}://{host}"


def content_security_policy(settings: Settings) -> str:
    tiles = tile_origin(settings.tile_url)
    images = " ".join(["'self'", "data:", *([tiles] if tiles else [])])
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src {images}",
            "connect-src 'self'",
            "font-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


@cache
def _template() -> str:
    return (HERE / "index.html").read_text(encoding="utf-8")


def render_index(settings: Settings) -> str:
    """The page, with the map's settings in ``<meta>`` tags (no inline script to hold them)."""
    page = _template()
    page = page.replace("{{tile_url}}", escape(settings.tile_url, quote=True))
    return page.replace("{{tile_attribution}}", escape(settings.tile_attribution, quote=True))


@router.get("")
@router.get("/")
def console_page(runtime: RuntimeDep) -> HTMLResponse:
    return HTMLResponse(
        render_index(runtime.settings),
        headers={
            "Cache-Control": REVALIDATE,
            "Content-Security-Policy": content_security_policy(runtime.settings),
            "X-Content-Type-Options": "nosniff",
            # The tile host sees this site's origin (OpenStreetMap asks for it), no path.
            "Referrer-Policy": "strict-origin-when-cross-origin",
        },
    )


@router.get("/static/{path:path}")
async def console_file(path: str, request: Request) -> Response:
    """A file under ``console/static`` (404 outside it), revalidated at each load."""
    response = await _files.get_response(path, request.scope)
    response.headers["Cache-Control"] = REVALIDATE
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
