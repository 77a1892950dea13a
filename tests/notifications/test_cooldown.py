"""The store cooldown through on_presence: the last push is read with today's rows (one
read), reaches into the day before, and a cooled-down event records nothing."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from kernel.config import Settings
from kernel.db import unit_of_work
from notifications.decide import Trigger
from notifications.models import Notification
from notifications.service import on_presence
from offers.models import Offer
from preferences.core import Purpose
from preferences.segments import segments_by_slug
from presence.core import Transition
from stores.models import Store
from tests.factories import consenting_user

HOUR = 3600.0


def _world(sessions: sessionmaker[Session], settings: Settings) -> tuple[int, int]:
    """A store with an ENTER offer and a DWELL offer; a shopper interested in shoes."""
    with unit_of_work(sessions) as session:
        store = Store(name="Atelier")
        session.add(store)
        session.flush()
        for title, trigger in (("Boots", "enter"), ("Laces", "dwell")):
            session.add(
                Offer(
                    store_id=store.id,
                    title=title,
                    body="…",
                    trigger=trigger,
                    segments=segments_by_slug(session, ["shoes"]),
                )
            )
        user, _ = consenting_user(session, settings, timezone="Europe/London", interests=["shoes"])
        return store.id, user.id


def _event(
    sessions: sessionmaker[Session],
    settings: Settings,
    ids: tuple[int, int],
    transition: Transition,
    at: float,
    cooldown: float | None = None,
) -> list[str]:
    store_id, user_id = ids
    with unit_of_work(sessions) as session:
        notes = on_presence(
            session,
            user_id=user_id,
            triggers=[Trigger("geofence:1", store_id, transition, at)],
            purpose=Purpose.LOCATION_OFFERS,
            policy_version=settings.policy_version,
            enqueue=lambda _id: None,
            store_cooldown_s=cooldown,
        )
        return [n.title for n in notes]


def _rows(sessions: sessionmaker[Session], user_id: int) -> int:
    with sessions() as session:
        count = session.scalar(
            select(func.count()).select_from(Notification).where(Notification.user_id == user_id)
        )
        return int(count or 0)


def test_the_default_cooldown_holds_the_next_event_at_the_store_and_records_nothing(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    ids = _world(sessions, settings)
    now = time.time()
    assert _event(sessions, settings, ids, Transition.ENTER, now) == ["Boots"]
    # An hour later, the DWELL offer: held by the 24 h default, and not in the inbox.
    assert _event(sessions, settings, ids, Transition.DWELL, now + HOUR) == []
    assert _rows(sessions, ids[1]) == 1


@pytest.mark.parametrize(("cooldown", "sent"), [(HOUR / 2, ["Laces"]), (0.0, ["Laces"])])
def test_a_shorter_or_no_cooldown_lets_the_later_event_push(
    sessions: sessionmaker[Session], settings: Settings, cooldown: float, sent: list[str]
) -> None:
    ids = _world(sessions, settings)
    now = time.time()
    assert _event(sessions, settings, ids, Transition.ENTER, now, cooldown) == ["Boots"]
    assert _event(sessions, settings, ids, Transition.DWELL, now + HOUR, cooldown) == sent


def test_a_push_late_yesterday_still_cools_the_store_down_this_morning(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    ids = _world(sessions, settings)
    store_id, user_id = ids
    morning = datetime.now(UTC).replace(hour=1, minute=0, second=0, microsecond=0)
    yesterday_night = morning - timedelta(hours=2)
    with unit_of_work(sessions) as session:
        session.add(
            Notification(
                user_id=user_id,
                offer_id=None,
                store_id=store_id,
                zone="geofence:1",
                trigger="enter",
                reason={},
                title="earlier",
                body="…",
                day=yesterday_night.date(),
                created_at=yesterday_night,
            )
        )
    at = morning.timestamp()
    assert _event(sessions, settings, ids, Transition.ENTER, at) == []
    # Past the cooldown (set shorter than the two hours), the offer goes out.
    assert _event(sessions, settings, ids, Transition.ENTER, at, HOUR) == ["Boots"]
