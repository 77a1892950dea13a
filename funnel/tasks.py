"""The funnel's beat job. Thin: the runtime's sessions and counter store, then the flush."""

from __future__ import annotations

from datetime import UTC, datetime

from funnel import counters
from funnel.flush import flush
from server.celery import celery_app
from server.runtime import current


@celery_app.task(name="funnel.flush")  # type: ignore[untyped-decorator]
def flush_counts() -> int:
    """Move the counts of the last minute from the counter store to ``funnel_counts``."""
    sessions = current().sessions  # builds the runtime first, which installs the store
    return flush(sessions, counters.current(), now=datetime.now(UTC))
