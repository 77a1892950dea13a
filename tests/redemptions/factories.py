"""The redemptions world: a store with its staff key and an offer, a shopper, and codes
issued to the shopper through the service (as the push delivery and rewards will)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from kernel.config import Settings
from kernel.db import unit_of_work
from kernel.principal import Role
from notifications.models import Notification
from redemptions import service
from tests.factories import api_key, consenting_user, new_offer, new_store


@dataclass(frozen=True, slots=True)
class Till:
    """A store, its staff key, one of its offers, and a shopper who may hold its codes."""

    store_id: int
    staff: str
    offer_id: int
    user_id: int
    token: str


def till(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    name: str = "Boutique",
    **offer: Any,
) -> Till:
    operator = api_key(sessions, Role.OPERATOR)
    store_id = new_store(client, operator, name)
    staff = api_key(sessions, Role.STORE, [store_id])
    offer_id = new_offer(client, staff, store_id, ["fashion"], **offer)
    with unit_of_work(sessions) as session:
        user, token = consenting_user(
            session, settings, timezone="Europe/Paris", interests=["fashion"]
        )
    return Till(store_id, staff, offer_id, user.id, token)


def shopper(sessions: sessionmaker[Session], settings: Settings) -> tuple[int, str]:
    """Another shopper: their id and token."""
    with unit_of_work(sessions) as session:
        user, token = consenting_user(session, settings, timezone="UTC", interests=["fashion"])
    return user.id, token


def pushed(sessions: sessionmaker[Session], t: Till, *, days_ago: int = 0) -> int:
    """A notification of the till's offer to its shopper ``days_ago`` (one a day, the cap):
    the id a code is issued for."""
    with unit_of_work(sessions) as session:
        note = Notification(
            user_id=t.user_id,
            offer_id=t.offer_id,
            store_id=t.store_id,
            zone="geofence:1",
            trigger="enter",
            reason={},
            title="-20% today",
            body="Show this at the till.",
            day=datetime.now(UTC).date() - timedelta(days=days_ago),
            status="sent",
        )
        session.add(note)
        session.flush()
        return note.id


def offer_code(
    sessions: sessionmaker[Session],
    t: Till,
    *,
    notification_id: int | None = None,
    expires_at: datetime | None = None,
    now: datetime | None = None,
) -> str:
    with unit_of_work(sessions) as session:
        code = service.issue_offer_code(
            session,
            user_id=t.user_id,
            store_id=t.store_id,
            offer_id=t.offer_id,
            notification_id=notification_id,
            expires_at=expires_at,
            now=now,
        )
        return code.code


def spend_code(sessions: sessionmaker[Session], t: Till, *, points: int = 50) -> str:
    with unit_of_work(sessions) as session:
        code = service.issue_spend_code(
            session, user_id=t.user_id, store_id=t.store_id, points=points, now=datetime.now(UTC)
        )
        return code.code
