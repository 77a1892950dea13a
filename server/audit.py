"""Recording each request a staff API key authenticated (the log: ``accounts/audit.py``).

The staff dependency notes the key in the request's scope (:func:`note_staff`); this pure
ASGI middleware, once the response is sent, writes one row in a transaction of its own,
in a worker thread. The caller never waits for it, and the request's own transaction
(committed or rolled back before the answer) never holds it: a refused write is recorded
as well as a successful one, with the status the caller got.

Durability: the row is written by the same request task, after the response and before
the task ends, so a graceful shutdown (uvicorn waits for running requests) keeps it. A
write that fails (database down) is not lost silently: it is logged at ERROR with every
field of the entry (the log line is then the record) and counted in
``vicinity_audit_write_failures_total``. Only a process killed in the milliseconds
between the answer and the insert loses an entry unseen.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

import anyio
from prometheus_client import Counter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from accounts.audit import KeyUse, key_use
from kernel.db import unit_of_work
from kernel.principal import Staff
from server.runtime import Runtime

log = logging.getLogger(__name__)

STAFF = "vicinity.staff"
USERS_ONLY = "/v1/me/"

WRITE_FAILURES = Counter(
    "vicinity_audit_write_failures",
    "Audit log entries that could not be written (each logged at ERROR in full).",
)


def note_staff(scope: Scope, staff: Staff) -> None:
    """Mark the request as authenticated by ``staff`` (read when it has been answered)."""
    scope[STAFF] = staff


def _write(runtime: Runtime, entry: KeyUse) -> None:
    with unit_of_work(runtime.sessions) as session:
        session.add(entry)


def _fields(entry: KeyUse) -> dict[str, Any]:
    columns = ("key_id", "role", "store_ids", "method", "route", "path", "status", "client_ip")
    return {c: getattr(entry, c) for c in columns} | {"at": entry.at.isoformat()}


class AuditLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The app users' routes (the hot paths among them) take no staff key: not watched.
        if scope["type"] != "http" or scope["path"].startswith(USERS_ONLY):
            await self.app(scope, receive, send)
            return
        started = time.time()
        status = 500  # what the caller gets if the app raises before answering

        async def watched_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watched_send)
        finally:
            staff = scope.get(STAFF)
            if staff is not None:
                # Shielded: a client that hung up still had its request acted on.
                with anyio.CancelScope(shield=True):
                    await self._record(scope, staff, status, started)

    async def _record(self, scope: Scope, staff: Staff, status: int, started: float) -> None:
        route = scope.get("route")
        client = scope.get("client")
        entry = key_use(
            staff,
            method=scope["method"],
            route=getattr(route, "path", None),
            path=scope["path"],
            status=status,
            at=datetime.fromtimestamp(started, UTC),
            client_ip=client[0] if client else None,
        )
        runtime: Runtime = scope["app"].state.runtime
        try:
            await anyio.to_thread.run_sync(_write, runtime, entry)
        except Exception:
            WRITE_FAILURES.inc()
            log.exception("audit entry not written: %s", _fields(entry))
