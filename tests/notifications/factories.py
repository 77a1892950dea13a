"""The delivery tests' usual world: a shopper with devices, a notification owed to them
(recorded as the decision records one, not delivered yet), and its delivery now."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from accounts.models import Device
from accounts.service import user_for_token
from kernel.config import Settings
from kernel.db import unit_of_work
from notifications.answers import DeliveryResult
from notifications.delivery import deliver
from notifications.models import Notification
from notifications.push import PushSender
from tests.factories import new_shopper


def notification(user_id: int, **fields: Any) -> Notification:
    """A pending notification for ``user_id``, with no offer behind it."""
    return Notification(
        user_id=user_id,
        zone="geofence:1",
        trigger="enter",
        reason={},
        title="t",
        body="b",
        day=datetime.now(UTC).date(),
        **fields,
    )


def owed(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    devices: Sequence[str] = ("phone",),
    due: datetime | None = None,
) -> int:
    """A shopper (signed up through the API with the first of ``devices``) holding
    ``devices``, and one notification owed to them, due at ``due`` (default: now); its id."""
    token = new_shopper(client, settings, interests=["fashion"], device=devices[0])
    with unit_of_work(sessions) as session:
        user_id = user_for_token(session, token).id
        session.add_all(Device(user_id=user_id, token=t, platform="android") for t in devices[1:])
        note = notification(user_id, **({} if due is None else {"next_attempt_at": due}))
        session.add(note)
        session.flush()
        return note.id


def deliver_now(
    client: TestClient,
    sessions: sessionmaker[Session],
    note_id: int,
    *,
    now: datetime | None = None,
    sender: PushSender | None = None,
) -> DeliveryResult:
    """One delivery attempt as the worker makes it, through the app's sender by default."""
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    return deliver(
        sessions,
        notification_id=note_id,
        sender=sender or runtime.push,
        max_attempts=runtime.settings.push_max_retries,
        now=now or datetime.now(UTC),
        outcomes={},
        settings=runtime.settings,
    )
