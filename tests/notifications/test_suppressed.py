"""Quiet hours and the daily cap hold a push back into the inbox, with the reason, instead
of dropping it; a held-back offer is neither a push nor the offer's daily slot."""

from __future__ import annotations

from datetime import UTC, datetime, time

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from accounts.service import register_device
from kernel.config import Settings
from kernel.db import unit_of_work
from notifications.decide import Trigger
from notifications.models import Notification
from notifications.service import on_presence
from offers.models import Offer
from preferences.core import Purpose
from preferences.segments import segments_by_slug
from preferences.service import set_delivery_preferences
from presence.core import Transition
from stores.models import Store
from tests.factories import auth, consenting_user

DAY = datetime(2026, 11, 23, tzinfo=UTC)


def _at(hour: int, minute: int = 0) -> float:
    return DAY.replace(hour=hour, minute=minute).timestamp()


def _world(sessions: sessionmaker[Session], settings: Settings) -> tuple[int, int, str]:
    """A store with two offers; a London shopper (UTC in November) quiet 11:00-12:30,
    at most one push a day, with a phone."""
    with unit_of_work(sessions) as session:
        store = Store(name="Atelier")
        session.add(store)
        session.flush()
        for title in ("Boots", "Scarves"):
            session.add(
                Offer(
                    store_id=store.id,
                    title=title,
                    body="…",
                    segments=segments_by_slug(session, ["shoes"]),
                )
            )
        user, token = consenting_user(
            session, settings, timezone="Europe/London", interests=["shoes"]
        )
        set_delivery_preferences(
            session,
            user=user,
            max_per_day=1,
            quiet_hours=(time(11, 0), time(12, 30)),
            muted_store_ids=[],
            timezone=None,
        )
        register_device(session, user=user, token="phone", platform="ios")
        return store.id, user.id, token


def _enter(
    sessions: sessionmaker[Session], settings: Settings, user_id: int, store_id: int, at: float
) -> list[int]:
    enqueued: list[int] = []
    with unit_of_work(sessions) as session:
        notes = on_presence(
            session,
            user_id=user_id,
            triggers=[Trigger("geofence:1", store_id, Transition.ENTER, at)],
            purpose=Purpose.LOCATION_OFFERS,
            policy_version=settings.policy_version,
            enqueue=enqueued.append,
        )
        ids = [n.id for n in notes]
    assert enqueued == ids  # only pushes are enqueued
    return ids


def _inbox(sessions: sessionmaker[Session], user_id: int) -> list[tuple[str, str, str | None]]:
    with sessions() as session:
        rows = session.scalars(
            select(Notification).where(Notification.user_id == user_id).order_by(Notification.id)
        )
        return [(n.title, n.status, n.reason.get("suppressed")) for n in rows]


def test_quiet_hours_and_the_cap_are_recorded_not_dropped(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    store_id, user_id, token = _world(sessions, settings)

    # 12:00, quiet: nothing pushed, both offers held back with the reason (the newer
    # offer first: freshness, once priority and overlap tie).
    assert _enter(sessions, settings, user_id, store_id, _at(12)) == []
    held = [("Scarves", "suppressed", "quiet_hours"), ("Boots", "suppressed", "quiet_hours")]
    assert _inbox(sessions, user_id) == held
    # Pacing in and out during quiet hours does not fill the inbox.
    assert _enter(sessions, settings, user_id, store_id, _at(12, 10)) == []
    assert _inbox(sessions, user_id) == held

    # 13:00, quiet hours over: held-back decisions were neither pushes nor the offers'
    # daily slots, so the one push of the day goes out. The cap holds the other offer back,
    # already in the inbox for today, so not recorded a second time.
    [pushed] = _enter(sessions, settings, user_id, store_id, _at(13))
    inbox = _inbox(sessions, user_id)
    assert inbox[:2] == held
    assert inbox[2][1:] == ("pending", None)
    assert _enter(sessions, settings, user_id, store_id, _at(14)) == []
    assert len(_inbox(sessions, user_id)) == 3

    # The user sees them, each saying what happened.
    r = client.get("/v1/me/notifications", headers=auth(token))
    assert r.status_code == 200, r.text
    whys = {n["id"]: n["why"] for n in r.json()["items"]}
    quiet = [w for w in whys.values() if w.startswith("Not sent: it came during your quiet hours")]
    assert len(quiet) == 2
    assert whys[pushed].startswith("Not sent yet: delivery is in progress")


def test_the_daily_cap_records_what_it_held_back(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    store_id, user_id, _ = _world(sessions, settings)
    [_pushed] = _enter(sessions, settings, user_id, store_id, _at(9))
    statuses = sorted((status, why) for _, status, why in _inbox(sessions, user_id))
    assert statuses == [("pending", None), ("suppressed", "daily_cap")]
