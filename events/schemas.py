"""Webhook subscriptions, dead letters and the event feed on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from events.core import EVENT_NAMES, SIGNATURE_HEADER
from events.models import Event, Webhook, WebhookDelivery
from kernel.ids import DbId
from kernel.text import no_control_chars

LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


def webhook_url(value: str) -> str:
    """HTTPS only, so the body and its signature are not readable on the way; plain HTTP
    only to this machine (a local receiver: development, tests). No credentials in it:
    the signature authenticates us to the receiver."""
    parts = urlsplit(value)
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host:
        raise ValueError("a webhook URL is https://host/…")
    if parts.scheme == "http" and host not in LOOPBACK:
        raise ValueError("a webhook URL must be https (plain http only to localhost)")
    if parts.username is not None or parts.password is not None:
        raise ValueError("a webhook URL carries no credentials")
    return value


def event_name(value: str) -> str:
    if value not in EVENT_NAMES:
        raise ValueError(f"unknown event {value!r}; known: {', '.join(sorted(EVENT_NAMES))}")
    return value


WebhookUrl = Annotated[
    str,
    StringConstraints(min_length=1, max_length=2000),
    AfterValidator(no_control_chars),
    AfterValidator(webhook_url),
]
EventName = Annotated[
    str, StringConstraints(min_length=1, max_length=64), AfterValidator(event_name)
]


class WebhookCreate(BaseModel):
    url: WebhookUrl
    events: list[EventName] = Field(min_length=1, max_length=len(EVENT_NAMES))
    store_id: DbId | None = Field(
        default=None,
        description="The store whose events it receives (a store key: one of its stores). "
        "Omitted: every store's (the operator only); only these carry user ids.",
    )


class WebhookOut(BaseModel):
    id: int
    store_id: int | None
    url: str
    events: list[str]
    created_at: datetime

    @classmethod
    def of(cls, hook: Webhook, events: list[str]) -> WebhookOut:
        return cls(
            id=hook.id,
            store_id=hook.store_id,
            url=hook.url,
            events=events,
            created_at=hook.created_at,
        )


class WebhookCreated(WebhookOut):
    secret: str = Field(
        description=f"Signs each delivery (the `{SIGNATURE_HEADER}` header); shown only now."
    )


class DeadLetterOut(BaseModel):
    id: int
    event_id: int
    attempts: int
    last_error: str | None
    since: datetime
    next_attempt_at: datetime

    @classmethod
    def of(cls, d: WebhookDelivery) -> DeadLetterOut:
        return cls(
            id=d.id,
            event_id=d.event_id,
            attempts=d.attempts,
            last_error=d.last_error,
            since=d.since,
            next_attempt_at=d.next_attempt_at,
        )


class DeliveryOut(DeadLetterOut):
    status: Literal["pending", "delivered", "dead"] = Field(
        description="`pending`: owed (retried with backoff until `next_attempt_at`); "
        "`delivered`: a 2xx came back; `dead`: 24 h of failures, replayable."
    )
    delivered_at: datetime | None

    @classmethod
    def of(cls, d: WebhookDelivery) -> DeliveryOut:
        return cls(
            **DeadLetterOut.of(d).model_dump(),
            status=d.status,
            delivered_at=d.delivered_at,
        )


class EventOut(BaseModel):
    id: int = Field(description="Unique and increasing: de-duplicate on it, page after it.")
    name: str
    at: datetime
    store_id: int | None
    user_id: int | None = Field(description="Only in the operator's view; null for stores.")
    data: dict[str, Any]

    @classmethod
    def of(cls, event: Event, *, with_user: bool) -> EventOut:
        return cls(
            id=event.id,
            name=event.name,
            at=event.at,
            store_id=event.store_id,
            user_id=event.user_id if with_user else None,
            data=event.payload,
        )
