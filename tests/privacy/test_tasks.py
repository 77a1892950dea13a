"""Retention: the hourly beat job purges old notifications, superseded consent lines and
lapsed activations, and keeps what is still needed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from accounts.service import register_user
from kernel.config import Settings
from kernel.db import unit_of_work
from notifications.models import Delivery, Notification
from preferences.models import Activation, ConsentRecord, Segment
from privacy.service import purge
from privacy.tasks import purge_expired
from server.celery import celery_app

NOW = datetime.now(UTC)


def _note(user_id: int, age: timedelta, title: str) -> Notification:
    note = Notification(
        user_id=user_id,
        offer_id=None,
        store_id=None,
        zone="geofence:1",
        trigger="enter",
        reason={},
        title=title,
        body="…",
        day=date(2026, 1, 1),
        created_at=NOW - age,
    )
    note.deliveries.append(Delivery(token=f"tok-{title}", status="sent", attempts=1))
    return note


def _consent(user_id: int, purpose: str, granted: bool, age: timedelta) -> ConsentRecord:
    return ConsentRecord(
        user_id=user_id,
        purpose=purpose,
        granted=granted,
        policy_version="2026-11",
        source="test",
        recorded_at=NOW - age,
    )


def _populate(sessions: sessionmaker[Session]) -> None:
    years = timedelta(days=4 * 365)
    with unit_of_work(sessions) as session:
        user, _ = register_user(session, locale="en", timezone="UTC")
        wine = session.scalars(select(Segment).where(Segment.slug == "wine")).one()
        session.add_all(
            [
                _note(user.id, timedelta(days=120), "old"),
                _note(user.id, timedelta(days=2), "fresh"),
                # Location: granted, withdrawn, granted again, all years ago.
                _consent(user.id, "location_offers", True, years + timedelta(days=2)),
                _consent(user.id, "location_offers", False, years + timedelta(days=1)),
                _consent(user.id, "location_offers", True, years),
                # Beacons: one old line, still the current state.
                _consent(user.id, "beacon_proximity", True, years),
                # Friends: superseded but recent.
                _consent(user.id, "friends_looks", True, timedelta(days=3)),
                _consent(user.id, "friends_looks", False, timedelta(days=2)),
                Activation(user_id=user.id, segment_id=wine.id, until=NOW - timedelta(hours=1)),
                Activation(user_id=user.id, segment_id=wine.id, until=NOW + timedelta(days=1)),
            ]
        )


def test_the_beat_job_purges_what_aged_out_and_keeps_the_rest(
    client: TestClient,  # noqa: ARG001 - its lifespan installs the runtime the task uses
    sessions: sessionmaker[Session],
) -> None:
    _populate(sessions)

    counts = purge_expired()

    assert counts["notifications"] == 1
    assert counts["consent_records"] == 2
    assert counts["activations"] == 1
    with sessions() as session:
        assert session.scalars(select(Notification.title)).all() == ["fresh"]
        assert session.scalars(select(Delivery.token)).all() == ["tok-fresh"]
        ledger = session.execute(
            select(ConsentRecord.purpose, ConsentRecord.granted).order_by(ConsentRecord.id)
        ).all()
        assert [tuple(r) for r in ledger] == [
            ("location_offers", True),
            ("beacon_proximity", True),
            ("friends_looks", True),
            ("friends_looks", False),
        ]
        assert len(session.scalars(select(Activation)).all()) == 1
    again = purge_expired()
    assert {k: again[k] for k in ("consent_records", "activations", "notifications")} == {
        "consent_records": 0,
        "activations": 0,
        "notifications": 0,
    }
    assert not any(again.values())  # other domains' purges found nothing either


def test_retention_periods_are_settings(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    _populate(sessions)
    strict = settings.model_copy(
        update={"notification_retention_days": 1, "consent_retention_days": 1}
    )
    with unit_of_work(sessions) as session:
        counts = purge(session, now=NOW, settings=strict)
    assert counts["notifications"] == 2
    assert counts["consent_records"] == 3  # the recent superseded friends_looks line too


def test_the_purge_is_scheduled() -> None:
    assert "privacy.purge" in celery_app.tasks
    schedule = celery_app.conf.beat_schedule["privacy.purge"]
    assert schedule["task"] == "privacy.purge"
    assert schedule["schedule"] <= 24 * 3600
