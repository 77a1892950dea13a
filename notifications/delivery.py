"""From a recorded notification to its user's devices: at most once per device, never lost.

A notification is owed a delivery while it is ``pending``, ``retrying`` or ``partial`` (or
``deferred``, once its quiet hours are over).
The delivery task is enqueued after commit; if that enqueue is lost (a broker blip, a
worker killed, Redis restarted without the message), :func:`sweep` enqueues it again once
it is overdue.

Send-once claim, per (notification, device): :func:`deliver` runs three steps and holds no
lock across the network call.

1. :func:`claim`, a short transaction: a conditional UPDATE moves the ``Delivery`` rows
   still owed (``pending``/``retry``) to ``sending``, stamping ``updated_at`` (the claim
   time) and a claim token (kept in ``message_id`` until the answer replaces it). Only one
   worker's UPDATE matches a row, so a duplicated or redelivered task finds nothing to send.
2. The push, outside any transaction.
3. :func:`notifications.answers.record`, a second short transaction: each answer onto the
   rows still carrying this claim. If that commit fails, the task keeps the answers and
   :func:`notifications.answers.settle` records them later, without sending again.

A ``sending`` row older than :data:`CLAIM_TIMEOUT_S` has no recorded outcome: its worker
died mid-send, and it is claimed again (the claim also pushes the notification's
``next_attempt_at`` past the timeout, so the sweeper comes back for it). The one window
left: a worker that dies after FCM accepted messages and before their batch's answers were
recorded (or held past the timeout) makes those messages go out twice (the whole batch
sent so far: answers are recorded per batch); the collapse key (APNs) and notification tag
(Android) keep the device from showing one twice. ``tests/e2e/test_worker_kill.py`` kills
a worker mid-batch and asserts exactly that: nothing lost, only what FCM had taken re-sent.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from itertools import islice

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, raiseload, selectinload, sessionmaker

from accounts.models import Device
from events.service import NewEvent, emit_many
from kernel.config import Settings
from kernel.db import after_commit, unit_of_work
from notifications.answers import (
    CLAIM_TIMEOUT_S,
    DeliveryResult,
    Outcomes,
    locked_note,
    record,
)
from notifications.messages import message, push_data
from notifications.models import CANCELLED, DEFERRED, EXPIRED, OWED, Delivery, Notification
from notifications.push import PushMessage, PushSender
from offers.models import Offer
from preferences.core import Purpose
from preferences.service import targeting_profile

log = logging.getLogger(__name__)

OWED_DELIVERY = ("pending", "retry")
SWEEP_BATCH = 1000
"""Most notifications one sweep enqueues; the next sweep takes the rest."""


def _lock_batch(session: Session, ids: Sequence[int]) -> dict[int, Notification]:
    """Lock a batch's notifications in id order (two workers with overlapping batches
    cannot deadlock), with their deliveries: two statements for the whole batch."""
    query = (
        select(Notification)
        .where(Notification.id.in_(ids))
        .order_by(Notification.id)
        .with_for_update()
        .options(selectinload(Notification.deliveries))
    )
    return {note.id: note for note in session.scalars(query)}


def _devices(session: Session, notes: Iterable[Notification]) -> dict[int, list[str]]:
    """The device tokens of the notes' users: one statement for a batch."""
    users = {note.user_id for note in notes}
    found: dict[int, list[str]] = {}
    if users:
        rows = session.execute(
            select(Device.user_id, Device.token).where(Device.user_id.in_(users))
        )
        for user_id, token in rows:
            found.setdefault(user_id, []).append(token)
    return found


def _not_yet(note: Notification, now: datetime) -> bool:
    """A push deferred past quiet hours, asked for early (a duplicate task)."""
    due = note.next_attempt_at
    return note.status == DEFERRED and due is not None and due > now


def _still_wanted(session: Session, note: Notification, now: datetime, settings: Settings) -> bool:
    """Whether the user would still be pushed this, hours after the decision."""
    profile = targeting_profile(
        session,
        user_id=note.user_id,
        purpose=Purpose(note.reason.get("purpose", Purpose.LOCATION_OFFERS)),
        default_policy=settings.policy_version,
        at=now.timestamp(),
    )
    matched = profile.segments & set(note.reason.get("segments", ()))
    return bool(matched) and note.store_id not in profile.muted_store_ids


def _expired(note: Notification, now: datetime) -> bool:
    return note.expired_at is not None or (note.expires_at is not None and note.expires_at <= now)


@dataclass(frozen=True, slots=True)
class Claim:
    """Deliveries this worker alone may send, and their messages."""

    token: str
    messages: list[PushMessage]


def claim(
    session: Session,
    *,
    notification_id: int,
    now: datetime,
    settings: Settings,
    locked: Notification | None = None,
    devices: list[str] | None = None,
) -> Claim | None:
    """Claim the notification's owed deliveries (one row per device of its user).

    The notification row is locked only for this short transaction: it serialises the
    creation of delivery rows and of the offer's redemption code. The claim itself is the
    conditional UPDATE, which only one worker wins per row. ``locked`` and ``devices``:
    the note and its user's tokens when the caller locked and read them for a batch.
    """
    note = locked or locked_note(session, notification_id)
    if note is None or note.status not in OWED or _not_yet(note, now):
        return None
    if _expired(note, now):
        # A place-bound push whose visit ended (EXIT, or its TTL) is not worth sending.
        note.status, note.next_attempt_at = EXPIRED, None
        return None
    if note.status == DEFERRED and not _still_wanted(session, note, now, settings):
        # Consent withdrawn (or the store muted) during the quiet hours it waited out.
        note.status, note.next_attempt_at = CANCELLED, None
        return None
    known = {d.token for d in note.deliveries}
    if devices is None:
        devices = list(session.scalars(select(Device.token).where(Device.user_id == note.user_id)))
    for token in devices:
        if token not in known:
            known.add(token)
            session.add(Delivery(notification=note, token=token, status="pending"))
    if not known:
        note.status, note.next_attempt_at = "no_device", None
        return None
    session.flush()
    claim_token = f"claim:{uuid.uuid4().hex}"
    stale = now - timedelta(seconds=CLAIM_TIMEOUT_S)
    tokens = list(
        session.scalars(
            update(Delivery)
            .where(
                Delivery.notification_id == notification_id,
                or_(
                    Delivery.status.in_(OWED_DELIVERY),
                    and_(Delivery.status == "sending", Delivery.updated_at < stale),
                ),
            )
            .values(status="sending", message_id=claim_token, updated_at=now)
            .returning(Delivery.token),
            execution_options={"synchronize_session": False},
        )
    )
    if not tokens:
        return None
    # Should this worker die mid-send, the sweeper comes back once the claim is stale.
    note.next_attempt_at = now + timedelta(seconds=CLAIM_TIMEOUT_S)
    # The offer's dates and store only: not its segments and geofences (two more selects
    # per push for what a push never reads).
    bare = (raiseload(Offer.segments), raiseload(Offer.geofences))
    offer = None if note.offer_id is None else session.get(Offer, note.offer_id, options=bare)
    data = push_data(session, note, offer, settings)
    session.flush()
    messages = [message(note, offer, token, data, now) for token in sorted(tokens)]
    return Claim(claim_token, messages)


def deliver(
    sessions: sessionmaker[Session],
    *,
    notification_id: int,
    sender: PushSender,
    max_attempts: int,
    now: datetime,
    outcomes: Outcomes,
    settings: Settings,
) -> DeliveryResult:
    """Send a notification to each of its user's devices, at most once per device.

    Claim, send, record: three steps, no transaction open during the send (see the module
    docstring). ``outcomes`` receives the push service's answers as soon as they arrive,
    for :func:`settle` should the recording commit fail.
    """
    results = deliver_many(
        sessions,
        notification_ids=[notification_id],
        sender=sender,
        max_attempts=max_attempts,
        now=now,
        outcomes={notification_id: outcomes},
        settings=settings,
    )
    return results[notification_id]


def deliver_many(
    sessions: sessionmaker[Session],
    *,
    notification_ids: Sequence[int],
    sender: PushSender,
    max_attempts: int,
    now: datetime,
    outcomes: dict[int, Outcomes],
    settings: Settings,
) -> dict[int, DeliveryResult]:
    """:func:`deliver` for several notifications with one ``sender.send`` call (which
    batches by FCM's limit of 500 messages). Claims and records each take one short
    transaction for all; notification rows are locked in id order, so two workers with
    overlapping lists cannot deadlock. ``outcomes`` receives the answers by notification.
    """
    ids = sorted(set(notification_ids))
    with unit_of_work(sessions) as session:
        notes = _lock_batch(session, ids)
        devices = _devices(session, notes.values())
        claims = {
            notification_id: claimed
            for notification_id, note in notes.items()
            if (
                claimed := claim(
                    session,
                    notification_id=notification_id,
                    now=now,
                    settings=settings,
                    locked=note,
                    devices=devices.get(note.user_id, []),
                )
            )
        }
    messages = [m for claimed in claims.values() for m in claimed.messages]
    answers = iter(sender.send(messages) if messages else [])
    for notification_id, claimed in claims.items():
        tokens = [m.token for m in claimed.messages]
        got = dict(zip(tokens, islice(answers, len(tokens)), strict=True))
        outcomes.setdefault(notification_id, {}).update(got)
    done = dict.fromkeys(ids, DeliveryResult(0, 0, None))
    with unit_of_work(sessions) as session:
        sent: list[NewEvent] = []
        notes = _lock_batch(session, list(claims)) if claims else {}
        for notification_id, claimed in claims.items():
            done[notification_id] = record(
                session,
                notification_id=notification_id,
                claim_token=claimed.token,
                outcomes=outcomes[notification_id],
                max_attempts=max_attempts,
                now=now,
                sent=sent,
                locked=notes.get(notification_id),
            )
        # The batch's push.sent events in two statements, not two per device.
        emit_many(session, sent, now=now)
    return done


def sweep(
    session: Session, *, now: datetime, age_s: float, enqueue: Callable[[int], None]
) -> list[int]:
    """Enqueue again the notifications overdue by ``age_s``; returns their ids.

    Each is marked due again ``age_s`` from now, so a backlog the workers are already
    draining is not enqueued on every sweep. Rows locked by a claim or a recording in
    progress are skipped; a send in progress has pushed its note's due time past the
    claim timeout.
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
