"""The embedded default runs on SQLite: migration 0015 applies and reverts there, and an
emitted event is owed to its subscribed webhooks (the one-statement fan-out)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, select

from accounts.models import User
from events import service
from events.models import WebhookDelivery
from events.schemas import WebhookCreate
from kernel.config import Settings
from kernel.db import make_engine, make_session_factory, unit_of_work
from kernel.principal import Role, Staff
from server.migrate import alembic_config, upgrade
from stores.models import Store

TABLES = {"events", "webhooks", "webhook_events", "webhook_deliveries"}


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(Settings(database_url=f"sqlite:///{tmp_path}/v.db", var_dir=tmp_path))
    upgrade(engine)
    yield engine
    engine.dispose()


def test_an_event_is_owed_to_matching_webhooks_on_sqlite(sqlite: Engine) -> None:
    sessions = make_session_factory(sqlite)
    operator = Staff(key_id=1, role=Role.OPERATOR, store_ids=frozenset())
    with unit_of_work(sessions) as session:
        store, other, user = Store(name="A"), Store(name="B"), User(token_hash="h")
        session.add_all([store, other, user])
        session.flush()
        url = "https://example.com/hook"
        for store_id, names in (
            (store.id, ["push.sent"]),
            (other.id, ["push.sent"]),
            (None, ["push.sent", "offer.redeemed"]),
            (store.id, ["offer.redeemed"]),
        ):
            data = WebhookCreate(url=url, events=names, store_id=store_id)
            service.create_webhook(session, staff=operator, data=data, allow_private=False)
        store_id, user_id = store.id, user.id
    # A bare session, never committed: its deliveries are owed, not enqueued to a worker.
    with sessions() as session:
        at = datetime.now(UTC)
        event_id = service.emit(
            session, name="push.sent", store_id=store_id, user_id=user_id, payload={}, at=at
        )
        owed = session.execute(
            select(WebhookDelivery.webhook_id, WebhookDelivery.event_id).order_by(
                WebhookDelivery.webhook_id
            )
        ).all()
    assert [tuple(r) for r in owed] == [(1, event_id), (3, event_id)]


def test_the_migration_reverts_on_sqlite(sqlite: Engine) -> None:
    assert set(inspect(sqlite).get_table_names()) >= TABLES
    with sqlite.begin() as conn:
        config = alembic_config()
        config.attributes["connection"] = conn
        command.downgrade(config, "0014")
    assert not TABLES & set(inspect(sqlite).get_table_names())
