"""From a recorded notification to its user's devices: at most once per device, never lost.

A notification is owed a delivery while it is ``pending`` or ``retrying``. The delivery
task is enqueued after commit; if that enqueue is lost (a broker blip, a worker killed,
Redis restarted without the message), :func:`sweep` enqueues it again once it is overdue.
Enqueueing twice is harmless: :func:`deliver` locks the row and sends only to devices whose
``Delivery`` is not sent yet, and returns at once for a notification no longer owed.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.models import Device
from accounts.service import drop_token
from events.core import PUSH_SENT
from events.service import emit
from kernel.config import Settings
from kernel.db import after_commit
from kernel.metrics import count_push
from notifications.models import OWED, Delivery, Notification
from notifications.push import PushMessage, PushOutcome, PushResult, PushSender
from offers.models import Offer
from redemptions import qr
from redemptions.service import buy_now_link, issue_offer_code

log = logging.getLogger(__name__)

BASE_BACKOFF_S = 5.0
MAX_BACKOFF_S = 3600.0
SWEEP_BATCH = 1000
"""Most notifications one sweep enqueues; the next sweep takes the rest."""


def backoff_s(attempt: int, floor_s: float) -> float:
    """Exponential backoff with full jitter, never below what the server asked for."""
    ceiling = min(MAX_BACKOFF_S, BASE_BACKOFF_S * 2**attempt)
    return max(floor_s, random.uniform(ceiling / 2, ceiling))


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    sent: int
    pending: int
    retry_after_s: float | None


def _data(session: Session, note: Notification, settings: Settings) -> dict[str, str]:
    """What the app receives beside the text. A pushed offer carries its one-time
    redemption code (issued here, once per notification: a retried delivery finds the
    same code), the text its QR code encodes and a buy-now deep link; a friend's look
    carries its id, for the app to open it."""
    data = {"notification_id": str(note.id), "offer_id": str(note.offer_id or "")}
    if note.deep_link:
        data["deep_link"] = note.deep_link
    if note.look_id is not None:
        data["look_id"] = str(note.look_id)
    offer = None if note.offer_id is None else session.get(Offer, note.offer_id)
    if offer is not None:
        code = issue_offer_code(
            session,
            user_id=note.user_id,
            store_id=offer.store_id,
            offer_id=offer.id,
            notification_id=note.id,
            expires_at=offer.ends_at,
        )
        data["redemption_code"] = code.code
        data["redemption_qr"] = qr.payload(code.code)
        data["buy_now"] = buy_now_link(settings, offer_id=offer.id, code=code.code)
    return data


def _message(note: Notification, token: str, data: dict[str, str]) -> PushMessage:
    kind = f"look-{note.look_id}" if note.look_id is not None else f"offer-{note.offer_id}"
    return PushMessage(token=token, title=note.title, body=note.body, data=data, collapse_key=kind)


Outcomes = dict[str, PushResult]
"""What the push service answered, by device token: kept by the caller so that a send
whose commit failed is recorded (:func:`settle`), never sent again."""


def _locked(session: Session, notification_id: int) -> Notification | None:
    return session.scalar(
        select(Notification).where(Notification.id == notification_id).with_for_update()
    )


def deliver(
    session: Session,
    *,
    notification_id: int,
    sender: PushSender,
    max_attempts: int,
    now: datetime,
    outcomes: Outcomes,
    settings: Settings,
) -> DeliveryResult:
    """Send a notification to each of its user's devices, at most once per device.

    The notification row is locked for the send, so a retried or duplicated task waits
    and then finds the deliveries already marked sent (or the notification no longer owed).
    ``outcomes`` receives the push service's answers as soon as they arrive.
    """
    note = _locked(session, notification_id)
    if note is None or note.status not in OWED:
        return DeliveryResult(0, 0, None)
    known = {d.token: d for d in note.deliveries}
    for device in session.scalars(select(Device).where(Device.user_id == note.user_id)):
        if device.token not in known:
            known[device.token] = Delivery(
                notification=note, token=device.token, status="pending", attempts=0
            )
            session.add(known[device.token])
    todo = [d for d in known.values() if d.status in ("pending", "retry")]
    if todo:
        data = _data(session, note, settings)
        results = sender.send([_message(note, d.token, data) for d in todo])
        outcomes.update(zip((d.token for d in todo), results, strict=True))
    return _apply(session, note, known, outcomes, max_attempts, now)


def settle(
    session: Session,
    *,
    notification_id: int,
    outcomes: Outcomes,
    max_attempts: int,
    now: datetime,
) -> DeliveryResult:
    """Record answers already received for a notification whose first commit failed
    (e.g. the database restarted between the send and the commit), without sending."""
    note = _locked(session, notification_id)
    if note is None:
        return DeliveryResult(0, 0, None)
    known = {d.token: d for d in note.deliveries}
    for token in outcomes.keys() - known.keys():
        known[token] = Delivery(notification=note, token=token, status="pending", attempts=0)
        session.add(known[token])
    return _apply(session, note, known, outcomes, max_attempts, now)


def _apply(
    session: Session,
    note: Notification,
    known: dict[str, Delivery],
    outcomes: Outcomes,
    max_attempts: int,
    now: datetime,
) -> DeliveryResult:
    """Each answer onto its delivery (still pending or retrying), then the note's status."""
    floor: float | None = None
    for token, result in outcomes.items():
        delivery = known[token]
        if delivery.status not in ("pending", "retry"):
            continue
        delivery.attempts += 1
        delivery.error_code = result.error_code
        if result.outcome is PushOutcome.SENT:
            delivery.status, delivery.message_id = "sent", result.message_id
            payload = {"notification_id": note.id, "offer_id": note.offer_id}
            emit(
                session,
                name=PUSH_SENT,
                store_id=note.store_id,
                user_id=note.user_id,
                payload=payload,
                at=now,
            )
        elif result.outcome is PushOutcome.DROP_TOKEN:
            delivery.status = "dropped"
            drop_token(session, token=delivery.token)
        elif result.outcome is PushOutcome.RETRY and delivery.attempts < max_attempts:
            delivery.status = "retry"
            floor = max(floor or 0.0, result.retry_after_s or 0.0)
        else:
            delivery.status = "failed"
            log.warning("push failed for notification %s: %s", note.id, result.error_code)
        # Counted as answered, committed or not: the push service has already acted on it.
        count_push(delivery.status)
    retrying = [d for d in known.values() if d.status == "retry"]
    statuses = {d.status for d in known.values()}
    if not known:
        note.status = "no_device"
    elif "sent" in statuses:
        note.status = "sent" if not retrying else "partial"
    else:
        note.status = "retrying" if retrying else "failed"
    retry_after: float | None = None
    if retrying:
        retry_after = backoff_s(max(d.attempts for d in retrying), floor or 0.0)
    note.next_attempt_at = None if retry_after is None else now + timedelta(seconds=retry_after)
    session.flush()
    sent = sum(1 for d in known.values() if d.status == "sent")
    return DeliveryResult(sent, len(retrying), retry_after)


def sweep(
    session: Session, *, now: datetime, age_s: float, enqueue: Callable[[int], None]
) -> list[int]:
    """Enqueue again the notifications overdue by ``age_s``; returns their ids.

    Each is marked due again ``age_s`` from now, so a backlog the workers are already
    draining is not enqueued on every sweep. Rows locked by a delivery in progress are
    skipped: that delivery settles them.
    """
    ids = list(
        session.scalars(
            select(Notification.id)
            .where(
                Notification.status.in_(OWED),
                Notification.next_attempt_at <= now - timedelta(seconds=age_s),
            )
            .order_by(Notification.next_attempt_at)
            .limit(SWEEP_BATCH)
            .with_for_update(skip_locked=True)
        )
    )
    for note in session.scalars(select(Notification).where(Notification.id.in_(ids))):
        note.next_attempt_at = now
    for notification_id in ids:
        after_commit(session, partial(enqueue, notification_id))
    if ids:
        log.info("sweeper re-enqueued %d overdue notifications", len(ids))
    return ids
