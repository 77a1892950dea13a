"""The seeded taxonomy, put back after tests that edit it."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from kernel.db import unit_of_work
from preferences.models import Segment
from preferences.segments import seed_taxonomy


def restore_taxonomy(sessions: sessionmaker[Session]) -> None:
    """Segments survive between tests (conftest keeps them): put the seeded set back."""
    with unit_of_work(sessions) as session:
        session.execute(delete(Segment))
        seed_taxonomy(session)
