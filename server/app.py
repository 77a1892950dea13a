"""The FastAPI application factory."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import FastAPI

from kernel.config import Settings, get_settings
from server import runtime as runtime_module
from server.audit import AuditLog
from server.celery import celery_app
from server.celery import configure as configure_celery
from server.docs import install_docs, operation_id
from server.fastlane import HOT, FastLane
from server.handlers import ERROR_RESPONSES, install_error_handlers
from server.limits import BodyLimit
from server.logs import RequestId, configure_logging
from server.metrics import install_metrics, observe_lane, watch
from server.ratelimit import RateLimit, RateLimiter
from server.routers import ROUTERS
from server.scheduler import Scheduler
from server.security import install_security

DESCRIPTION = """
Vicinity matches phones' locations and beacon sightings against store geofences and
pushes the offers a shopper **consented to**, and nothing else.

* App users authenticate with the `vu_…` token from `POST /v1/users`.
* Store staff, field techs and the operator use `vk_…` API keys (`vicinity keys create`).
* Errors are `{"error": code, "detail": sentence}`, one code per status: 400 `bad_request`,
  401 `unauthorized`, 403 `forbidden`, 404 `not_found` (also for another store's resource),
  405 `method_not_allowed`, 409 `conflict` (`busy` with `Retry-After` when the same thing
  is being changed right now), 413 `too_large`, 422 `invalid` (with `problems`),
  429 `too_many_requests` (with `Retry-After`), 503 `unavailable` (with `Retry-After`).
* Lists page one way: `?after=<cursor>&limit=<n>`, and the page's `next_after` is the next
  cursor (null on the last page).
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings)
    limiter = RateLimiter.of(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_celery(settings)
        rt = runtime_module.build(settings)
        rt.load_index()
        rt.index_sync.start()
        rt.eids.start(time.time())
        runtime_module.install(rt)
        app.state.runtime = rt
        watch(rt)
        # One database connection per blocking request: the thread pool is the pool's size.
        to_thread.current_default_thread_limiter().total_tokens = settings.db_pool_size
        # Embedded, no worker or beat exists: this process runs the scheduled jobs itself.
        scheduler = Scheduler(celery_app) if settings.embedded else None
        if scheduler is not None:
            scheduler.start()
        try:
            yield
        finally:
            if scheduler is not None:
                scheduler.stop()
            watch(None)
            runtime_module.install(None)
            rt.close()
            await rt.aclose()
            if limiter is not None:
                await limiter.aclose()

    app = FastAPI(
        title="Vicinity",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        license_info={"name": "AGPL-3.0-or-later"},
        generate_unique_id_function=operation_id,
        docs_url=None,
        redoc_url=None,
        # No OpenTelemetry here (Prometheus metrics and structured logs instead); off, the
        # framework skips its per-request provider checks.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    install_error_handlers(app)
    # Middleware, innermost first. The metrics middleware resolves every request's route
    # template, costly on the hot paths; the fast lane stands in front of it and counts
    # its own requests in the same series.
    if settings.metrics:
        install_metrics(app)
    app.add_middleware(FastLane, lanes=HOT, observe=observe_lane if settings.metrics else None)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(AuditLog)
    if limiter is not None:
        # Before the body is read and before routing: the fast lane is limited too.
        app.add_middleware(RateLimit, limiter=limiter)
    # Even a refused body's answer carries the request id.
    app.add_middleware(RequestId)
    # Outermost: every answer carries the security headers, a CORS preflight included.
    install_security(app, settings)
    install_docs(app)
    for router in ROUTERS:
        app.include_router(router, responses=ERROR_RESPONSES)
    return app
