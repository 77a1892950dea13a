"""The OpenAPI document as mobile and web clients consume it, and `/docs` without a CDN.

Operation ids are the route function names in camelCase (`reportLocations`), so client
generators produce readable method names. Swagger UI's assets are served from the
`swagger-ui-bundle` package: the docs page works on a self-hosted box with no Internet.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

ASSETS = "/docs/assets"


def operation_id(route: APIRoute) -> str:
    head, *rest = route.name.split("_")
    return head + "".join(word.capitalize() for word in rest)


def install_docs(app: FastAPI) -> None:
    """Serve Swagger UI at ``/docs`` from local assets (the app is built with docs_url=None)."""
    app.mount(ASSETS, StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} — API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
        )
