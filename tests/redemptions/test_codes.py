"""Issuing and claiming codes through the service, on PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from kernel.config import Settings
from kernel.db import unit_of_work
from kernel.errors import Busy, Conflict, Invalid, NotFound
from offers.models import Offer
from privacy.service import purge
from redemptions import service
from redemptions.core import Kind
from redemptions.models import Code
from tests.redemptions.factories import Till, offer_code, pushed, spend_code, till

OFFER = {Kind.OFFER.value}


@pytest.fixture
def shop(client: TestClient, sessions: sessionmaker[Session], settings: Settings) -> Till:
    return till(client, sessions, settings)


def _claim(
    sessions: sessionmaker[Session],
    code: str,
    store_id: int,
    kinds: set[str] = OFFER,
    now: datetime | None = None,
) -> Code:
    with unit_of_work(sessions) as session:
        return service.claim(
            session, code=code, store_id=store_id, kinds=kinds, now=now or datetime.now(UTC)
        )


def _row(sessions: sessionmaker[Session], code: str) -> Code:
    with sessions() as session:
        return session.scalars(select(Code).where(Code.code == code)).one()


def test_one_code_per_pushed_offer_however_often_it_is_issued(
    sessions: sessionmaker[Session], shop: Till
) -> None:
    note = pushed(sessions, shop)
    first = offer_code(sessions, shop, notification_id=note)
    assert offer_code(sessions, shop, notification_id=note) == first
    other = offer_code(sessions, shop, notification_id=pushed(sessions, shop, days_ago=1))
    assert other != first
    with sessions() as session:
        assert session.scalar(select(func.count(Code.id))) == 2


def test_an_offer_code_expires_with_its_offer_or_after_30_days(
    sessions: sessionmaker[Session], shop: Till
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    ends = now + timedelta(days=2)
    assert _row(sessions, offer_code(sessions, shop, expires_at=ends)).expires_at == ends
    code = _row(sessions, offer_code(sessions, shop, now=now))
    assert code.expires_at == now + timedelta(days=30)
    assert code.kind == "offer"
    assert (code.offer_id, code.store_id, code.used_at) == (shop.offer_id, shop.store_id, None)


def test_a_claim_uses_the_code_once(sessions: sessionmaker[Session], shop: Till) -> None:
    code = offer_code(sessions, shop)
    at = datetime.now(UTC).replace(microsecond=0)
    used = _claim(sessions, code.lower(), shop.store_id, now=at)
    assert (used.code, used.used_at) == (code, at)
    assert _row(sessions, code).used_at == at
    with pytest.raises(Conflict, match=re.escape(f"already redeemed at {at.isoformat()}")):
        _claim(sessions, code, shop.store_id)


def test_another_stores_code_answers_like_an_unknown_one(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings, shop: Till
) -> None:
    code = offer_code(sessions, shop)
    elsewhere = till(client, sessions, settings, name="Elsewhere")
    with pytest.raises(NotFound) as theirs:
        _claim(sessions, code, elsewhere.store_id)
    with pytest.raises(NotFound) as unknown:
        _claim(sessions, "ZZZZ9999", elsewhere.store_id)
    assert str(theirs.value).replace(code, "ZZZZ9999") == str(unknown.value)
    with pytest.raises(NotFound, match="no such redemption code"):
        _claim(sessions, "not a code\x00", shop.store_id)
    assert _row(sessions, code).used_at is None


def test_an_expired_code_is_refused_with_when(sessions: sessionmaker[Session], shop: Till) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    code = offer_code(sessions, shop, expires_at=now - timedelta(minutes=1))
    when = (now - timedelta(minutes=1)).isoformat()
    with pytest.raises(Conflict, match=re.escape(f"code {code} expired at {when}")):
        _claim(sessions, code, shop.store_id, now=now)
    assert _row(sessions, code).used_at is None


def test_ending_the_offer_early_expires_its_codes(
    sessions: sessionmaker[Session], shop: Till
) -> None:
    code = offer_code(sessions, shop)
    ended = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
    with unit_of_work(sessions) as session:
        offer = session.get(Offer, shop.offer_id)
        assert offer is not None
        offer.ends_at = ended
    with pytest.raises(Conflict, match=re.escape(f"expired at {ended.isoformat()}")):
        _claim(sessions, code, shop.store_id)


def test_a_deleted_offers_code_cannot_be_used(sessions: sessionmaker[Session], shop: Till) -> None:
    code = offer_code(sessions, shop)
    with unit_of_work(sessions) as session:
        session.delete(session.get(Offer, shop.offer_id))
    with pytest.raises(Conflict, match="offer was withdrawn"):
        _claim(sessions, code, shop.store_id)


def test_a_code_is_claimed_only_where_its_kind_is_confirmed(
    sessions: sessionmaker[Session], shop: Till
) -> None:
    spend = spend_code(sessions, shop, points=120)
    refusal = f"{spend} is a code spending points; this confirms offer codes"
    with pytest.raises(Invalid, match=refusal):
        _claim(sessions, spend, shop.store_id)
    used = _claim(sessions, spend, shop.store_id, kinds={"spend"})
    assert (used.kind, used.points) == ("spend", 120)
    offer = offer_code(sessions, shop)
    with pytest.raises(Invalid, match="is an offer's code; this confirms purchase or spend codes"):
        _claim(sessions, offer, shop.store_id, kinds={"spend", "purchase"})


def test_spend_codes_and_purchase_tokens_live_fifteen_minutes(
    sessions: sessionmaker[Session], shop: Till
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    with unit_of_work(sessions) as session:
        token = service.issue_purchase_token(
            session, user_id=shop.user_id, store_id=shop.store_id, now=now
        )
        spend = service.issue_spend_code(
            session, user_id=shop.user_id, store_id=shop.store_id, points=5, now=now
        )
        with pytest.raises(Invalid, match="must be positive"):
            service.issue_spend_code(
                session, user_id=shop.user_id, store_id=shop.store_id, points=0, now=now
            )
    assert (token.kind, token.points, token.offer_id) == ("purchase", None, None)
    assert token.expires_at == spend.expires_at == now + timedelta(minutes=15)
    assert token.code != spend.code
    later = now + timedelta(minutes=16)
    with pytest.raises(Conflict, match="expired"):
        _claim(sessions, token.code, shop.store_id, kinds={"purchase"}, now=later)


def test_a_drawn_code_already_taken_is_drawn_again(
    sessions: sessionmaker[Session], shop: Till, monkeypatch: pytest.MonkeyPatch
) -> None:
    draws: Iterator[str] = iter(["AAAA2222", "AAAA2222", "BBBB3333"])
    monkeypatch.setattr(service, "new_code", lambda: next(draws))
    assert offer_code(sessions, shop) == "AAAA2222"
    assert offer_code(sessions, shop) == "BBBB3333"


def test_a_run_of_taken_codes_asks_to_retry_rather_than_looping(
    sessions: sessionmaker[Session], shop: Till, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "new_code", lambda: "AAAA2222")
    offer_code(sessions, shop)
    with pytest.raises(Busy, match="try again"):
        offer_code(sessions, shop)


def test_codes_that_expired_unused_are_purged_after_a_week(
    sessions: sessionmaker[Session], settings: Settings, shop: Till
) -> None:
    now = datetime.now(UTC)
    stale = offer_code(sessions, shop, expires_at=now - timedelta(days=8))
    recent = offer_code(sessions, shop, expires_at=now - timedelta(days=6))
    used = offer_code(sessions, shop, expires_at=now - timedelta(days=8, seconds=-60))
    _claim(sessions, used, shop.store_id, now=now - timedelta(days=9))
    with unit_of_work(sessions) as session:
        assert purge(session, now=now, settings=settings)["redemption_codes"] == 1
    with sessions() as session:
        left = set(session.scalars(select(Code.code)))
    assert left == {recent, used}
    assert stale not in left
