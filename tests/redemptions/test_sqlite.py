"""The embedded default runs on SQLite: migration 0011 applies and reverts there, and
codes are issued (once per notification) and claimed once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, inspect
from sqlalchemy.orm import Session, sessionmaker

from accounts.models import User
from kernel.config import Settings
from kernel.db import make_engine, make_session_factory, unit_of_work
from kernel.errors import Conflict, NotFound
from notifications.models import Notification
from offers.models import Offer
from redemptions import service
from server.migrate import alembic_config, upgrade
from stores.models import Store


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(Settings(database_url=f"sqlite:///{tmp_path}/v.db", var_dir=tmp_path))
    upgrade(engine)
    yield engine
    engine.dispose()


def _world(sessions: sessionmaker[Session]) -> tuple[int, int, int, int]:
    with unit_of_work(sessions) as session:
        store, user = Store(name="A"), User(token_hash="h")
        session.add_all([store, user])
        session.flush()
        offer = Offer(store_id=store.id, title="t", body="b")
        session.add(offer)
        session.flush()
        note = Notification(
            user_id=user.id,
            offer_id=offer.id,
            store_id=store.id,
            zone="geofence:1",
            trigger="enter",
            reason={},
            title="t",
            body="b",
            day=date(2026, 11, 23),
        )
        session.add(note)
        session.flush()
        return user.id, store.id, offer.id, note.id


def test_issue_and_claim_on_sqlite(sqlite: Engine) -> None:
    sessions = make_session_factory(sqlite)
    user_id, store_id, offer_id, note_id = _world(sessions)
    now = datetime.now(UTC)
    with unit_of_work(sessions) as session:
        issue = {"user_id": user_id, "store_id": store_id, "offer_id": offer_id}
        code = service.issue_offer_code(
            session, **issue, notification_id=note_id, expires_at=None
        ).code
        again = service.issue_offer_code(session, **issue, notification_id=note_id, expires_at=None)
        assert again.code == code
        token = service.issue_purchase_token(session, user_id=user_id, store_id=store_id, now=now)
    with unit_of_work(sessions) as session:
        used = service.claim(session, code=code, store_id=store_id, kinds={"offer"}, now=now)
        assert used.used_at == now
    with unit_of_work(sessions) as session, pytest.raises(Conflict, match="already redeemed"):
        service.claim(session, code=code, store_id=store_id, kinds={"offer"}, now=now)
    with unit_of_work(sessions) as session, pytest.raises(NotFound):
        service.claim(session, code=token.code, store_id=store_id + 1, kinds={"purchase"}, now=now)


def test_the_migration_reverts_on_sqlite(sqlite: Engine) -> None:
    assert "redemption_codes" in inspect(sqlite).get_table_names()
    indexes = {i["name"] for i in inspect(sqlite).get_indexes("redemption_codes")}
    assert "uq_redemption_codes_notification" in indexes
    with sqlite.begin() as conn:
        config = alembic_config()
        config.attributes["connection"] = conn
        command.downgrade(config, "0010")
    assert "redemption_codes" not in inspect(sqlite).get_table_names()
