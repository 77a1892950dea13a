"""From presence events to recorded notifications: what is pushed, what is held back.

Delivery is in :mod:`notifications.delivery`, the "why" sentence in
:mod:`notifications.explain`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from accounts.models import User
from events.service import emit_zone_events
from kernel.config import get_settings
from kernel.db import after_commit, utcnow
from kernel.errors import NotFound
from kernel.metrics import count_decision
from kernel.pagination import keyset
from notifications.decide import Decision, Trigger, decide_all
from notifications.looks import LookChoices, look_choices, look_row, store_name
from notifications.models import SUPPRESSED, Notification
from notifications.rules import OfferView, active_offers
from preferences.core import Purpose
from preferences.service import targeting_profile
from presence.core import ZoneEvent, ZoneKey, kind_of

log = logging.getLogger(__name__)

Enqueue = Callable[[int], None]


def _day(at: float, utc_offset_s: int = 0) -> date:
    """The user's local calendar day at ``at``: the unit of the daily caps."""
    return (datetime.fromtimestamp(at, UTC) + timedelta(seconds=utc_offset_s)).date()


@dataclass(frozen=True, slots=True)
class _Today:
    sent: frozenset[int]
    pushed: int
    suppressed: frozenset[int]
    looks_sent: frozenset[int]
    looks_suppressed: frozenset[int]
    last_push_at_by_store: dict[int, float]


def _today(session: Session, user_id: int, day: date, since: datetime) -> _Today:
    """The offers and looks pushed to the user that day, how many pushes in all, those
    held back (suppressed decisions are neither pushes nor the daily slot), and when each
    store last pushed since ``since`` (the store cooldown's reach, which may cross into
    the day before): one read of the user's recent rows."""
    rows = session.execute(
        select(
            Notification.offer_id,
            Notification.look_id,
            Notification.status,
            Notification.store_id,
            Notification.day,
            Notification.created_at,
        ).where(
            Notification.user_id == user_id,
            or_(Notification.day == day, Notification.created_at >= since),
        )
    ).all()
    last: dict[int, float] = {}
    for r in rows:
        if r.status != SUPPRESSED and r.store_id is not None and r.created_at >= since:
            at = r.created_at.timestamp()
            last[r.store_id] = max(at, last.get(r.store_id, at))
    rows = [r for r in rows if r.day == day]
    sent = [r for r in rows if r.status != SUPPRESSED]
    held = [r for r in rows if r.status == SUPPRESSED]
    return _Today(
        last_push_at_by_store=last,
        sent=frozenset(r.offer_id for r in sent if r.offer_id is not None),
        pushed=len(sent),
        suppressed=frozenset(r.offer_id for r in held if r.offer_id is not None),
        looks_sent=frozenset(r.look_id for r in sent if r.look_id is not None),
        looks_suppressed=frozenset(r.look_id for r in held if r.look_id is not None),
    )


def _zone_name(session: Session, zone: str) -> tuple[str, str]:
    """A zone key's kind and the name staff gave it: ``geofence:<id>``, ``beacon:<store>:<z>``."""
    key = ZoneKey.parse(zone)
    if key.kind == "geofence":
        # The geofences table, by name in the shared metadata: the geofence domain sits
        # above notifications (it hands its events to the decision) and is not imported.
        fences = Notification.metadata.tables["geofences"]
        name = session.scalar(select(fences.c.name).where(fences.c.id == key.id))
        return key.kind, name if name is not None else zone
    return key.kind, key.name or zone


def _reason(
    decision: Decision,
    offer: OfferView,
    purpose: Purpose,
    zone: tuple[str, str],
    competed: list[str],
) -> dict[str, Any]:
    """Why, frozen at decision time: later relabelling or deletion does not rewrite history.

    A suppressed decision also says which preference held it back (``suppressed``).
    """
    segments = sorted(decision.matched)
    # The matched segments are the offer's own, labelled in its cached view: no query.
    labels = {s: dict(offer.labels[s]) for s in segments if s in offer.labels}
    kind, name = zone
    return {
        "segments": segments,
        "labels": labels,
        "store": offer.store_name,
        "store_id": offer.rule.store_id,
        "offer": offer.title,
        "zone": decision.zone,
        "zone_kind": kind,
        "zone_name": name,
        "trigger": decision.transition.value,
        # An EXIT the phone never reported: its presence went stale (presence.flow).
        **({"exit": "timeout"} if decision.timeout else {}),
        "rule": decision.rule,
        "purpose": purpose.value,
        "competed": competed,
        **({"decided_by": decision.decided_by} if decision.decided_by else {}),
        **({"suppressed": decision.suppressed.value} if decision.suppressed else {}),
    }


def _offer_row(
    session: Session,
    user_id: int,
    decision: Decision,
    day: date,
    purpose: Purpose,
    offer: OfferView,
    competed: list[str],
) -> dict[str, Any]:
    zone = _zone_name(session, decision.zone)
    return {
        "user_id": user_id,
        "offer_id": offer.rule.id,
        "look_id": None,
        "store_id": offer.rule.store_id,
        "zone": decision.zone,
        "trigger": decision.transition.value,
        "reason": _reason(decision, offer, purpose, zone, competed),
        "title": offer.title,
        "body": offer.body,
        "deep_link": offer.deep_link,
        "day": day,
    }


def _owed(row: dict[str, Any], decision: Decision) -> dict[str, Any]:
    # Only a push is owed a delivery; a suppressed decision is for the inbox only.
    pushed = decision.suppressed is None
    return {
        **row,
        "status": "pending" if pushed else SUPPRESSED,
        "next_attempt_at": utcnow() if pushed else None,
    }


def _row(
    session: Session,
    user_id: int,
    decision: Decision,
    day: date,
    purpose: Purpose,
    offers: dict[int, OfferView],
    looks: LookChoices,
) -> dict[str, Any]:
    """A decision's row: its offer or look, and the candidates it was weighed against."""

    def label(key: str) -> str:
        kind, _, ident = key.partition(":")
        if kind == "offer":
            return f"the offer “{offers[int(ident)].title}”"
        return f"a look by {looks.ranked[int(ident)].candidate.creator_name}"

    competed = [label(k) for k in decision.competed]
    if decision.look_id is None:
        offer = offers[decision.offer_id or 0]
        row = _offer_row(session, user_id, decision, day, purpose, offer, competed)
    else:
        row = look_row(
            decision,
            looks.ranked[decision.look_id],
            user_id=user_id,
            day=day,
            store=store_name(session, decision.store_id),
            labels=looks.labels,
            zone=_zone_name(session, decision.zone),
            competed=competed,
        )
    return _owed(row, decision)


def _record(session: Session, rows: list[dict[str, Any]]) -> list[Notification]:
    """Insert the rows in one statement; those another process recorded first are skipped.

    The daily caps are unique indexes: a row that hits one (the same offer recorded for
    this user today, concurrently) is not inserted and not returned, so the cap holds.
    """
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    insert = sqlite_insert if dialect == "sqlite" else pg_insert
    statement = insert(Notification).on_conflict_do_nothing().returning(Notification)
    return list(session.scalars(statement, rows))


def _outcomes(triggers: Sequence[Trigger], decisions: Sequence[Decision]) -> list[tuple[str, str]]:
    """Each decision's outcome and reason; a trigger nothing was decided on is ``none``."""
    decided = {(d.zone, d.transition) for d in decisions}
    quiet = [("none", "no_match") for t in triggers if (t.zone, t.transition) not in decided]
    made = [("suppressed", d.suppressed) if d.suppressed else ("sent", d.rule) for d in decisions]
    return [*made, *quiet]


def _count_after_commit(session: Session, outcomes: list[tuple[str, str]]) -> None:
    # A rolled-back request decided nothing.
    def count() -> None:
        for outcome, reason in outcomes:
            count_decision(outcome, reason)

    after_commit(session, count)


def on_presence(
    session: Session,
    *,
    user_id: int,
    triggers: Sequence[Trigger],
    purpose: Purpose,
    policy_version: str,
    enqueue: Enqueue,
    store_cooldown_s: float | None = None,
) -> list[Notification]:
    """Decide on ENTER/DWELL/EXIT triggers, record what is sent, enqueue delivery after commit.

    Decisions the user's delivery preferences held back (quiet hours, daily cap) are
    recorded as ``suppressed`` in the inbox, never enqueued and not returned: the result
    is the notifications to push. ``policy_version`` is the configured one, in force until
    the operator publishes one; ``store_cooldown_s`` defaults to the setting
    (``VICINITY_STORE_COOLDOWN_S``).
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
        _count_after_commit(session, [("none", "no_consent")] * len(wanted))
        return []
    # To the event log (webhooks, feed) under the same consent as the decision: a user
    # who did not consent to this purpose leaves no trace there.
    emit_zone_events(
        session, user_id=user_id, events=wanted, stores={t.zone: t.store_id for t in wanted}
    )
    # Cached per process (notifications.rules); kept for the rows' titles and reasons.
    offers = {o.rule.id: o for o in active_offers(session, store_ids={t.store_id for t in wanted})}
    rules = [o.rule for o in offers.values()]
    looks = look_choices(session, user_id=user_id, profile=profile, triggers=wanted)
    day = _day(at, profile.utc_offset_s)
    cooldown = get_settings().store_cooldown_s if store_cooldown_s is None else store_cooldown_s
    since = datetime.fromtimestamp(at - cooldown, UTC)
    today = _today(session, user_id, day, since)
    decisions = decide_all(
        profile,
        wanted,
        rules,
        today.sent,
        today.pushed,
        today.suppressed,
        looks=looks.rules,
        looks_sent_today=today.looks_sent,
        looks_suppressed_today=today.looks_suppressed,
        last_push_at_by_store=today.last_push_at_by_store,
        store_cooldown_s=cooldown,
    )
    _count_after_commit(session, _outcomes(wanted, decisions))
    rows = [_row(session, user_id, d, day, purpose, offers, looks) for d in decisions]
    order = {d.key: i for i, d in enumerate(decisions)}
    notes = sorted(
        (n for n in _record(session, rows) if n.status != SUPPRESSED),
        key=lambda n: order[f"look:{n.look_id}" if n.look_id else f"offer:{n.offer_id}"],
    )
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
        Trigger(e.zone, stores[e.zone], e.transition, e.at, e.timeout)
        for e in events
        if e.zone in stores
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


# Which consent a zone's events are decided under, by the zone's kind.
PURPOSES = {
    "geofence": Purpose.LOCATION_OFFERS,
    "beacon": Purpose.BEACON_PROXIMITY,
    "nfc": Purpose.BEACON_PROXIMITY,
}


def decide_events(
    session: Session,
    *,
    user_id: int,
    events: Sequence[ZoneEvent],
    store_of: Callable[[str], int | None],
    policy_version: str,
    enqueue: Enqueue,
) -> tuple[dict[str, int], list[int]]:
    """The presence flow's decision: events → decisions, each under the purpose of its
    zone's kind. Returns each event zone's store and the notification ids recorded."""
    stores: dict[str, int] = {}
    ids: list[int] = []
    for kind, purpose in PURPOSES.items():
        group = [e for e in events if kind_of(e.zone) == kind]
        if not group:
            continue
        found, notes = on_zone_events(
            session,
            user_id=user_id,
            events=group,
            store_of=store_of,
            purpose=purpose,
            policy_version=policy_version,
            enqueue=enqueue,
        )
        stores.update(found)
        ids.extend(n.id for n in notes)
    return stores, ids


def list_notifications(
    session: Session, *, user: User, after: int, limit: int
) -> list[Notification]:
    """Newest first: ids below the cursor ``after`` (0: from the newest)."""
    query = select(Notification).where(Notification.user_id == user.id)
    page = keyset(query, Notification.id, after=after, limit=limit, newest_first=True)
    return list(session.scalars(page))


def get_notification(session: Session, *, user: User, notification_id: int) -> Notification:
    note = session.get(Notification, notification_id)
    if note is None or note.user_id != user.id:
        raise NotFound(f"no notification {notification_id} for this user")
    return note
