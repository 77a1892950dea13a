"""``/metrics``: Prometheus metrics of this process.

* HTTP requests and their latency by route template (``handler``), method and status
  class, from prometheus-fastapi-instrumentator's ASGI middleware; the fast lane (which
  stands in front of it) records ``/v1/me/locations`` and ``/v1/me/sightings`` in the
  same series itself.
* The domain counters of :mod:`kernel.metrics` (fixes, sightings, transitions, decisions,
  pushes, webhook deliveries).
* Read at scrape time, never per request: the geofence index's size, and with a Redis
  broker the Celery queue's depth and the age of its oldest task (its ``published_at``
  header, set by :mod:`server.logs` when the task is sent).

Unauthenticated, like a health check, and left out of the OpenAPI page: it names routes
and counts, never a user, token or id. ``VICINITY_METRICS=false`` removes it. Each process
counts its own: run one scrape target per worker process (see README, Observability).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable

import redis
from fastapi import FastAPI
from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from prometheus_fastapi_instrumentator import Instrumentator
from prometheus_fastapi_instrumentator import metrics as http_metrics
from starlette.requests import Request
from starlette.types import Scope

from server.celery import celery_app
from server.runtime import Runtime

# Seconds: the hot paths answer in milliseconds, the slowest staff lists in about a second.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _AtScrape(Collector):
    """Values read when Prometheus asks: the runtime of the app being served."""

    def __init__(self) -> None:
        self.runtime: Runtime | None = None

    def describe(self) -> Iterable[Metric]:
        return ()  # registered before any runtime exists; nothing to describe yet

    def collect(self) -> Iterable[Metric]:
        rt = self.runtime
        if rt is None:
            return
        yield GaugeMetricFamily(
            "vicinity_geofences", "Geofences in this process's index.", value=len(rt.index)
        )
        if rt.redis is None or rt.settings.celery_eager:
            return
        queue = celery_app.conf.task_default_queue
        try:
            depth = rt.redis.llen(queue)
            oldest = rt.redis.lindex(queue, -1)  # kombu pushes left, workers pop right
        except redis.RedisError:
            return  # the scrape still answers; the gap in the series says Redis was away
        yield GaugeMetricFamily(
            "vicinity_celery_queue_depth", "Tasks waiting in the Celery queue.", value=depth
        )
        yield GaugeMetricFamily(
            "vicinity_celery_queue_lag_seconds",
            "Age of the oldest task waiting in the Celery queue (0 when empty).",
            value=_age(oldest, time.time()),
        )


def _age(message: bytes | str | None, now: float) -> float:
    if message is None:
        return 0.0
    try:
        published = float(json.loads(message)["headers"]["published_at"])
    except (ValueError, KeyError, TypeError):
        return 0.0  # sent by an older process, without the header
    return max(0.0, now - published)


# Created once per process: a second app (tests, drills) reuses them, as the registry holds
# one collector per name (the library answers None for a name already registered).
_HTTP = [
    m
    for m in (
        http_metrics.requests(),
        http_metrics.latency(buckets=BUCKETS, should_include_status=False),
    )
    if m is not None
]

_at_scrape = _AtScrape()
REGISTRY.register(_at_scrape)


def watch(runtime: Runtime | None) -> None:
    """Read scrape-time values from this runtime (None when the app stops)."""
    _at_scrape.runtime = runtime


def observe_lane(scope: Scope, path: str, status: int, seconds: float) -> None:
    """A request the fast lane answered, counted in the same series as every route's
    (the lane stands in front of the middleware that counts the others)."""
    info = http_metrics.Info(Request(scope), None, "POST", path, f"{status // 100}xx", seconds)
    for metric in _HTTP:
        metric(info)


def install_metrics(app: FastAPI) -> None:
    """Measure every request and serve ``/metrics`` (not in the OpenAPI page)."""
    instrumentator = Instrumentator(excluded_handlers=["^/metrics$"])
    instrumentator.add(*_HTTP)
    instrumentator.instrument(app).expose(app, include_in_schema=False)
