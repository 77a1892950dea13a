"""Queries of the event log and webhooks, scoped to the caller's stores
(``scope`` None: the whole fleet). Another store's row is simply not found."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, insert, literal, or_, select
from sqlalchemy.orm import Session

from events.models import Event, Webhook, WebhookDelivery, webhook_events
from kernel.db import UTCDateTime
from kernel.pagination import keyset

Scope = frozenset[int] | None


def _scoped(query: Select[Webhook], scope: Scope) -> Select[Webhook]:
    return query if scope is None else query.where(Webhook.store_id.in_(scope))


def webhooks(session: Session, *, scope: Scope, after: int, limit: int) -> list[Webhook]:
    query = _scoped(select(Webhook), scope)
    return list(session.scalars(keyset(query, Webhook.id, after=after, limit=limit)))


def webhook(session: Session, *, scope: Scope, webhook_id: int) -> Webhook | None:
    return session.scalar(_scoped(select(Webhook).where(Webhook.id == webhook_id), scope))


def subscribed(session: Session, webhook_ids: Sequence[int]) -> dict[int, list[str]]:
    names: dict[int, list[str]] = {i: [] for i in webhook_ids}
    rows = session.execute(
        select(webhook_events.c.webhook_id, webhook_events.c.name)
        .where(webhook_events.c.webhook_id.in_(webhook_ids))
        .order_by(webhook_events.c.name)
    )
    for webhook_id, name in rows:
        names[webhook_id].append(name)
    return names


def events(session: Session, *, scope: Scope, after: int, limit: int) -> list[Event]:
    query = select(Event)
    if scope is not None:
        query = query.where(Event.store_id.in_(scope))
    return list(session.scalars(keyset(query, Event.id, after=after, limit=limit)))


def dead_letters(
    session: Session, *, webhook_id: int, after: int, limit: int
) -> list[WebhookDelivery]:
    query = select(WebhookDelivery).where(
        WebhookDelivery.webhook_id == webhook_id, WebhookDelivery.status == "dead"
    )
    return list(session.scalars(keyset(query, WebhookDelivery.id, after=after, limit=limit)))


def deliveries(
    session: Session, *, webhook_id: int, status: str | None, after: int, limit: int
) -> list[WebhookDelivery]:
    """A webhook's deliveries, newest first (ids below the cursor ``after``; 0: newest)."""
    query = select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    page = keyset(query, WebhookDelivery.id, after=after, limit=limit, newest_first=True)
    return list(session.scalars(page))


def add_deliveries(session: Session, *, event_ids: Sequence[int], now: datetime) -> list[int]:
    """One delivery per (event, subscribed webhook), in one statement: the webhooks that
    name the event and cover its store (a store's, or the operator's fleet-wide one)."""
    chosen = (
        select(
            Webhook.id,
            Event.id,
            literal("pending"),
            literal(0),
            literal(now, UTCDateTime()),
            literal(now, UTCDateTime()),
        )
        .join(webhook_events, webhook_events.c.webhook_id == Webhook.id)
        .join(
            Event,
            (Event.name == webhook_events.c.name)
            & or_(Webhook.store_id.is_(None), Webhook.store_id == Event.store_id),
        )
        .where(Event.id.in_(event_ids))
    )
    columns = ["webhook_id", "event_id", "status", "attempts", "since", "next_attempt_at"]
    statement = insert(WebhookDelivery).from_select(columns, chosen).returning(WebhookDelivery.id)
    return list(session.scalars(statement))


def locked_delivery(session: Session, delivery_id: int) -> WebhookDelivery | None:
    return session.scalar(
        select(WebhookDelivery).where(WebhookDelivery.id == delivery_id).with_for_update()
    )


def due(session: Session, *, before: datetime, limit: int) -> list[WebhookDelivery]:
    """Pending deliveries due before ``before``; rows a delivery holds are skipped."""
    return list(
        session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= before)
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
