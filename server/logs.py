"""Structured logs: one line per event, with the request id that caused it.

``configure_logging`` routes the standard library's loggers (ours and the libraries')
through structlog: JSON lines in production, readable lines on a terminal
(``VICINITY_LOG_FORMAT``). Every line carries the context bound in ``structlog``'s
contextvars: the request id bound by :class:`RequestId` for each request (from the
caller's ``X-Request-ID`` when it is a sane token, else generated, and returned in the
response's ``X-Request-ID``), and in a Celery task the id of the request that sent it
(a message header set when it is published), with the task's name and id.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from collections.abc import Mapping
from contextvars import Token
from typing import IO, Any

import structlog
from celery import signals
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kernel.config import Settings, get_settings

HEADER = "X-Request-ID"
_HEADER = HEADER.lower().encode()
# A caller's id is echoed into logs and headers: letters, digits and ``.-_:`` only, bounded.
_SANE = re.compile(rb"[A-Za-z0-9._:-]{1,64}")

_SHARED: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]
_OURS = "vicinity.structlog"


def configure_logging(settings: Settings, stream: IO[str] | None = None) -> None:
    """Render every log record through structlog, to ``stream`` (stderr by default)."""
    out = stream or sys.stderr
    console = settings.log_format == "console" or (settings.log_format == "auto" and out.isatty())
    renderer: Any = (
        structlog.dev.ConsoleRenderer() if console else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        # Level first: a debug line below the level costs one check, not a timestamp.
        processors=[
            structlog.stdlib.filter_by_level,
            *_SHARED,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(out)
    handler.set_name(_OURS)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=_SHARED,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    # Configured again (tests, a second app): replace our handler, keep others' (pytest's).
    for old in [h for h in root.handlers if h.get_name() == _OURS]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    # uvicorn set its own handlers before calling the app factory: its lines (the access
    # log, logged inside the request, so with its id) go through ours instead.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True


def request_id_of(scope: Scope) -> str:
    """The caller's ``X-Request-ID`` when sane, else a new one."""
    for key, value in scope["headers"]:
        if key == _HEADER and _SANE.fullmatch(value):
            return bytes(value).decode("ascii")
    return uuid.uuid4().hex


_request_log = logging.getLogger("server.request")


class RequestId:
    """Binds the request id for the request's logs and returns it in the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.log = structlog.get_logger("server.request")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id_of(scope)
        tokens = structlog.contextvars.bind_contextvars(request_id=rid)
        started, status = time.perf_counter(), 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (_HEADER, rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            # Debug: a line per request costs the hot paths more than the metrics do, and
            # even a dropped one passes through structlog, so the level is checked first.
            if _request_log.isEnabledFor(logging.DEBUG):
                self.log.debug(
                    "request",
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    ms=round((time.perf_counter() - started) * 1000, 1),
                )
            structlog.contextvars.reset_contextvars(**tokens)


# Celery: the request id travels in a message header; each task binds it while it runs.
_bound: dict[str, Mapping[str, Token[Any]]] = {}
_task_log = structlog.get_logger("server.tasks")


def _stamp(headers: dict[str, Any] | None = None, **_: Any) -> None:
    if headers is None:
        return
    headers["published_at"] = time.time()  # server.metrics reads the queue's lag from it
    rid = structlog.contextvars.get_contextvars().get("request_id")
    if rid is not None:
        headers["request_id"] = rid


def _request_id_of(task: Any) -> str | None:
    # A worker's request holds a message's headers as attributes, an eager one in
    # ``headers``; an eager task sent without them runs inside the request, in its context.
    request = task.request
    headers = getattr(request, "headers", None) or {}
    rid = getattr(request, "request_id", None) or headers.get("request_id")
    return rid or structlog.contextvars.get_contextvars().get("request_id")


def _bind(task_id: str, task: Any, **_: Any) -> None:
    rid = _request_id_of(task)
    context = {"task": task.name, "task_id": task_id}
    if rid is not None:
        context["request_id"] = rid
    _bound[task_id] = structlog.contextvars.bind_contextvars(**context)
    _task_log.info("task started")


def _unbind(task_id: str, state: str | None = None, **_: Any) -> None:
    _task_log.info("task finished", state=state)
    tokens = _bound.pop(task_id, None)
    if tokens is not None:
        structlog.contextvars.reset_contextvars(**tokens)


def _worker_logging(**_: Any) -> None:
    # Connected, Celery leaves the root logger alone: the worker logs through structlog too.
    configure_logging(get_settings())


def trace_tasks() -> None:
    """Carry request ids into Celery tasks and log through structlog in workers."""
    signals.before_task_publish.connect(_stamp, dispatch_uid="vicinity.stamp")
    signals.task_prerun.connect(_bind, dispatch_uid="vicinity.bind")
    signals.task_postrun.connect(_unbind, dispatch_uid="vicinity.unbind")
    signals.setup_logging.connect(_worker_logging, dispatch_uid="vicinity.logging")
