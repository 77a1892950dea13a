"""From an owed delivery to the receiver: signed, retried with backoff, then dead.

A delivery is owed while ``pending``. Its task is enqueued after commit; a lost enqueue
(broker blip, killed worker) is covered by :func:`sweep`, which enqueues again the pending
deliveries overdue by a grace period. Enqueueing twice can deliver twice; receivers
de-duplicate on the event id, as every at-least-once webhook asks of them.

The HTTP client is :func:`events.targets.client`: it reaches public addresses only (unless
private targets are allowed), connects to the address it checked, and follows no
redirect, so a refused target is an attempt that failed with its reason, retried like any.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

import httpx
from sqlalchemy.orm import Session

from events import repository
from events.core import EVENT_ID_HEADER, SIGNATURE_HEADER, backoff_s, gives_up, signature
from events.models import Event, Webhook
from events.schemas import EventOut
from kernel.db import after_commit
from kernel.metrics import count_webhook_delivery

log = logging.getLogger(__name__)

TIMEOUT_S = 10.0
SWEEP_BATCH = 1000


@dataclass(frozen=True, slots=True)
class Attempted:
    status: str
    retry_in_s: float | None


NamesUser = Callable[[Session, int, int], bool]
"""Whether a store (second argument) may be told a user's id (first): the shopper's own
choice, read by the caller from their preferences at delivery time."""


def _never(_session: Session, _user_id: int, _store_id: int) -> bool:
    return False


def body(event: Event, *, with_user: bool) -> bytes:
    """What the receiver gets: the feed's form of the event, with the user id or not."""
    return EventOut.of(event, with_user=with_user).model_dump_json().encode()


def _names_user(session: Session, event: Event, webhook: Webhook, names_user: NamesUser) -> bool:
    """The operator's fleet-wide webhooks carry user ids; a store's only for a shopper who
    chose to be named to that store (and still consents, checked now)."""
    if webhook.store_id is None:
        return True
    return event.user_id is not None and names_user(session, event.user_id, webhook.store_id)


def attempt(
    session: Session,
    *,
    delivery_id: int,
    client: httpx.Client,
    now: datetime,
    names_user: NamesUser = _never,
) -> Attempted:
    """Try a pending delivery once and record the outcome: delivered on any 2xx, else the
    next try after a jittered backoff, or dead when that would pass 24 h of trying."""
    delivery = repository.locked_delivery(session, delivery_id)
    if delivery is None or delivery.status != "pending":
        return Attempted("gone" if delivery is None else delivery.status, None)
    hook = session.get(Webhook, delivery.webhook_id)
    event = session.get(Event, delivery.event_id)
    # Deliveries cascade with both their webhook and their event.
    assert hook is not None
    assert event is not None
    content = body(event, with_user=_names_user(session, event, hook, names_user))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Vicinity-Webhooks",
        SIGNATURE_HEADER: signature(hook.secret, int(now.timestamp()), content),
        EVENT_ID_HEADER: str(event.id),
    }
    error: str | None
    try:
        answer = client.post(hook.url, content=content, headers=headers, timeout=TIMEOUT_S)
        error = None if answer.is_success else f"HTTP {answer.status_code}"
    except httpx.HTTPError as failure:
        error = f"{type(failure).__name__}: {failure}"[:200]
    delivery.attempts += 1
    delivery.last_error = error
    retry_in: float | None = None
    if error is None:
        delivery.status, delivery.delivered_at = "delivered", now
    else:
        wait = backoff_s(delivery.attempts)
        if gives_up(age_s=(now - delivery.since).total_seconds(), next_in_s=wait):
            delivery.status = "dead"
            log.warning("webhook %s: delivery %s is dead (%s)", hook.id, delivery.id, error)
        else:
            retry_in = wait
            delivery.next_attempt_at = now + timedelta(seconds=wait)
    session.flush()
    count_webhook_delivery(
        "delivered" if error is None else "retry" if retry_in is not None else "gave_up"
    )
    return Attempted(delivery.status, retry_in)


def sweep(
    session: Session, *, now: datetime, grace_s: float, enqueue: Callable[[int], None]
) -> list[int]:
    """Enqueue again the pending deliveries overdue by ``grace_s``; returns their ids.

    Each is marked due again ``grace_s`` from now, so a backlog being drained is not
    enqueued on every sweep."""
    rows = repository.due(session, before=now - timedelta(seconds=grace_s), limit=SWEEP_BATCH)
    for delivery in rows:
        delivery.next_attempt_at = now
        after_commit(session, partial(enqueue, delivery.id))
    if rows:
        log.info("webhook sweep re-enqueued %d deliveries", len(rows))
    return [d.id for d in rows]
