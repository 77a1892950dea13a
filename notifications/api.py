"""A user's inbox, and the operator's view of the local outbox."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from kernel.ids import MAX_ID, IdPath
from kernel.pagination import Limit
from notifications import service
from notifications.push import read_outbox
from notifications.schemas import NotificationOut, NotificationPage, OutboxEntry
from server.deps import CurrentUser, Operator, RuntimeDep, SessionDep

router = APIRouter(tags=["notifications"])


@router.get("/v1/me/notifications", summary="My notifications, newest first, each with its reason")
def list_notifications(
    session: SessionDep,
    user: CurrentUser,
    before: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Cursor: ids below this.")
    ] = None,
    limit: Limit = 50,
) -> NotificationPage:
    rows = service.list_notifications(session, user=user, before=before, limit=limit)
    return NotificationPage(
        items=[NotificationOut.of(r, user.locale) for r in rows],
        next_before=rows[-1].id if len(rows) == limit else None,
    )


@router.get("/v1/me/notifications/{notification_id}", summary="One notification and why")
def get_notification(
    notification_id: IdPath, session: SessionDep, user: CurrentUser
) -> NotificationOut:
    note = service.get_notification(session, user=user, notification_id=notification_id)
    return NotificationOut.of(note, user.locale)


@router.get(
    "/v1/outbox",
    summary="Pushes written to the local outbox (no FCM credentials)",
    tags=["operator"],
)
def outbox(_staff: Operator, runtime: RuntimeDep, limit: Limit = 50) -> list[OutboxEntry]:
    entries = read_outbox(runtime.settings.outbox_path, limit)
    return [OutboxEntry.model_validate(e) for e in entries]
