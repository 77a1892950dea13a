"""Beacon beat jobs. Thin: open a session, call the service; both are idempotent."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from beacons.health import check_health
from kernel.db import unit_of_work
from server.celery import celery_app
from server.runtime import current


@celery_app.task(name="beacons.refresh_eids")  # type: ignore[untyped-decorator]
def refresh_eids() -> int:
    """Rebuild the EID table from the registry here, and tell every API process to."""
    rt = current()
    rt.eids.changed(time.time())
    return len(rt.eids)


@celery_app.task(name="beacons.check_health")  # type: ignore[untyped-decorator]
def check_beacon_health() -> dict[str, int]:
    """Flag beacons silent for too long or with a low battery as needing a visit."""
    rt = current()
    settings = rt.settings
    with unit_of_work(rt.sessions) as session:
        result = check_health(
            session,
            now=datetime.now(UTC),
            silent_after_s=settings.beacon_silent_hours * 3600,
            low_battery_mv=settings.beacon_low_battery_mv,
        )
    return {
        "checked": result.checked,
        "needing_visit": result.needing_visit,
        "newly_flagged": result.newly_flagged,
    }
