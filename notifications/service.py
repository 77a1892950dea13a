"""From presence events to recorded notifications, and from notifications to devices."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from accounts.models import Device, User
from accounts.service import drop_token
from geofence.models import Geofence
from kernel.db import after_commit
from kernel.errors import NotFound
from notifications.decide import Decision, Trigger, decide
from notifications.models import Delivery, Notification
from notifications.push import PushMessage, PushOutcome, PushSender
from offers.models import Offer
from offers.service import active_offers, as_rule
from preferences.service import Purpose, targeting_profile
from presence.core import ZoneEvent
from stores.models import Store

log = logging.getLogger(__name__)

Enqueue = Callable[[int], None]


def _day(at: float, utc_offset_s: int = 0) -> date:
    """The user's local calendar day at ``at``: the unit of the daily caps."""
    return (datetime.fromtimestamp(at, UTC) + timedelta(seconds=utc_offset_s)).date()


def _sent_on(session: Session, user_id: int, day: date) -> tuple[frozenset[int], int]:
    """The offers already pushed to the user that day, and how many pushes in all."""
    rows = list(
        session.scalars(
            select(Notification.offer_id).where(
                Notification.user_id == user_id, Notification.day == day
            )
        )
    )
    return frozenset(r for r in rows if r is not None), len(rows)


def _zone_name(session: Session, zone: str) -> tuple[str, str]:
    """A zone key's kind and the name staff gave it: ``geofence:<id>``, ``beacon:<store>:<z>``."""
    kind, _, rest = zone.partition(":")
    if kind == "geofence" and rest.isdigit():
        fence = session.get(Geofence, int(rest))
        return kind, fence.name if fence is not None else zone
    if kind == "beacon":
        return kind, rest.partition(":")[2] or zone
    return kind, zone


def _reason(
    session: Session, decision: Decision, offer: Offer, store: Store, purpose: Purpose
) -> dict[str, Any]:
    """Why, frozen at send time: later relabelling or deletion does not rewrite history."""
    segments = sorted(decision.matched)
    # The matched segments are the offer's own (already loaded), so no query for labels.
    labels = {
        s.slug: {"en": s.label_en, "fr": s.label_fr} for s in offer.segments if s.slug in segments
    }
    kind, name = _zone_name(session, decision.zone)
    return {
        "segments": segments,
        "labels": labels,
        "store": store.name,
        "store_id": store.id,
        "offer": offer.title,
        "zone": decision.zone,
        "zone_kind": kind,
        "zone_name": name,
        "trigger": decision.transition.value,
        "rule": decision.rule,
        "purpose": purpose.value,
    }


def _record(
    session: Session, user_id: int, decision: Decision, day: date, purpose: Purpose, offer: Offer
) -> Notification | None:
    store = session.get(Store, decision.store_id)
    if store is None:
        return None
    note = Notification(
        user_id=user_id,
        offer_id=offer.id,
        store_id=store.id,
        zone=decision.zone,
        trigger=decision.transition.value,
        reason=_reason(session, decision, offer, store, purpose),
        title=offer.title,
        body=offer.body,
        deep_link=offer.deep_link,
        day=day,
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
    """Decide on ENTER/DWELL/EXIT triggers, record what is sent, enqueue delivery after commit.

    ``policy_version`` is the configured one, in force until the operator publishes one.
    """
    # Every transition is decided, EXIT included: an offer fires on the one it asks for.
    wanted = list(triggers)
    if not wanted:
        return []
    at = wanted[0].at
    profile = targeting_profile(
        session, user_id=user_id, purpose=purpose, default_policy=policy_version, at=at
    )
    if not profile.segments:
        return []
    # Kept for _record: the rows the rules came from, not a second load per decision.
    offers = {o.id: o for o in active_offers(session, store_ids={t.store_id for t in wanted})}
    rules = [as_rule(o) for o in offers.values()]
    day = _day(at, profile.utc_offset_s)
    sent, pushed = _sent_on(session, user_id, day)
    decisions = decide(profile, wanted, rules, sent, pushed)
    notes = [
        n
        for d in decisions
        if (n := _record(session, user_id, d, day, purpose, offers[d.offer_id])) is not None
    ]
    for note in notes:
        after_commit(session, partial(enqueue, note.id))
    return notes


def on_zone_events(
    session: Session,
    *,
    user_id: int,
    events: Sequence[ZoneEvent],
    store_of: Callable[[str], int | None],
    purpose: Purpose,
    policy_version: str,
    enqueue: Enqueue,
) -> tuple[dict[str, int], list[Notification]]:
    """Presence events from any source (geofence, beacon zone) → triggers → decision.

    Returns each event zone's store and the notifications recorded.
    """
    stores = {e.zone: sid for e in events if (sid := store_of(e.zone)) is not None}
    triggers = [
        Trigger(e.zone, stores[e.zone], e.transition, e.at) for e in events if e.zone in stores
    ]
    notes = on_presence(
        session,
        user_id=user_id,
        triggers=triggers,
        purpose=purpose,
        policy_version=policy_version,
        enqueue=enqueue,
    )
    return stores, notes


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


_TRIGGERS = {
    "enter": ("entered", "êtes entré·e chez"),
    "dwell": ("stayed a while at", "êtes resté·e un moment chez"),
    "exit": ("left", "êtes sorti·e de chez"),
}
_ZONES = {
    "geofence": ("the area “{}”", "la zone « {} »"),
    "beacon": ("the beacon zone “{}”", "la zone de balise « {} »"),
}
_RULES = {
    "one_per_offer_per_day": (
        "at most one push per offer per day, outside your quiet hours and within your daily limit",
        "au plus une notification par offre et par jour, hors de vos heures calmes "
        "et dans votre limite quotidienne",
    ),
}
_PURPOSES = {
    "location_offers": ("offers near you", "les offres près de vous"),
    "beacon_proximity": ("in-store beacon offers", "les offres des balises en magasin"),
    "friends_looks": ("your friends' looks", "les looks de vos amis"),
}


def _join(items: list[str], last: str) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {last} {items[-1]}"


def explain(note: Notification, locale: str) -> str:
    """Why this was sent, in one sentence in the user's language (French or English).

    Names the store, the zone and what the user did there, the segments the offer shares
    with their choices (with their labels), the consent it relied on, and the rule.
    """
    fr = locale.lower().startswith("fr")
    lang = 1 if fr else 0
    reason = note.reason
    labels: dict[str, dict[str, str]] = reason.get("labels", {})
    segments = [
        labels.get(slug, {}).get("fr" if fr else "en", slug) for slug in reason.get("segments", [])
    ] or ["—"]
    store = reason.get("store", "")
    verb = _TRIGGERS.get(note.trigger, ("were near", "étiez près de"))[lang]
    kind = reason.get("zone_kind", "")
    zone = _ZONES.get(kind, ("the zone “{}”", "la zone « {} »"))[lang].format(
        reason.get("zone_name", note.zone)
    )
    rule_id = reason.get("rule", "")
    rule = _RULES.get(rule_id, (rule_id, rule_id))[lang]
    purpose_id = reason.get("purpose", "")
    purpose = _PURPOSES.get(purpose_id, (purpose_id, purpose_id))[lang]
    if fr:
        consent = f", et que vous avez accepté {purpose}" if purpose else ""
        return (
            f"Envoyée parce que vous {verb} {store} ({zone}), que cette offre vise "
            f"{_join(segments, 'et')}, que vous suivez{consent} ; règle : {rule}."
        )
    consent = f", and you agreed to {purpose}" if purpose else ""
    return (
        f"Sent because you {verb} {store} ({zone}), this offer targets "
        f"{_join(segments, 'and')}, which you follow{consent}; rule: {rule}."
    )


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
