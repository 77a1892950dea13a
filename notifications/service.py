"""From presence events to recorded notifications, and from notifications to devices."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from accounts.models import Device, User
from accounts.service import drop_token
from notifications.decide import Decision, Trigger, decide
from notifications.models import Delivery, Notification
from notifications.push import PushMessage, PushOutcome, PushSender
from offers.models import Offer
from offers.service import offer_rules
from preferences.service import Purpose, targeting_profile
from presence.core import Transition
from server.db import after_commit
from server.errors import NotFound
from stores.models import Store

log = logging.getLogger(__name__)

Enqueue = Callable[[int], None]


def _day(at: float) -> date:
    return datetime.fromtimestamp(at, UTC).date()


def _sent_today(session: Session, user_id: int, day: date) -> frozenset[int]:
    rows = session.scalars(
        select(Notification.offer_id).where(
            Notification.user_id == user_id, Notification.day == day
        )
    )
    return frozenset(r for r in rows if r is not None)


def _record(session: Session, user_id: int, decision: Decision, at: float) -> Notification | None:
    offer = session.get(Offer, decision.offer_id)
    store = session.get(Store, decision.store_id)
    if offer is None or store is None:
        return None
    note = Notification(
        user_id=user_id,
        offer_id=offer.id,
        store_id=store.id,
        zone=decision.zone,
        trigger=decision.transition.value,
        reason={
            "segments": sorted(decision.matched),
            "store": store.name,
            "zone": decision.zone,
            "trigger": decision.transition.value,
            "rule": decision.rule,
        },
        title=offer.title,
        body=offer.body,
        deep_link=offer.deep_link,
        day=_day(at),
    )
    try:
        with session.begin_nested():
            session.add(note)
    except IntegrityError:
        # Another process recorded this offer for this user today: the cap holds.
        return None
    return note


def on_presence(
    session: Session,
    *,
    user_id: int,
    triggers: Sequence[Trigger],
    purpose: Purpose,
    policy_version: str,
    enqueue: Enqueue,
) -> list[Notification]:
    """Decide on ENTER/DWELL triggers, record what is sent, enqueue delivery after commit."""
    wanted = [t for t in triggers if t.transition is not Transition.EXIT]
    if not wanted:
        return []
    profile = targeting_profile(
        session, user_id=user_id, purpose=purpose, current_policy=policy_version
    )
    if not profile.segments:
        return []
    rules = offer_rules(session, store_ids={t.store_id for t in wanted})
    at = wanted[0].at
    decisions = decide(profile, wanted, rules, _sent_today(session, user_id, _day(at)))
    notes = [n for d in decisions if (n := _record(session, user_id, d, at)) is not None]
    for note in notes:
        note_id = note.id
        after_commit(session, lambda note_id=note_id: enqueue(note_id))  # type: ignore[misc]
    return notes


def list_notifications(
    session: Session, *, user: User, before: int | None, limit: int
) -> list[Notification]:
    query = select(Notification).where(Notification.user_id == user.id)
    if before is not None:
        query = query.where(Notification.id < before)
    return list(session.scalars(query.order_by(Notification.id.desc()).limit(limit)))


def get_notification(session: Session, *, user: User, notification_id: int) -> Notification:
    note = session.get(Notification, notification_id)
    if note is None or note.user_id != user.id:
        raise NotFound(f"no notification {notification_id} for this user")
    return note


def explain(note: Notification, locale: str) -> str:
    """Why this was sent, in one sentence in the user's language."""
    segs = ", ".join(note.reason.get("segments", []))
    store = note.reason.get("store", "")
    verb = {"enter": ("entered", "êtes entré·e chez"), "dwell": ("stayed at", "êtes resté·e chez")}
    en, fr = verb.get(note.trigger, ("were near", "étiez près de"))
    if locale.startswith("fr"):
        return f"Envoyé parce que vous {fr} {store} et que vous suivez : {segs}."
    return f"Sent because you {en} {store} and you follow: {segs}."


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    sent: int
    pending: int
    retry_after_s: float | None


def _message(note: Notification, token: str) -> PushMessage:
    data = {"notification_id": str(note.id), "offer_id": str(note.offer_id or "")}
    if note.deep_link:
        data["deep_link"] = note.deep_link
    return PushMessage(
        token=token,
        title=note.title,
        body=note.body,
        data=data,
        collapse_key=f"offer-{note.offer_id}",
    )


def deliver(
    session: Session, *, notification_id: int, sender: PushSender, max_attempts: int
) -> DeliveryResult:
    """Send a notification to each of its user's devices, at most once per device.

    The notification row is locked for the send, so a retried or duplicated task waits
    and then finds the deliveries already marked sent.
    """
    note = session.scalar(
        select(Notification).where(Notification.id == notification_id).with_for_update()
    )
    if note is None:
        return DeliveryResult(0, 0, None)
    known = {d.token: d for d in note.deliveries}
    for device in session.scalars(select(Device).where(Device.user_id == note.user_id)):
        if device.token not in known:
            known[device.token] = Delivery(
                notification=note, token=device.token, status="pending", attempts=0
            )
            session.add(known[device.token])
    todo = [d for d in known.values() if d.status in ("pending", "retry")]
    retry_after: float | None = None
    if todo:
        results = sender.send([_message(note, d.token) for d in todo])
        for delivery, result in zip(todo, results, strict=True):
            delivery.attempts += 1
            delivery.error_code = result.error_code
            if result.outcome is PushOutcome.SENT:
                delivery.status, delivery.message_id = "sent", result.message_id
            elif result.outcome is PushOutcome.DROP_TOKEN:
                delivery.status = "dropped"
                drop_token(session, token=delivery.token)
            elif result.outcome is PushOutcome.RETRY and delivery.attempts < max_attempts:
                delivery.status = "retry"
                wait = result.retry_after_s or 0.0
                retry_after = max(retry_after or 0.0, wait)
            else:
                delivery.status = "failed"
                log.warning("push failed for notification %s: %s", note.id, result.error_code)
    statuses = {d.status for d in known.values()}
    pending = sum(1 for d in known.values() if d.status == "retry")
    if not known:
        note.status = "no_device"
    elif "sent" in statuses:
        note.status = "sent" if not pending else "partial"
    else:
        note.status = "retrying" if pending else "failed"
    session.flush()
    sent = sum(1 for d in known.values() if d.status == "sent")
    return DeliveryResult(sent, pending, retry_after if pending else None)
