"""Redemptions in the funnel: a redeemed offer code counts ``redeemed`` for its offer; a
shopper held out of an offer of the store in the last 7 days who redeems anything there
counts ``redeemed_held_out`` for the latest such offer, once per held-out decision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from funnel import counters
from funnel.core import REDEEMED, REDEEMED_HELD_OUT, hour_of
from kernel.config import Settings
from kernel.db import unit_of_work
from redemptions import service
from tests.factories import auth, new_offer
from tests.funnel.factories import notification
from tests.redemptions.factories import Till, offer_code, spend_code, till


@pytest.fixture
def shop(client: TestClient, sessions: sessionmaker[Session], settings: Settings) -> Till:
    return till(client, sessions, settings)


def _counts(store_id: int) -> dict[tuple[int, str], int]:
    """The store's counts of this hour, by offer and metric."""
    hour = hour_of(datetime.now(UTC))
    live = counters.current().unflushed(store_id=store_id, hours=[hour])
    return {(k.subject_id, k.metric): n for k, n in live.items()}


def _redeem_offer_code(client: TestClient, t: Till, code: str) -> None:
    r = client.post(
        f"/v1/stores/{t.store_id}/redemptions", json={"code": code}, headers=auth(t.staff)
    )
    assert r.status_code == 200, r.text


def _spend(sessions: sessionmaker[Session], t: Till) -> None:
    """The shopper spends points at the till (a redemption that is no offer's)."""
    code = spend_code(sessions, t)
    with unit_of_work(sessions) as session:
        service.claim(
            session, code=code, store_id=t.store_id, kinds={"spend"}, now=datetime.now(UTC)
        )


def test_a_redeemed_offer_code_counts_for_its_offer(
    client: TestClient, sessions: sessionmaker[Session], shop: Till
) -> None:
    note_id = notification(sessions, shop)
    _redeem_offer_code(client, shop, offer_code(sessions, shop, notification_id=note_id))
    assert _counts(shop.store_id) == {(shop.offer_id, REDEEMED): 1}


def test_a_held_out_shopper_who_buys_anyway_converts_the_control_group_once(
    sessions: sessionmaker[Session], shop: Till
) -> None:
    two_days_ago = datetime.now(UTC) - timedelta(days=2)
    notification(sessions, shop, status="held_out", created_at=two_days_ago)
    _spend(sessions, shop)
    assert _counts(shop.store_id) == {(shop.offer_id, REDEEMED_HELD_OUT): 1}
    _spend(sessions, shop)  # the same held-out decision converts once
    assert _counts(shop.store_id) == {(shop.offer_id, REDEEMED_HELD_OUT): 1}


def test_the_latest_holdout_takes_the_conversion(
    client: TestClient, sessions: sessionmaker[Session], shop: Till
) -> None:
    now = datetime.now(UTC)
    notification(sessions, shop, status="held_out", created_at=now - timedelta(days=3))
    later_offer = new_offer(client, shop.staff, shop.store_id, ["fashion"], title="Scarves")
    latest = Till(shop.store_id, shop.staff, later_offer, shop.user_id, shop.token)
    notification(sessions, latest, status="held_out", created_at=now - timedelta(days=1))
    code = offer_code(sessions, shop)
    _redeem_offer_code(client, shop, code)
    assert _counts(shop.store_id) == {
        (shop.offer_id, REDEEMED): 1,
        (later_offer, REDEEMED_HELD_OUT): 1,
    }


def test_an_old_or_elsewhere_holdout_converts_nothing(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings, shop: Till
) -> None:
    eight_days_ago = datetime.now(UTC) - timedelta(days=8)
    notification(sessions, shop, status="held_out", created_at=eight_days_ago)
    elsewhere = till(client, sessions, settings, name="Elsewhere")
    notification(sessions, elsewhere, status="held_out", user_id=shop.user_id)
    notification(sessions, shop, status="suppressed")  # not held out: no control group
    _spend(sessions, shop)
    assert _counts(shop.store_id) == {}
    assert _counts(elsewhere.store_id) == {}


def test_a_refused_redemption_counts_nothing(
    client: TestClient, sessions: sessionmaker[Session], shop: Till
) -> None:
    notification(sessions, shop, status="held_out")
    code = offer_code(sessions, shop)
    _redeem_offer_code(client, shop, code)
    r = client.post(
        f"/v1/stores/{shop.store_id}/redemptions", json={"code": code}, headers=auth(shop.staff)
    )
    assert r.status_code == 409
    assert _counts(shop.store_id) == {
        (shop.offer_id, REDEEMED): 1,
        (shop.offer_id, REDEEMED_HELD_OUT): 1,
    }
