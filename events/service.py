"""Emitting events, managing webhook subscriptions, the feed and the dead letters."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import delete, insert
from sqlalchemy.orm import Session

from events import repository, targets
from events.core import zone_event_name
from events.models import Event, Webhook, WebhookDelivery, webhook_events
from events.repository import Scope
from events.schemas import WebhookCreate
from kernel.db import after_commit
from kernel.errors import Conflict, Forbidden, NotFound
from kernel.principal import Role, Staff
from stores.models import Store


class ZoneEventLike(Protocol):
    """A presence transition (``presence.core.ZoneEvent``; presence sits above events)."""

    @property
    def zone(self) -> str: ...
    @property
    def transition(self) -> str: ...
    @property
    def at(self) -> float: ...
    @property
    def timeout(self) -> bool: ...
    @property
    def confidence(self) -> str: ...


@dataclass(frozen=True, slots=True)
class NewEvent:
    name: str
    store_id: int | None
    user_id: int | None
    payload: dict[str, Any]
    at: datetime


def emit_many(session: Session, events: Sequence[NewEvent], *, now: datetime) -> list[int]:
    """Append events to the log and owe each to its subscribed webhooks, in the caller's
    transaction: two statements whatever the number (the location hot path pays them).
    The deliveries are enqueued after commit; returns the event ids."""
    if not events:
        return []
    rows = [
        {
            "name": e.name,
            "store_id": e.store_id,
            "user_id": e.user_id,
            "payload": e.payload,
            "at": e.at,
        }
        for e in events
    ]
    ids = list(session.scalars(insert(Event).returning(Event.id), rows))
    deliveries = repository.add_deliveries(session, event_ids=ids, now=now)
    if deliveries:
        after_commit(session, lambda: _enqueue(deliveries))
    return ids


def emit(
    session: Session,
    *,
    name: str,
    store_id: int | None,
    user_id: int | None,
    payload: dict[str, Any],
    at: datetime,
) -> int:
    """Append one event (see :func:`emit_many`); returns its id."""
    return emit_many(session, [NewEvent(name, store_id, user_id, payload, at)], now=at)[0]


def _enqueue(delivery_ids: list[int]) -> None:
    # Imported here: the tasks module imports this one (and the Celery app) to deliver.
    from events.tasks import enqueue_delivery

    for delivery_id in delivery_ids:
        enqueue_delivery(delivery_id)


def scope_of(staff: Staff) -> Scope:
    """The stores whose events and webhooks a key sees: the operator all, a store key its
    own; a tech key none of them (it installs hardware, it does not watch shoppers)."""
    if staff.role is Role.OPERATOR:
        return None
    if staff.role is Role.STORE:
        return staff.store_ids
    raise Forbidden("events and webhooks are for the operator and store staff")


def create_webhook(
    session: Session, *, staff: Staff, data: WebhookCreate, allow_private: bool
) -> tuple[Webhook, str]:
    """Subscribe an endpoint; returns it and its signing secret (shown once). A host that
    is a non-public address is refused unless ``allow_private`` (see events.targets)."""
    targets.check_url(data.url, allow_private=allow_private)
    scope = scope_of(staff)
    if data.store_id is None:
        if scope is not None:
            raise Forbidden("a store key subscribes one of its stores: give store_id")
    elif (scope is not None and data.store_id not in scope) or session.get(
        Store, data.store_id
    ) is None:
        raise NotFound(f"no store {data.store_id}")
    secret = "whsec_" + secrets.token_urlsafe(32)
    hook = Webhook(store_id=data.store_id, url=data.url, secret=secret)
    session.add(hook)
    session.flush()
    names = sorted(set(data.events))
    session.execute(insert(webhook_events), [{"webhook_id": hook.id, "name": n} for n in names])
    return hook, secret


def list_webhooks(
    session: Session, *, staff: Staff, after: int, limit: int
) -> list[tuple[Webhook, list[str]]]:
    hooks = repository.webhooks(session, scope=scope_of(staff), after=after, limit=limit)
    names = repository.subscribed(session, [h.id for h in hooks])
    return [(h, names[h.id]) for h in hooks]


def get_webhook(session: Session, *, staff: Staff, webhook_id: int) -> Webhook:
    hook = repository.webhook(session, scope=scope_of(staff), webhook_id=webhook_id)
    if hook is None:
        raise NotFound(f"no webhook {webhook_id}")
    return hook


def subscribed(session: Session, *, webhook: Webhook) -> list[str]:
    return repository.subscribed(session, [webhook.id])[webhook.id]


def delete_webhook(session: Session, *, staff: Staff, webhook_id: int) -> None:
    hook = get_webhook(session, staff=staff, webhook_id=webhook_id)
    session.execute(delete(Webhook).where(Webhook.id == hook.id))


def dead_letters(
    session: Session, *, staff: Staff, webhook_id: int, after: int, limit: int
) -> list[WebhookDelivery]:
    hook = get_webhook(session, staff=staff, webhook_id=webhook_id)
    return repository.dead_letters(session, webhook_id=hook.id, after=after, limit=limit)


def deliveries(
    session: Session,
    *,
    staff: Staff,
    webhook_id: int,
    status: str | None,
    after: int,
    limit: int,
) -> list[WebhookDelivery]:
    hook = get_webhook(session, staff=staff, webhook_id=webhook_id)
    return repository.deliveries(
        session, webhook_id=hook.id, status=status, after=after, limit=limit
    )


def replay(
    session: Session, *, staff: Staff, webhook_id: int, delivery_id: int, now: datetime
) -> WebhookDelivery:
    """A dead letter owed again: a fresh 24 h of retries from now, enqueued after commit."""
    hook = get_webhook(session, staff=staff, webhook_id=webhook_id)
    delivery = repository.locked_delivery(session, delivery_id)
    if delivery is None or delivery.webhook_id != hook.id:
        raise NotFound(f"no delivery {delivery_id} for webhook {webhook_id}")
    if delivery.status != "dead":
        raise Conflict(f"delivery {delivery_id} is {delivery.status}, not a dead letter")
    delivery.status, delivery.attempts, delivery.last_error = "pending", 0, None
    delivery.since = delivery.next_attempt_at = now
    session.flush()
    after_commit(session, lambda: _enqueue([delivery.id]))
    return delivery


def feed(session: Session, *, staff: Staff, after: int, limit: int) -> list[Event]:
    return repository.events(session, scope=scope_of(staff), after=after, limit=limit)


def emit_zone_events(
    session: Session, *, user_id: int, events: Sequence[ZoneEventLike], stores: dict[str, int]
) -> list[int]:
    """Presence transitions as events, each with its zone's store (as the decision
    resolved it): called by the decision once it knows the user consented to the purpose."""
    now = datetime.now(UTC)
    rows = [
        NewEvent(
            name,
            stores.get(e.zone),
            user_id,
            {
                "zone": e.zone,
                "transition": str(e.transition),
                "timeout": e.timeout,
                "confidence": str(e.confidence),
            },
            datetime.fromtimestamp(e.at, UTC),
        )
        for e in events
        if (name := zone_event_name(e.zone, str(e.transition))) is not None
    ]
    return emit_many(session, rows, now=now)
