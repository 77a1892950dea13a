"""Webhooks (operator and store staff) and the pull feed of the same events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, status

from events import service
from events.core import __doc__ as SIGNING
from events.schemas import (
    DeadLetterOut,
    DeliveryOut,
    EventOut,
    WebhookCreate,
    WebhookCreated,
    WebhookOut,
)
from kernel.ids import IdPath
from kernel.pagination import After, Limit, Page, next_cursor
from kernel.principal import Role
from server.deps import CurrentStaff, RuntimeDep, SessionDep

router = APIRouter(tags=["events"])


@router.post(
    "/v1/webhooks",
    status_code=status.HTTP_201_CREATED,
    summary="Subscribe a webhook endpoint to events",
    description=SIGNING,
)
def create_webhook(
    body: WebhookCreate, session: SessionDep, staff: CurrentStaff, runtime: RuntimeDep
) -> WebhookCreated:
    allow_private = runtime.settings.webhooks_reach_private
    hook, secret = service.create_webhook(
        session, staff=staff, data=body, allow_private=allow_private
    )
    out = WebhookOut.of(hook, sorted(set(body.events)))
    return WebhookCreated(**out.model_dump(), secret=secret)


@router.get("/v1/webhooks", summary="The webhooks of the caller's stores")
def list_webhooks(
    session: SessionDep, staff: CurrentStaff, after: After = 0, limit: Limit = 50
) -> Page[WebhookOut]:
    rows = service.list_webhooks(session, staff=staff, after=after, limit=limit)
    return Page(
        items=[WebhookOut.of(h, names) for h, names in rows],
        next_after=next_cursor([h.id for h, _ in rows], limit),
    )


@router.get("/v1/webhooks/{webhook_id}", summary="One webhook")
def get_webhook(webhook_id: IdPath, session: SessionDep, staff: CurrentStaff) -> WebhookOut:
    hook = service.get_webhook(session, staff=staff, webhook_id=webhook_id)
    return WebhookOut.of(hook, service.subscribed(session, webhook=hook))


@router.delete(
    "/v1/webhooks/{webhook_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Unsubscribe a webhook (its pending deliveries go with it)",
)
def delete_webhook(webhook_id: IdPath, session: SessionDep, staff: CurrentStaff) -> None:
    service.delete_webhook(session, staff=staff, webhook_id=webhook_id)


@router.get(
    "/v1/webhooks/{webhook_id}/dead-letters",
    summary="Deliveries that failed for 24 h: replay them once the receiver is fixed",
)
def dead_letters(
    webhook_id: IdPath,
    session: SessionDep,
    staff: CurrentStaff,
    after: After = 0,
    limit: Limit = 50,
) -> Page[DeadLetterOut]:
    rows = service.dead_letters(
        session, staff=staff, webhook_id=webhook_id, after=after, limit=limit
    )
    return Page(
        items=[DeadLetterOut.of(d) for d in rows],
        next_after=next_cursor([d.id for d in rows], limit),
    )


@router.get(
    "/v1/webhooks/{webhook_id}/deliveries",
    summary="A webhook's delivery log, newest first",
)
def list_deliveries(
    webhook_id: IdPath,
    session: SessionDep,
    staff: CurrentStaff,
    state: Annotated[Literal["pending", "delivered", "dead"] | None, Query(alias="status")] = None,
    after: After = 0,
    limit: Limit = 50,
) -> Page[DeliveryOut]:
    """Every delivery of the webhook's events (`?status=` to keep one state); `after` is
    the `next_after` of the previous page (0: the newest)."""
    rows = service.deliveries(
        session, staff=staff, webhook_id=webhook_id, status=state, after=after, limit=limit
    )
    return Page(
        items=[DeliveryOut.of(d) for d in rows],
        next_after=next_cursor([d.id for d in rows], limit),
    )


@router.post(
    "/v1/webhooks/{webhook_id}/dead-letters/{delivery_id}/replay",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Deliver a dead letter again (with a fresh 24 h of retries)",
)
def replay(
    webhook_id: IdPath, delivery_id: IdPath, session: SessionDep, staff: CurrentStaff
) -> DeadLetterOut:
    delivery = service.replay(
        session,
        staff=staff,
        webhook_id=webhook_id,
        delivery_id=delivery_id,
        now=datetime.now(UTC),
    )
    return DeadLetterOut.of(delivery)


@router.get(
    "/v1/events",
    summary="The event log, oldest first: the operator's all, a store key's its stores'",
)
def list_events(
    session: SessionDep, staff: CurrentStaff, after: After = 0, limit: Limit = 100
) -> Page[EventOut]:
    rows = service.feed(session, staff=staff, after=after, limit=limit)
    with_user = staff.role is Role.OPERATOR
    return Page(
        items=[EventOut.of(e, with_user=with_user) for e in rows],
        next_after=next_cursor([e.id for e in rows], limit),
    )
