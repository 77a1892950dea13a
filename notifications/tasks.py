"""Delivery jobs. Thin: take an id, open a session, call the service, retry with backoff."""

from __future__ import annotations

import random
from typing import Any

from kernel.db import unit_of_work
from notifications.service import deliver
from server.celery import celery_app
from server.runtime import current

BASE_BACKOFF_S = 5.0
MAX_BACKOFF_S = 3600.0


def backoff_s(attempt: int, floor_s: float) -> float:
    """Exponential backoff with full jitter, never below what the server asked for."""
    ceiling = min(MAX_BACKOFF_S, BASE_BACKOFF_S * 2**attempt)
    return max(floor_s, random.uniform(ceiling / 2, ceiling))


@celery_app.task(bind=True, name="notifications.deliver", max_retries=None)  # type: ignore[untyped-decorator]
def deliver_notification(self: Any, notification_id: int) -> Any:
    rt = current()
    with unit_of_work(rt.sessions) as session:
        result = deliver(
            session,
            notification_id=notification_id,
            sender=rt.push,
            max_attempts=rt.settings.push_max_retries,
        )
    if result.retry_after_s is not None:
        if self.request.is_eager:
            # In-process (embedded, tests): Celery re-applies a returned Retry at once.
            return self.retry(countdown=0, throw=False)
        raise self.retry(countdown=backoff_s(self.request.retries, result.retry_after_s))
    return {"sent": result.sent, "pending": result.pending}


def enqueue_delivery(notification_id: int) -> None:
    deliver_notification.delay(notification_id)
