"""Rewards jobs. Thin: open a session, call the service."""

from __future__ import annotations

from kernel.db import unit_of_work, utcnow
from rewards.service import release_pending
from server.celery import celery_app
from server.runtime import current

BATCH = 500


@celery_app.task(name="rewards.release_pending")  # type: ignore[untyped-decorator]
def release_pending_points() -> int:
    """Pending points past their store's return window become available. Idempotent: a
    purchase is released once (its status and the transfer's unique key), and two runs
    at once skip each other's locked rows."""
    released = 0
    while True:  # in batches, each its own transaction, until none is left
        with unit_of_work(current().sessions) as session:
            batch = release_pending(session, now=utcnow(), limit=BATCH)
        released += batch
        if batch < BATCH:
            return released
