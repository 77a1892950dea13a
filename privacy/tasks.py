"""The retention job, run by Celery beat. Thin: open a session, call the service."""

from __future__ import annotations

from datetime import UTC, datetime

from kernel.db import unit_of_work
from privacy.service import purge
from server.celery import celery_app
from server.runtime import current


@celery_app.task(name="privacy.purge")  # type: ignore[untyped-decorator]
def purge_expired() -> dict[str, int]:
    rt = current()
    with unit_of_work(rt.sessions) as session:
        return purge(session, now=datetime.now(UTC), settings=rt.settings)
