"""``POST /v1/me/notifications/{id}/opened``: once per notification (``push.opened``, the
``opened`` count), the same answer after; never another user's, never a push not sent.
And ``delivered``: counted once, when the first of the user's phones accepts the push."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from events.core import PUSH_OPENED
from events.models import Event
from funnel import counters
from funnel.core import DELIVERED, OPENED, CountKey, hour_of
from kernel.config import Settings
from kernel.db import unit_of_work
from notifications.models import Notification
from tests.factories import auth, clock, new_shopper, open_shop, visit
from tests.funnel.factories import notification
from tests.redemptions.factories import Till, shopper, till


@pytest.fixture
def shop(client: TestClient, sessions: sessionmaker[Session], settings: Settings) -> Till:
    return till(client, sessions, settings)


def _open(client: TestClient, token: str, note_id: int) -> httpx.Response:
    response: httpx.Response = client.post(
        f"/v1/me/notifications/{note_id}/opened", headers=auth(token)
    )
    return response


def _count(store_id: int, subject_id: int, metric: str, at: datetime) -> int:
    hour = hour_of(at)
    live = counters.current().unflushed(store_id=store_id, hours=[hour])
    return live.get(CountKey(hour, store_id, "offer", subject_id, metric), 0)


def _events(sessions: sessionmaker[Session], name: str) -> list[Event]:
    with sessions() as session:
        return list(session.scalars(select(Event).where(Event.name == name)))


def test_opening_is_recorded_counted_and_announced_once(
    client: TestClient, sessions: sessionmaker[Session], shop: Till
) -> None:
    note_id = notification(sessions, shop)
    first = _open(client, shop.token, note_id)
    assert first.status_code == 200, first.text
    body = first.json()
    opened_at = datetime.fromisoformat(body["opened_at"])
    assert opened_at.tzinfo is not None
    assert abs(datetime.now(UTC) - opened_at) < timedelta(minutes=5)
    again = _open(client, shop.token, note_id)
    assert (again.status_code, again.json()) == (200, body)

    assert _count(shop.store_id, shop.offer_id, OPENED, opened_at) == 1
    [event] = _events(sessions, PUSH_OPENED)
    assert (event.store_id, event.user_id) == (shop.store_id, shop.user_id)
    assert event.payload == {"notification_id": note_id, "offer_id": shop.offer_id, "look_id": None}
    inbox = client.get(f"/v1/me/notifications/{note_id}", headers=auth(shop.token)).json()
    assert inbox["opened_at"] == body["opened_at"]


def test_another_users_notification_is_not_found(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings, shop: Till
) -> None:
    note_id = notification(sessions, shop)
    _, stranger = shopper(sessions, settings)
    r = _open(client, stranger, note_id)
    assert r.status_code == 404, r.text
    assert _open(client, shop.token, 999_999).status_code == 404
    assert _events(sessions, PUSH_OPENED) == []


@pytest.mark.parametrize(
    ("status", "why"),
    [
        ("suppressed", "held back by your delivery preferences"),
        ("held_out", "kept back for comparison"),
        ("deferred", "quiet hours"),
    ],
)
def test_a_push_never_sent_cannot_be_opened(
    client: TestClient, sessions: sessionmaker[Session], shop: Till, status: str, why: str
) -> None:
    note_id = notification(sessions, shop, status=status)
    r = _open(client, shop.token, note_id)
    assert r.status_code == 409, r.text
    assert why in r.json()["detail"]
    with sessions() as session:
        note = session.get(Notification, note_id)
        assert note is not None
        assert note.opened_at is None
    assert _count(shop.store_id, shop.offer_id, OPENED, datetime.now(UTC)) == 0


def test_the_inbox_shows_a_visit_that_ended_as_expired(
    client: TestClient, sessions: sessionmaker[Session], shop: Till
) -> None:
    note_id = notification(sessions, shop)
    ends = datetime.now(UTC) + timedelta(minutes=30)
    left = datetime.now(UTC)
    with unit_of_work(sessions) as session:
        note = session.get(Notification, note_id)
        assert note is not None
        note.place_bound, note.expires_at, note.expired_at = True, ends, left
    body = client.get(f"/v1/me/notifications/{note_id}", headers=auth(shop.token)).json()
    assert body["status"] == "expired"
    assert datetime.fromisoformat(body["expires_at"]) == ends
    assert datetime.fromisoformat(body["expired_at"]) == left


def test_delivered_is_counted_once_however_many_phones(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    shop = open_shop(client, sessions, name="Atelier", east_m=0.0, segments=["fashion"])
    token = new_shopper(client, settings, interests=["fashion"], device="phone")
    r = client.post(
        "/v1/me/devices", json={"token": "tablet", "platform": "ios"}, headers=auth(token)
    )
    assert r.status_code == 201, r.text
    at = next(clock(start_s_ago=30))
    [note_id] = visit(client, token, shop, at)["notifications"]
    with sessions() as session:
        note = session.get(Notification, note_id)
        assert note is not None
        assert note.status == "sent"
        assert {d.status for d in note.deliveries} == {"sent"}
        assert len(note.deliveries) == 2
    assert _count(shop.store_id, shop.offer_id, DELIVERED, datetime.now(UTC)) == 1
