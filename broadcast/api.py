"""Broadcasts: a store's flash offer to the consenting users present near it now."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, status

from broadcast import service
from broadcast.schemas import BroadcastCreate, BroadcastOut
from broadcast.tasks import enqueue_fan_out
from kernel.ids import IdPath
from kernel.pagination import After, Limit, Page, next_cursor
from server.deps import CurrentStaff, SessionDep

router = APIRouter(tags=["broadcasts"])


@router.post(
    "/v1/stores/{store_id}/broadcasts",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send a flash offer to the consenting users present near a store now",
)
def create_broadcast(
    store_id: IdPath, body: BroadcastCreate, session: SessionDep, staff: CurrentStaff
) -> BroadcastOut:
    """Accepted, not done: the audience is listed from live presence and decided in
    chunks in the background. Follow `links.self` for the status and counts."""
    row = service.create_broadcast(
        session,
        staff=staff,
        store_id=store_id,
        data=body,
        now=datetime.now(UTC),
        enqueue=enqueue_fan_out,
    )
    return BroadcastOut.of(row)


@router.get("/v1/stores/{store_id}/broadcasts", summary="A store's broadcasts, newest first")
def list_broadcasts(
    store_id: IdPath, session: SessionDep, staff: CurrentStaff, after: After = 0, limit: Limit = 50
) -> Page[BroadcastOut]:
    """Newest first: `after=0` starts at the newest, `next_after` goes further back."""
    rows = service.list_broadcasts(
        session, staff=staff, store_id=store_id, after=after, limit=limit
    )
    return Page(
        items=[BroadcastOut.of(r) for r in rows],
        next_after=next_cursor([r.id for r in rows], limit),
    )


@router.get(
    "/v1/stores/{store_id}/broadcasts/{broadcast_id}",
    summary="One broadcast: its status, progress and counts",
)
def get_broadcast(
    store_id: IdPath, broadcast_id: IdPath, session: SessionDep, staff: CurrentStaff
) -> BroadcastOut:
    row = service.get_broadcast(session, staff=staff, store_id=store_id, broadcast_id=broadcast_id)
    return BroadcastOut.of(row)
