"""Fleet health: beacons silent for too long or with a low battery need a visit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from beacons import repository
from beacons.models import Beacon, BeaconStatus
from beacons.registry import record_event


def assess(
    row: Beacon, *, now: datetime, silent_after: timedelta, low_battery_mv: int
) -> tuple[bool, str | None, bool]:
    """(needs a visit, why, silent)."""
    since = max(t for t in (row.last_seen_at, row.visited_at, row.installed_at) if t is not None)
    reasons = []
    silent = now - since > silent_after
    if silent:
        reasons.append(f"silent since {since:%Y-%m-%d %H:%M} UTC")
    if row.battery_mv is not None and row.battery_mv < low_battery_mv:
        reasons.append(f"battery low ({row.battery_mv} mV)")
    return bool(reasons), "; ".join(reasons) or None, silent


@dataclass(frozen=True, slots=True)
class HealthCheck:
    checked: int
    needing_visit: int
    newly_flagged: int


def check_health(
    session: Session, *, now: datetime, silent_after_s: float, low_battery_mv: int
) -> HealthCheck:
    """Mark beacons silent for too long (``missing``) or with a low battery as needing a visit.

    Idempotent: a beacon already flagged for the same reason is left as it is.
    """
    silent_after = timedelta(seconds=silent_after_s)
    checked = needing = flagged = 0
    for row in list(repository.in_service(session)):
        checked += 1
        needs, reason, silent = assess(
            row, now=now, silent_after=silent_after, low_battery_mv=low_battery_mv
        )
        if silent and row.status != BeaconStatus.MISSING.value:
            row.status = BeaconStatus.MISSING.value
            record_event(session, row, "missing", {"last_seen_at": _iso(row.last_seen_at)}, None)
        if needs and not row.needs_visit:
            flagged += 1
            record_event(session, row, "needs_visit", {"reason": reason}, None)
        row.needs_visit, row.visit_reason = needs, reason
        needing += needs
    session.flush()
    return HealthCheck(checked, needing, flagged)


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()
