"""The retention job, run by Celery beat. Thin: open a session, call the service."""

from __future__ import annotations

from datetime import UTC, datetime

from accounts.audit import purge_uses
from kernel.db import unit_of_work
from privacy.service import purge
from server.celery import celery_app
from server.runtime import current


@celery_app.task(name="privacy.purge")  # type: ignore[untyped-decorator]
def purge_expired() -> dict[str, int]:
    rt = current()
    now = datetime.now(UTC)
    with unit_of_work(rt.sessions) as session:
        purged = purge(session, now=now, settings=rt.settings)
        # Not a user's data (so not in the registry), but it ages out all the same.
        purged["key_uses"] = purge_uses(session, now=now, settings=rt.settings)
        return purged
