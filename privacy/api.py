"""A user's data rights: see everything held about them, and erase it."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, status

from accounts.service import list_devices
from kernel.db import after_commit
from notifications.outbox import forget_outbox_tokens
from privacy import service
from privacy.schemas import ExportOut
from server.deps import CurrentUser, RuntimeDep, SessionDep

router = APIRouter(prefix="/v1", tags=["me"])


@router.get("/me/export", summary="Everything held about me, as JSON")
def export(session: SessionDep, user: CurrentUser, runtime: RuntimeDep) -> ExportOut:
    data = service.export_user(
        session,
        user_id=user.id,
        presence=runtime.presence,
        sightings=runtime.sightings,
        now=datetime.now(UTC),
    )
    return ExportOut.model_validate(data)


@router.delete(
    "/me",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Erase me: every personal row, push tokens and presence; the token stops working",
)
def erase(session: SessionDep, user: CurrentUser, runtime: RuntimeDep) -> None:
    tokens = [d.token for d in list_devices(session, user=user)]
    outbox = runtime.settings.outbox_path

    def forget_outbox() -> None:
        forget_outbox_tokens(outbox, tokens)

    after_commit(session, forget_outbox)
    service.erase_user(
        session,
        user_id=user.id,
        presence=runtime.presence,
        stores=(runtime.presence, runtime.sightings),
        client=runtime.redis,
    )
