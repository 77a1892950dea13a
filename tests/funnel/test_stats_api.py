"""``GET /v1/stores/{id}/stats``: a store's funnel from the table and the counts not
flushed yet, scoped to its staff, anonymous, with its lift; bad ranges are 422s."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from funnel import counters
from funnel.core import HELD_OUT, REDEEMED, REDEEMED_HELD_OUT, SENT
from funnel.counters import RedisCounterStore
from funnel.tasks import flush_counts
from kernel.config import Settings
from kernel.principal import Role
from tests.factories import api_key, auth
from tests.funnel.factories import counted, notification
from tests.redemptions.factories import Till, till

NOW = datetime.now(UTC).replace(minute=30, second=0, microsecond=0)
EARLIER = NOW - timedelta(hours=2)


@pytest.fixture
def shop(client: TestClient, sessions: sessionmaker[Session], settings: Settings) -> Till:
    return till(client, sessions, settings, title="Boots -20%")


def stats(client: TestClient, key: str, store_id: int, **params: Any) -> Any:
    query = {
        "from": (NOW - timedelta(days=1)).isoformat(),
        "to": (NOW + timedelta(hours=1)).isoformat(),
        **params,
    }
    return client.get(f"/v1/stores/{store_id}/stats", params=query, headers=auth(key))


def test_flushed_and_fresh_counts_add_up_with_the_lift(
    client: TestClient, sessions: sessionmaker[Session], shop: Till
) -> None:
    assert isinstance(counters.current(), RedisCounterStore)
    counted(sessions, shop, {SENT: 100, REDEEMED: 10, HELD_OUT: 50}, at=EARLIER)
    flush_counts.delay()
    # Counted since the flush: still in Redis, and shown all the same.
    counted(sessions, shop, {REDEEMED_HELD_OUT: 2, SENT: 1}, at=NOW)

    r = stats(client, shop.staff, shop.store_id, granularity="hour")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["store_id"], body["granularity"]) == (shop.store_id, "hour")
    assert set(body) == {"store_id", "from", "to", "granularity", "subjects"}
    (offer,) = body["subjects"]
    assert (offer["subject"], offer["id"], offer["title"]) == ("offer", shop.offer_id, "Boots -20%")
    assert offer["totals"] == {SENT: 101, REDEEMED: 10, HELD_OUT: 50, REDEEMED_HELD_OUT: 2}
    assert [datetime.fromisoformat(b["start"]) for b in offer["series"]] == [
        EARLIER.replace(minute=0),
        NOW.replace(minute=0),
    ]
    assert offer["series"][1]["counts"] == {SENT: 1, REDEEMED_HELD_OUT: 2}
    lift = offer["lift"]
    assert lift["pushed_conversion"] == pytest.approx(10 / 101)
    assert lift["control_conversion"] == pytest.approx(2 / 50)
    assert lift["lift"] == pytest.approx((10 / 101 - 0.04) / 0.04)

    flush_counts.delay()
    again = stats(client, shop.staff, shop.store_id, granularity="hour").json()
    assert again["subjects"] == body["subjects"]  # flushed: the same numbers, from the table


def test_a_day_bucket_sums_its_hours(
    client: TestClient, sessions: sessionmaker[Session], shop: Till
) -> None:
    counted(sessions, shop, {SENT: 3}, at=NOW)
    counted(sessions, shop, {SENT: 2}, at=NOW - timedelta(minutes=31))
    r = stats(client, shop.staff, shop.store_id)  # granularity: day by default
    assert r.status_code == 200, r.text
    (offer,) = r.json()["subjects"]
    day = NOW.replace(hour=0, minute=0)
    in_buckets = sum(b["counts"][SENT] for b in offer["series"])
    assert in_buckets == 5
    assert all(datetime.fromisoformat(b["start"]).hour == 0 for b in offer["series"])
    assert datetime.fromisoformat(offer["series"][-1]["start"]) == day


def test_counts_outside_the_range_are_left_out(
    client: TestClient, sessions: sessionmaker[Session], shop: Till
) -> None:
    counted(sessions, shop, {SENT: 3}, at=NOW - timedelta(days=3))
    flush_counts.delay()
    counted(sessions, shop, {SENT: 1}, at=NOW - timedelta(days=3))
    assert stats(client, shop.staff, shop.store_id).json()["subjects"] == []


def test_store_staff_read_their_own_stores_only(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings, shop: Till
) -> None:
    other = till(client, sessions, settings, name="Other")
    counted(sessions, other, {SENT: 1}, at=NOW)
    r = stats(client, shop.staff, other.store_id)
    assert r.status_code == 404, r.text
    assert stats(client, other.staff, other.store_id).json()["subjects"][0]["totals"] == {SENT: 1}
    assert stats(client, shop.staff, shop.store_id).json()["subjects"] == []
    operator = api_key(sessions, Role.OPERATOR)
    assert stats(client, operator, other.store_id).status_code == 200
    assert stats(client, api_key(sessions, Role.TECH), other.store_id).status_code == 403
    assert stats(client, shop.token, shop.store_id).status_code == 403
    assert stats(client, operator, 999_999).status_code == 404


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"from": "2026-11-24T00:00:00", "to": "2026-11-25T00:00:00Z"}, "timezone"),
        ({"from": "2026-11-24T00:00:00Z", "to": "2026-11-24T00:00:00Z"}, "must be after"),
        ({"from": "2026-11-25T00:00:00Z", "to": "2026-11-24T00:00:00Z"}, "must be after"),
        ({"from": "2026-01-01T00:00:00Z", "to": "2026-04-03T00:00:01Z"}, "at most 92 days"),
        ({"from": "yesterday"}, "datetime"),
        ({"from": "0001-01-01T00:00:00+14:00", "to": "0001-01-02T00:00:00Z"}, "between"),
        ({"from": "9999-12-31T00:00:00Z", "to": "9999-12-31T23:59:59-14:00"}, "between"),
        ({"granularity": "week"}, "hour"),
    ],
)
def test_bad_ranges_are_422(
    client: TestClient, shop: Till, params: dict[str, str], detail: str
) -> None:
    r = stats(client, shop.staff, shop.store_id, **params)
    assert r.status_code == 422, r.text
    assert detail in r.text


def test_a_missing_bound_is_422(client: TestClient, shop: Till) -> None:
    r = client.get(
        f"/v1/stores/{shop.store_id}/stats",
        params={"from": NOW.isoformat()},
        headers=auth(shop.staff),
    )
    assert r.status_code == 422, r.text


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def test_the_stats_never_name_a_shopper(
    client: TestClient, sessions: sessionmaker[Session], shop: Till
) -> None:
    """Real notifications opened and redeemed behind the counts, yet the answer holds
    counts only: no key about a user, and neither the shopper's id nor token."""
    note = notification(sessions, shop)
    assert (
        client.post(f"/v1/me/notifications/{note}/opened", headers=auth(shop.token)).status_code
        == 200
    )
    counted(sessions, shop, {SENT: 1}, at=NOW)
    flush_counts.delay()
    r = stats(client, shop.staff, shop.store_id, granularity="hour")
    assert r.status_code == 200
    body = r.json()
    assert body["subjects"][0]["totals"] == {SENT: 1, "opened": 1}
    assert not {k for k in _keys(body) if "user" in k or "token" in k}
    assert shop.token not in r.text
