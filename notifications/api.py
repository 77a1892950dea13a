"""A user's inbox, and the operator's view of the local outbox."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter

from kernel.ids import IdPath
from kernel.pagination import After, Limit, next_cursor
from notifications import service
from notifications.opened import open_notification
from notifications.outbox import read_outbox
from notifications.schemas import NotificationOut, NotificationPage, OutboxEntry
from server.deps import CurrentUser, Operator, RuntimeDep, SessionDep

router = APIRouter(tags=["notifications"])


@router.get("/v1/me/notifications", summary="My notifications, newest first, each with its reason")
def list_notifications(
    session: SessionDep,
    user: CurrentUser,
    after: After = 0,
    limit: Limit = 50,
) -> NotificationPage:
    """Newest first: `after=0` starts at the newest, `next_after` goes further back."""
    rows = service.list_notifications(session, user=user, after=after, limit=limit)
    return NotificationPage(
        items=[NotificationOut.of(r, user.locale) for r in rows],
        next_after=next_cursor([r.id for r in rows], limit),
    )


@router.get("/v1/me/notifications/{notification_id}", summary="One notification and why")
def get_notification(
    notification_id: IdPath, session: SessionDep, user: CurrentUser
) -> NotificationOut:
    note = service.get_notification(session, user=user, notification_id=notification_id)
    return NotificationOut.of(note, user.locale)


@router.post(
    "/v1/me/notifications/{notification_id}/opened",
    summary="Tell that I opened a push (idempotent)",
)
def notification_opened(
    notification_id: IdPath, session: SessionDep, user: CurrentUser
) -> NotificationOut:
    """The first call records when (and counts it for the store, anonymously); later calls
    answer the same. A notification never pushed (held back, or waiting for the end of
    quiet hours) cannot be opened: 409."""
    note = open_notification(
        session, user=user, notification_id=notification_id, now=datetime.now(UTC)
    )
    return NotificationOut.of(note, user.locale)


@router.get(
    "/v1/outbox",
    summary="Pushes written to the local outbox (no FCM credentials)",
    tags=["operator"],
)
def outbox(_staff: Operator, runtime: RuntimeDep, limit: Limit = 50) -> list[OutboxEntry]:
    entries = read_outbox(runtime.settings.outbox_path, limit)
    return [OutboxEntry.model_validate(e) for e in entries]
