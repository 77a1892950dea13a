"""Campaign rules through the service and the database: budgets spent once across users,
schedules on the store's clock, the holdout recorded and never pushed, a deferred push
sent when quiet hours end (or cancelled if no longer wanted), and a place-bound push
withdrawn on the EXIT."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from accounts.models import User
from accounts.service import register_device
from kernel.config import Settings
from kernel.db import unit_of_work
from notifications import holdout
from notifications.decide import Trigger
from notifications.models import Notification
from notifications.service import on_presence
from offers.models import Offer, OfferBudget
from preferences.core import Purpose
from preferences.segments import segments_by_slug
from preferences.service import record_consent, set_delivery_preferences
from presence.core import Transition
from stores.models import Store
from tests.factories import auth, consenting_user
from tests.fcm_standin import FcmStandIn
from tests.notifications.factories import deliver_now

MONDAY = datetime(2026, 11, 23, tzinfo=UTC)


def _at(hour: float, day: int = 0) -> float:
    return (MONDAY + timedelta(days=day, hours=hour)).timestamp()


@pytest.fixture
def store_id(sessions: sessionmaker[Session]) -> int:
    with unit_of_work(sessions) as session:
        store = Store(name="Atelier", timezone="Europe/Paris")
        session.add(store)
        session.flush()
        return store.id


def _offer(sessions: sessionmaker[Session], store_id: int, **fields: Any) -> int:
    with unit_of_work(sessions) as session:
        offer = Offer(
            store_id=store_id,
            title=fields.pop("title", "Boots"),
            body="…",
            segments=segments_by_slug(session, ["shoes"]),
            **fields,
        )
        session.add(offer)
        session.flush()
        return offer.id


def _shopper(
    sessions: sessionmaker[Session], settings: Settings, *, quiet: bool = False
) -> tuple[int, str]:
    with unit_of_work(sessions) as session:
        user, token = consenting_user(session, settings, timezone="UTC", interests=["shoes"])
        if quiet:
            set_delivery_preferences(
                session,
                user=user,
                max_per_day=None,
                quiet_hours=(time(11, 0), time(13, 0)),
                muted_store_ids=[],
                timezone=None,
            )
        register_device(session, user=user, token=f"phone-{user.id}", platform="ios")
        return user.id, token


def _visit(
    sessions: sessionmaker[Session],
    settings: Settings,
    user_id: int,
    store_id: int,
    at: float,
    transition: Transition = Transition.ENTER,
) -> list[int]:
    enqueued: list[int] = []
    with unit_of_work(sessions) as session:
        notes = on_presence(
            session,
            user_id=user_id,
            triggers=[Trigger("geofence:1", store_id, transition, at)],
            purpose=Purpose.LOCATION_OFFERS,
            policy_version=settings.policy_version,
            enqueue=enqueued.append,
            store_cooldown_s=0.0,
        )
        ids = [n.id for n in notes]
    assert enqueued == ids
    return ids


def _rows(sessions: sessionmaker[Session], user_id: int) -> list[Notification]:
    with sessions() as session:
        query = select(Notification).where(Notification.user_id == user_id)
        return list(session.scalars(query.order_by(Notification.id)))


def test_a_budget_is_spent_once_across_users_and_per_store_day(
    sessions: sessionmaker[Session], settings: Settings, store_id: int
) -> None:
    offer_id = _offer(sessions, store_id, max_sends=2, max_sends_per_day=1)
    shoppers = [_shopper(sessions, settings)[0] for _ in range(4)]
    # Monday: the day's one send goes to the first shopper; the second is skipped, with
    # nothing in their inbox (the store's pacing is not the user's business).
    assert len(_visit(sessions, settings, shoppers[0], store_id, _at(10))) == 1
    assert _visit(sessions, settings, shoppers[1], store_id, _at(11)) == []
    assert _rows(sessions, shoppers[1]) == []
    # 23:30 UTC Monday is already Tuesday in Paris: the store's day, not UTC's.
    assert len(_visit(sessions, settings, shoppers[1], store_id, _at(23.5))) == 1
    # Two sent in all: the budget is spent for good.
    assert _visit(sessions, settings, shoppers[2], store_id, _at(10, day=2)) == []
    with sessions() as session:
        budget = session.get(OfferBudget, offer_id)
        assert budget is not None
        assert (budget.sent, budget.day_sent) == (2, 1)


def test_a_schedule_follows_the_store_s_clock(
    sessions: sessionmaker[Session], settings: Settings, store_id: int
) -> None:
    _offer(sessions, store_id, schedule={"days": [0], "start": "12:00", "end": "14:00"})
    early, on_time = (_shopper(sessions, settings)[0] for _ in range(2))
    # 11:30 UTC is 12:30 in Paris: open. 10:30 UTC (11:30 there) is not.
    assert _visit(sessions, settings, early, store_id, _at(10.5)) == []
    assert len(_visit(sessions, settings, on_time, store_id, _at(11.5))) == 1


def test_the_holdout_is_recorded_never_pushed_and_stable(
    sessions: sessionmaker[Session], settings: Settings, store_id: int
) -> None:
    offer_id = _offer(sessions, store_id, holdout_pct=50)
    shoppers = [_shopper(sessions, settings)[0] for _ in range(12)]
    expected = {u for u in shoppers if holdout.held_out(u, [(offer_id, 50)])}
    assert 0 < len(expected) < len(shoppers)  # both groups are represented
    for user_id in shoppers:
        pushed = _visit(sessions, settings, user_id, store_id, _at(10))
        [row] = _rows(sessions, user_id)
        if user_id in expected:
            assert (pushed, row.status, row.reason.get("held_out")) == ([], "held_out", True)
        else:
            assert (pushed, row.status) == ([row.id], "pending")
    # The next day, the same groups.
    again = {u for u in shoppers if not _visit(sessions, settings, u, store_id, _at(10, day=1))}
    assert again == expected


def test_a_held_out_shopper_sees_why_nothing_was_sent(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings, store_id: int
) -> None:
    offer_id = _offer(sessions, store_id, holdout_pct=50)
    for _ in range(20):
        user_id, token = _shopper(sessions, settings)
        if holdout.held_out(user_id, [(offer_id, 50)]):
            break
    assert _visit(sessions, settings, user_id, store_id, _at(10)) == []
    [item] = client.get("/v1/me/notifications", headers=auth(token)).json()["items"]
    assert item["why"].startswith("Not sent: you were drawn into the store's comparison group")


def test_quiet_hours_defer_an_unbound_offer_to_their_end_then_send_it(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    store_id: int,
    fcm_standin: FcmStandIn,
) -> None:
    _offer(sessions, store_id, place_bound=False, title="Scarves")
    _offer(sessions, store_id, title="Boots")  # place-bound: dropped, with its reason
    user_id, _ = _shopper(sessions, settings, quiet=True)
    assert _visit(sessions, settings, user_id, store_id, _at(12)) == []
    rows = {r.title: r for r in _rows(sessions, user_id)}
    assert (rows["Boots"].status, rows["Boots"].reason["suppressed"]) == (
        "suppressed",
        "quiet_hours",
    )
    deferred = rows["Scarves"]
    assert deferred.status == "deferred"
    assert deferred.next_attempt_at == datetime.fromtimestamp(_at(13), UTC)
    # Asked early (a duplicate task), nothing goes out; at the window's end, it does.
    deliver_now(client, sessions, deferred.id, now=datetime.fromtimestamp(_at(12.5), UTC))
    assert fcm_standin.messages == []
    deliver_now(client, sessions, deferred.id, now=datetime.fromtimestamp(_at(13), UTC))
    [message] = fcm_standin.messages
    assert message["notification"]["title"] == "Scarves"


def test_a_deferred_push_is_cancelled_when_consent_is_withdrawn_meanwhile(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    store_id: int,
    fcm_standin: FcmStandIn,
) -> None:
    _offer(sessions, store_id, place_bound=False)
    user_id, _ = _shopper(sessions, settings, quiet=True)
    _visit(sessions, settings, user_id, store_id, _at(12))
    [deferred] = _rows(sessions, user_id)
    with unit_of_work(sessions) as session:
        user = session.get(User, user_id)
        assert user is not None
        record_consent(
            session,
            user=user,
            choices={Purpose.LOCATION_OFFERS: False},
            policy_version=settings.policy_version,
            default_policy=settings.policy_version,
            source="test",
            app_version=None,
        )
    deliver_now(client, sessions, deferred.id, now=datetime.fromtimestamp(_at(13), UTC))
    assert fcm_standin.messages == []
    [row] = _rows(sessions, user_id)
    assert row.status == "cancelled"


def test_the_exit_withdraws_a_place_bound_push(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    store_id: int,
    fcm_standin: FcmStandIn,
) -> None:
    _offer(sessions, store_id, title="Boots")
    _offer(sessions, store_id, title="Scarves", place_bound=False)
    user_id, token = _shopper(sessions, settings)
    # Now, so that the push's own TTL (the expected visit) has not run out: only the EXIT
    # can have withdrawn it.
    now = datetime.now(UTC).timestamp()
    pushed = _visit(sessions, settings, user_id, store_id, now - 60)
    assert len(pushed) == 2
    _visit(sessions, settings, user_id, store_id, now, Transition.EXIT)
    rows = {r.title: r for r in _rows(sessions, user_id)}
    assert rows["Boots"].expired_at is not None
    assert rows["Scarves"].expired_at is None  # not place-bound: still useful
    # Not delivered yet when the EXIT came: it is never sent; the other one is.
    deliver_now(client, sessions, rows["Boots"].id)
    assert fcm_standin.messages == []
    deliver_now(client, sessions, rows["Scarves"].id)
    assert [m["notification"]["title"] for m in fcm_standin.messages] == ["Scarves"]
    statuses = {r.title: r.status for r in _rows(sessions, user_id)}
    assert statuses == {"Boots": "expired", "Scarves": "sent"}
    whys = {
        n["title"]: n["why"]
        for n in client.get("/v1/me/notifications", headers=auth(token)).json()["items"]
    }
    assert whys["Boots"].startswith("Expired: it was only useful during your visit")


def test_a_place_bound_push_past_its_visit_is_not_sent(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    store_id: int,
    fcm_standin: FcmStandIn,
) -> None:
    _offer(sessions, store_id)
    user_id, _ = _shopper(sessions, settings)
    [note_id] = _visit(sessions, settings, user_id, store_id, _at(10))
    late = datetime.fromtimestamp(_at(10) + settings.visit_s + 1, UTC)
    deliver_now(client, sessions, note_id, now=late)
    assert fcm_standin.messages == []
    assert _rows(sessions, user_id)[0].status == "expired"
