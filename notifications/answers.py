"""What the push service answered, onto the delivery rows: each device's outcome, the
notification's status, its retry with backoff (the third step of
:mod:`notifications.delivery`'s send-once claim, and :func:`settle` for answers whose first
recording failed)."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.service import drop_token
from events.core import PUSH_SENT
from events.service import NewEvent, emit_many
from kernel.metrics import count_push
from notifications.models import Delivery, Notification
from notifications.opened import count_delivered
from notifications.push import PushOutcome, PushResult

log = logging.getLogger(__name__)

BASE_BACKOFF_S = 5.0
MAX_BACKOFF_S = 3600.0
CLAIM_TIMEOUT_S = 900.0
"""Age after which a ``sending`` claim is deemed abandoned (its worker died): well beyond
one push batch with firebase-admin's HTTP timeout and in-process retries."""


def backoff_s(attempt: int, floor_s: float, rng: random.Random | None = None) -> float:
    """Exponential backoff with equal jitter (anywhere in ceiling/2..ceiling, so retries of
    many devices spread out), never below what the server asked for (Retry-After, the
    quota's minute).

    Not full jitter (0..ceiling): the attempts a device is given must span a known time,
    or an outage of FCM shorter than the backoff suggests uses them all up and the push is
    lost. With half of each wait fixed, the default 5 attempts span at least
    5 + 10 + 20 + 40 = 75 s (``tests/e2e/test_faults_fcm.py``)."""
    ceiling = min(MAX_BACKOFF_S, BASE_BACKOFF_S * 2**attempt)
    return max(floor_s, (rng or random).uniform(ceiling / 2, ceiling))


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    sent: int
    pending: int
    retry_after_s: float | None


Outcomes = dict[str, PushResult]
"""What the push service answered, by device token: kept by the caller so that a send
whose commit failed is recorded (:func:`settle`), never sent again."""


def locked_note(session: Session, notification_id: int) -> Notification | None:
    return session.scalar(
        select(Notification).where(Notification.id == notification_id).with_for_update()
    )


def record(
    session: Session,
    *,
    notification_id: int,
    claim_token: str,
    outcomes: Outcomes,
    max_attempts: int,
    now: datetime,
    sent: list[NewEvent],
    locked: Notification | None = None,
) -> DeliveryResult:
    """Record the answers for the rows this claim still holds, then the note's status;
    a ``push.sent`` event per device reached goes into ``sent``, for the caller to emit.
    ``locked``: the note when the caller locked it for a batch."""
    note = locked or locked_note(session, notification_id)
    if note is None:
        return DeliveryResult(0, 0, None)
    known = {d.token: d for d in note.deliveries}
    mine = {
        token: result
        for token, result in outcomes.items()
        if token in known
        and known[token].status == "sending"
        and known[token].message_id == claim_token
    }
    return _answer(session, note, known, mine, max_attempts, now, sent)


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
    note = locked_note(session, notification_id)
    if note is None:
        return DeliveryResult(0, 0, None)
    known = {d.token: d for d in note.deliveries}
    # Rows still claimed: the claim that sent them is the one whose answers these are,
    # unless it went stale and another worker claimed (and sent) again; either way the
    # device got it, and recording the first answer is right.
    answered = {t: r for t, r in outcomes.items() if t in known and known[t].status == "sending"}
    sent: list[NewEvent] = []
    result = _answer(session, note, known, answered, max_attempts, now, sent)
    emit_many(session, sent, now=now)
    return result


def _answer(
    session: Session,
    note: Notification,
    known: dict[str, Delivery],
    outcomes: Outcomes,
    max_attempts: int,
    now: datetime,
    sent: list[NewEvent],
) -> DeliveryResult:
    """Each answer onto its claimed delivery, then the note's status; a ``push.sent``
    event per device reached into ``sent``."""
    floor: float | None = None
    for token, result in outcomes.items():
        delivery = known[token]
        delivery.attempts += 1
        delivery.error_code = result.error_code
        delivery.message_id = result.message_id
        if result.outcome is PushOutcome.SENT:
            delivery.status = "sent"
            payload = {"notification_id": note.id, "offer_id": note.offer_id}
            sent.append(NewEvent(PUSH_SENT, note.store_id, note.user_id, payload, now))
            count_delivered(session, note, known.values(), now)
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
    # Claimed by another worker, not answered yet: still owed until that worker records.
    in_flight = [d for d in known.values() if d.status == "sending"]
    statuses = {d.status for d in known.values()}
    if not known:
        note.status = "no_device"
    elif "sent" in statuses:
        note.status = "sent" if not (retrying or in_flight) else "partial"
    else:
        note.status = "retrying" if (retrying or in_flight) else "failed"
    retry_after: float | None = None
    if retrying:
        retry_after = backoff_s(max(d.attempts for d in retrying), floor or 0.0)
    next_at = None if retry_after is None else now + timedelta(seconds=retry_after)
    if in_flight:
        # The sweeper comes back should that other worker die mid-send.
        stale_at = now + timedelta(seconds=CLAIM_TIMEOUT_S)
        next_at = stale_at if next_at is None else min(next_at, stale_at)
    note.next_attempt_at = next_at
    session.flush()
    reached = sum(1 for d in known.values() if d.status == "sent")
    return DeliveryResult(reached, len(retrying), retry_after)
