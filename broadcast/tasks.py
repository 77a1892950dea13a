"""Broadcast jobs. Thin: take ids, open a session, call the service.

The fan-out lists the audience and enqueues one chunk task per ``broadcast_chunk_size``
users, after its commit; each chunk decides in its own transaction and is idempotent
(``service.decide_chunk``). A dependency's outage is retried with backoff; any other
error marks the broadcast ``failed`` (its counts so far stay) and is raised.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from broadcast import service
from broadcast.core import Member
from kernel.db import after_commit, unit_of_work
from notifications.tasks import TRANSIENT, enqueue_delivery, transient_backoff_s
from server.celery import celery_app
from server.runtime import current

log = logging.getLogger(__name__)


def _guarded(task: Any, broadcast_id: int, work: Callable[[], Any]) -> Any:
    try:
        return work()
    except TRANSIENT as error:
        if task.request.is_eager:
            # In-process (embedded, tests): no broker to wait on.
            _fail(broadcast_id)
            raise
        log.warning("broadcast %s hit %r; retrying", broadcast_id, error)
        raise task.retry(exc=error, countdown=transient_backoff_s(task.request.retries)) from None
    except Exception:
        _fail(broadcast_id)
        raise


def _fail(broadcast_id: int) -> None:
    log.error("broadcast %s failed", broadcast_id, exc_info=True)
    with unit_of_work(current().sessions) as session:
        service.fail(session, broadcast_id=broadcast_id, now=time.time())


@celery_app.task(  # type: ignore[untyped-decorator]
    bind=True,
    name="broadcast.fan_out",
    max_retries=10,
    acks_late=True,
    reject_on_worker_lost=True,
)
def fan_out(self: Any, broadcast_id: int) -> int:
    """List the audience from presence and enqueue its chunks; returns how many."""

    def work() -> int:
        rt = current()
        # A worker does not follow geofence edits as the API does: catch up first (one
        # version read; a reload only when behind), so a fence drawn today counts.
        rt.index_sync.reconcile()
        with unit_of_work(rt.sessions) as session:
            parts = service.start(
                session,
                broadcast_id=broadcast_id,
                index=rt.index,
                presence=rt.presence,
                now=time.time(),
                chunk_size=rt.settings.broadcast_chunk_size,
            )
            for number, members in enumerate(parts):
                payload = [[m.user_id, m.zone] for m in members]
                after_commit(session, partial(decide.delay, broadcast_id, number, payload))
        return len(parts)

    result: int = _guarded(self, broadcast_id, work)
    return result


@celery_app.task(  # type: ignore[untyped-decorator]
    bind=True,
    name="broadcast.decide",
    max_retries=10,
    acks_late=True,
    reject_on_worker_lost=True,
)
def decide(self: Any, broadcast_id: int, number: int, members: Sequence[Sequence[Any]]) -> bool:
    """Decide for one chunk of the audience (``[user_id, zone]`` pairs); ``False`` when the
    chunk had already run."""

    def work() -> bool:
        rt = current()
        with unit_of_work(rt.sessions) as session:
            return service.decide_chunk(
                session,
                broadcast_id=broadcast_id,
                number=number,
                members=[Member(int(uid), str(zone)) for uid, zone in members],
                policy_version=rt.settings.policy_version,
                enqueue=enqueue_delivery,
                now=time.time(),
            )

    done: bool = _guarded(self, broadcast_id, work)
    return done


def enqueue_fan_out(broadcast_id: int) -> None:
    fan_out.delay(broadcast_id)
