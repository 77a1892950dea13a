"""Webhook delivery jobs. Thin: take an id, open a session, try once, retry with backoff."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from events import targets
from events.delivery import attempt, sweep
from kernel.db import unit_of_work
from server.celery import celery_app
from server.runtime import current

SWEEP_GRACE_S = 60.0
"""How long past due a pending delivery waits for its own retry before the sweep takes it."""


@celery_app.task(bind=True, name="events.deliver", max_retries=None)  # type: ignore[untyped-decorator]
def deliver_webhook(self: Any, delivery_id: int) -> str:
    rt = current()
    allow_private = rt.settings.webhooks_reach_private
    with (
        targets.client(allow_private=allow_private) as client,
        unit_of_work(rt.sessions) as session,
    ):
        result = attempt(
            session,
            delivery_id=delivery_id,
            client=client,
            now=datetime.now(UTC),
            names_user=rt.names_user,
        )
    if result.retry_in_s is not None and not self.request.is_eager:
        # In-process (embedded, tests) there is no broker to wait on: the sweep retries.
        raise self.retry(countdown=result.retry_in_s)
    return result.status


def enqueue_delivery(delivery_id: int) -> None:
    deliver_webhook.delay(delivery_id)


@celery_app.task(name="events.sweep")  # type: ignore[untyped-decorator]
def sweep_deliveries() -> int:
    """Enqueue again every webhook delivery whose task was lost (see delivery.sweep)."""
    rt = current()
    with unit_of_work(rt.sessions) as session:
        ids = sweep(session, now=datetime.now(UTC), grace_s=SWEEP_GRACE_S, enqueue=enqueue_delivery)
    return len(ids)
