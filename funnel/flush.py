"""The beat job's work: move the counts set aside in the counter store into the database.

Each batch is applied exactly once: its id is recorded in ``funnel_flushes`` in the same
transaction as its counts, and the batch is forgotten only after that commits. A crash
between the commit and the forget leaves the batch in Redis; the next flush finds it
recorded and only forgets it. A crash before the commit leaves it unrecorded; the next
flush applies it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from funnel import repository
from funnel.counters import Batch, CounterStore
from kernel.db import SessionFactory, unit_of_work

# A batch waits in Redis for at most one failed flush; a day of records covers any outage
# of the beat that a batch can survive.
FLUSHES_KEPT = timedelta(days=1)


def apply_batch(session: Session, batch: Batch, *, now: datetime) -> bool:
    """Add the batch's counts unless it was applied before; ``True`` when added now."""
    if not repository.claim_batch(session, batch_id=batch.id, now=now):
        return False
    repository.add_counts(session, batch.counts)
    return True


def flush(sessions: SessionFactory, store: CounterStore, *, now: datetime) -> int:
    """Apply every batch (the hours counted since the last flush, and any an interrupted
    flush left behind); returns how many were added now."""
    added = 0
    for batch in store.set_aside():
        with unit_of_work(sessions) as session:
            added += apply_batch(session, batch, now=now)
        store.forget(batch.id)
    with unit_of_work(sessions) as session:
        repository.forget_flushes(session, before=now - FLUSHES_KEPT)
    return added
