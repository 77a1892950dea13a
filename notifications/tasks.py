"""Delivery jobs. Thin: take an id, open a session, call the service, retry with backoff.

A database, Redis or broker error is transient here (a restart, a failover): the task is
retried with backoff instead of failing, and the sweeper covers a retry that cannot even
be scheduled.
"""

from __future__ import annotations

import logging
import random
import time
from datetime import UTC, datetime
from typing import Any

import kombu.exceptions
import redis
from sqlalchemy.exc import DBAPIError

from kernel.db import unit_of_work
from notifications.answers import DeliveryResult, Outcomes, settle
from notifications.delivery import deliver, deliver_many, sweep
from server.celery import celery_app
from server.runtime import current

log = logging.getLogger(__name__)

TRANSIENT: tuple[type[Exception], ...] = (
    DBAPIError,
    redis.RedisError,
    kombu.exceptions.OperationalError,
)
"""Errors of a dependency that comes back: retry the task, do not fail it."""

TRANSIENT_BACKOFF_S = 1.0
TRANSIENT_MAX_BACKOFF_S = 60.0


def transient_backoff_s(retries: int) -> float:
    ceiling = min(TRANSIENT_MAX_BACKOFF_S, TRANSIENT_BACKOFF_S * 2**retries)
    return random.uniform(ceiling / 2, ceiling)


SETTLE_FOR_S = 120.0
"""How long a worker keeps trying to record pushes it already sent before giving up."""


def _settle(notification_id: int, outcomes: Outcomes) -> DeliveryResult:
    """Record pushes already sent, retrying until the database is back: sending them
    again would duplicate them, so this waits here rather than retrying the task."""
    rt = current()
    deadline = time.monotonic() + SETTLE_FOR_S
    attempt = 0
    while True:
        try:
            with unit_of_work(rt.sessions) as session:
                return settle(
                    session,
                    notification_id=notification_id,
                    outcomes=outcomes,
                    max_attempts=rt.settings.push_max_retries,
                    now=datetime.now(UTC),
                )
        except TRANSIENT:
            if time.monotonic() > deadline:
                raise
            log.warning("recording sent pushes of %s failed; retrying", notification_id)
            time.sleep(transient_backoff_s(min(attempt, 4)))
            attempt += 1


# Acknowledged only once done, and requeued if the worker process dies: a lost task is
# never lost; a redelivered one finds the deliveries already claimed (delivery.claim).
@celery_app.task(  # type: ignore[untyped-decorator]
    bind=True,
    name="notifications.deliver",
    max_retries=None,
    acks_late=True,
    reject_on_worker_lost=True,
)
def deliver_notification(self: Any, notification_id: int) -> Any:
    rt = current()
    outcomes: Outcomes = {}
    try:
        result = deliver(
            rt.sessions,
            notification_id=notification_id,
            sender=rt.push,
            max_attempts=rt.settings.push_max_retries,
            now=datetime.now(UTC),
            outcomes=outcomes,
            settings=rt.settings,
        )
    except TRANSIENT as error:
        if outcomes:
            # Sent, but the recording failed: record what was sent, do not send it again.
            result = _settle(notification_id, outcomes)
        elif self.request.is_eager:
            # In-process (embedded, tests): no broker to wait on; the sweeper retries.
            raise
        else:
            log.warning("delivery of %s hit %r; retrying", notification_id, error)
            countdown = transient_backoff_s(self.request.retries)
            raise self.retry(exc=error, countdown=countdown) from None
    if result.retry_after_s is not None:
        if self.request.is_eager:
            # In-process (embedded, tests): Celery re-applies a returned Retry at once.
            return self.retry(countdown=0, throw=False)
        raise self.retry(countdown=result.retry_after_s)
    return {"sent": result.sent, "pending": result.pending}


def enqueue_delivery(notification_id: int) -> None:
    deliver_notification.delay(notification_id)


BATCH_TASK_SIZE = 200
"""Most notifications one batch task takes: a few devices each, a few FCM batches."""


@celery_app.task(  # type: ignore[untyped-decorator]
    bind=True,
    name="notifications.deliver_many",
    max_retries=None,
    acks_late=True,
    reject_on_worker_lost=True,
)
def deliver_notifications(self: Any, notification_ids: list[int]) -> Any:
    """Deliver several notifications through one batched send; a notification that needs
    another attempt goes on as its own :func:`deliver_notification`, at its own time."""
    rt = current()
    outcomes: dict[int, Outcomes] = {}
    try:
        results = deliver_many(
            rt.sessions,
            notification_ids=notification_ids,
            sender=rt.push,
            max_attempts=rt.settings.push_max_retries,
            now=datetime.now(UTC),
            outcomes=outcomes,
            settings=rt.settings,
        )
    except TRANSIENT as error:
        if any(outcomes.values()):
            # Sent, but the recording failed; what was not claimed is left to the sweeper.
            results = {i: _settle(i, answers) for i, answers in outcomes.items() if answers}
        elif self.request.is_eager:
            raise
        else:
            log.warning(
                "delivery of %d notifications hit %r; retrying", len(notification_ids), error
            )
            countdown = transient_backoff_s(self.request.retries)
            raise self.retry(exc=error, countdown=countdown) from None
    for notification_id, result in results.items():
        if result.retry_after_s is not None:
            deliver_notification.apply_async((notification_id,), countdown=result.retry_after_s)
    return {"sent": sum(r.sent for r in results.values())}


@celery_app.task(name="notifications.sweep")  # type: ignore[untyped-decorator]
def sweep_notifications() -> int:
    """Enqueue again every notification whose delivery is overdue (see delivery.sweep), in
    batch tasks of up to :data:`BATCH_TASK_SIZE`."""
    rt = current()
    with unit_of_work(rt.sessions) as session:
        ids = sweep(
            session,
            now=datetime.now(UTC),
            age_s=rt.settings.notification_sweep_age_s,
            enqueue=lambda _notification_id: None,
        )
    # Enqueued once committed (as sweep's own after-commit enqueue would be), in batches.
    for start in range(0, len(ids), BATCH_TASK_SIZE):
        deliver_notifications.delay(ids[start : start + BATCH_TASK_SIZE])
    return len(ids)
