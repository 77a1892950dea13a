from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from notifications.explain import explain
from notifications.models import Notification


class NotificationOut(BaseModel):
    id: int
    title: str
    body: str
    deep_link: str | None
    store_id: int | None
    offer_id: int | None
    zone: str
    trigger: str
    status: str
    reason: dict[str, Any]
    why: str
    created_at: datetime
    opened_at: datetime | None = Field(description="When the user first opened the push.")
    expires_at: datetime | None = Field(
        description="A place-bound push is useful until then (the expected visit)."
    )
    expired_at: datetime | None = Field(
        description="When the visit ended (the shopper left): the status is then `expired`."
    )

    @classmethod
    def of(cls, n: Notification, locale: str) -> NotificationOut:
        return cls(
            id=n.id,
            title=n.title,
            body=n.body,
            deep_link=n.deep_link,
            store_id=n.store_id,
            offer_id=n.offer_id,
            zone=n.zone,
            trigger=n.trigger,
            # The inbox shows a push whose visit ended as expired, whatever its delivery.
            status="expired" if n.expired_at is not None else n.status,
            reason=n.reason,
            why=explain(n, locale),
            created_at=n.created_at,
            opened_at=n.opened_at,
            expires_at=n.expires_at,
            expired_at=n.expired_at,
        )


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    next_after: int | None = Field(
        description="Pass as `after` for the next (older) page; null on the last page."
    )


class OutboxEntry(BaseModel):
    token: str
    title: str
    body: str
    data: dict[str, str]
    collapse_key: str
    sent_at: str
