"""Delivery preferences: daily cap on the user's local day, quiet hours in their time zone,
muted stores; set through the API, enforced by the decision."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

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
from tests.factories import Shop, auth, clock, consenting_user, new_shopper, open_shop, visit
from tests.fcm_standin import FcmStandIn


def _put(client: TestClient, token: str, **body: Any) -> Any:
    return client.put("/v1/me/preferences", json=body, headers=auth(token))


@pytest.fixture
def street(client: TestClient, sessions: sessionmaker[Session]) -> list[Shop]:
    return [
        open_shop(client, sessions, name=f"Shop {i}", east_m=500.0 * i, segments=["fashion"])
        for i in range(2)
    ]


def test_preferences_round_trip(client: TestClient, settings: Settings, street: list[Shop]) -> None:
    token = new_shopper(client, settings)
    assert client.get("/v1/me/preferences", headers=auth(token)).json() == {
        "max_per_day": None,
        "quiet_hours": None,
        "muted_store_ids": [],
        "timezone": "Europe/Paris",
    }
    r = _put(
        client,
        token,
        max_per_day=2,
        quiet_hours={"start": "21:30", "end": "08:00"},
        muted_store_ids=[street[1].store_id, street[1].store_id],
        timezone="Asia/Tokyo",
    )
    assert r.status_code == 200, r.text
    expected = {
        "max_per_day": 2,
        "quiet_hours": {"start": "21:30:00", "end": "08:00:00"},
        "muted_store_ids": [street[1].store_id],
        "timezone": "Asia/Tokyo",
    }
    assert r.json() == expected
    assert client.get("/v1/me/preferences", headers=auth(token)).json() == expected
    # PUT replaces: what is not sent is cleared (the time zone stays).
    assert _put(client, token).json() == {
        "max_per_day": None,
        "quiet_hours": None,
        "muted_store_ids": [],
        "timezone": "Asia/Tokyo",
    }


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"muted_store_ids": [999_999]}, "unknown store 999999"),
        ({"quiet_hours": {"start": "22:00", "end": "22:00"}}, "same time"),
        ({"quiet_hours": {"start": "25:00", "end": "07:00"}}, "quiet_hours.start"),
        ({"quiet_hours": {"start": "22:00+02:00", "end": "07:00"}}, "local times"),
        ({"max_per_day": -1}, "max_per_day"),
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"mute": [1]}, "mute"),
    ],
)
def test_bad_preferences_are_refused(
    client: TestClient, settings: Settings, body: dict[str, Any], needle: str
) -> None:
    token = new_shopper(client, settings)
    r = _put(client, token, **body)
    assert r.status_code == 422, r.text
    assert needle in r.json()["detail"]
    assert client.get("/v1/me/preferences", headers=auth(token)).json()["quiet_hours"] is None


def test_a_muted_store_pushes_nothing(
    client: TestClient, settings: Settings, street: list[Shop], fcm_standin: FcmStandIn
) -> None:
    times = clock()
    token = new_shopper(client, settings, interests=["fashion"])
    assert _put(client, token, muted_store_ids=[street[0].store_id]).status_code == 200
    assert visit(client, token, street[0], next(times))["notifications"] == []
    assert len(visit(client, token, street[1], next(times))["notifications"]) == 1
    fcm_standin.wait_for(1, timeout=10)


def _hhmm(t: datetime) -> str:
    return t.strftime("%H:%M")


def test_quiet_hours_hold_in_the_users_time_zone(
    client: TestClient, settings: Settings, street: list[Shop]
) -> None:
    times = clock()
    token = new_shopper(client, settings, interests=["fashion"])  # Europe/Paris
    local_now = datetime.now(ZoneInfo("Europe/Paris"))
    around_now = {
        "start": _hhmm(local_now - timedelta(hours=1)),
        "end": _hhmm(local_now + timedelta(hours=1)),
    }
    assert _put(client, token, quiet_hours=around_now).status_code == 200
    assert visit(client, token, street[0], next(times))["notifications"] == []

    # The same wall-clock window in Kolkata (3.5 to 4.5 hours ahead of Paris) is not now.
    r = _put(client, token, quiet_hours=around_now, timezone="Asia/Kolkata")
    assert r.status_code == 200
    assert len(visit(client, token, street[1], next(times))["notifications"]) == 1


def test_the_daily_cap_holds_across_stores(
    client: TestClient, settings: Settings, street: list[Shop], fcm_standin: FcmStandIn
) -> None:
    times = clock()
    token = new_shopper(client, settings, interests=["fashion"])
    assert _put(client, token, max_per_day=1).status_code == 200
    assert len(visit(client, token, street[0], next(times))["notifications"]) == 1
    assert visit(client, token, street[1], next(times))["notifications"] == []
    fcm_standin.wait_for(1, timeout=10)
    assert fcm_standin.requests_count == 1


@pytest.mark.parametrize(
    ("earlier_push_on", "pushed"),
    [(date(2026, 11, 24), False), (date(2026, 11, 23), True)],
)
def test_the_daily_cap_counts_the_users_local_calendar_day(
    sessions: sessionmaker[Session], settings: Settings, earlier_push_on: date, pushed: bool
) -> None:
    # 11:00 UTC on the 23rd is 01:00 on the 24th in Kiritimati (UTC+14).
    at = datetime(2026, 11, 23, 11, 0, tzinfo=UTC).timestamp()
    with unit_of_work(sessions) as session:
        store = Store(name="Atoll Outfitters")
        session.add(store)
        session.flush()
        session.add(
            Offer(
                store_id=store.id,
                title="Reef shoes",
                body="…",
                segments=segments_by_slug(session, ["shoes"]),
            )
        )
        user, _ = consenting_user(
            session, settings, timezone="Pacific/Kiritimati", interests=["shoes"]
        )
        set_delivery_preferences(
            session, user=user, max_per_day=1, quiet_hours=None, muted_store_ids=[], timezone=None
        )
        session.add(
            Notification(
                user_id=user.id,
                offer_id=None,
                store_id=store.id,
                zone="geofence:1",
                trigger="enter",
                reason={},
                title="earlier",
                body="…",
                day=earlier_push_on,
            )
        )
        store_id, user_id = store.id, user.id
    with unit_of_work(sessions) as session:
        notes = on_presence(
            session,
            user_id=user_id,
            triggers=[Trigger("geofence:1", store_id, Transition.ENTER, at)],
            purpose=Purpose.LOCATION_OFFERS,
            policy_version=settings.policy_version,
            enqueue=lambda _id: None,
            store_cooldown_s=0,  # the daily cap alone: the same store pushed hours ago
        )
        assert [n.day for n in notes] == ([date(2026, 11, 24)] if pushed else [])
