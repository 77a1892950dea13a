"""From presence events to recorded notifications: what is pushed, what is held back.

Delivery is in :mod:`notifications.delivery`, the "why" sentence in
:mod:`notifications.explain`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from accounts.models import User
from events.service import emit_zone_events
from funnel.core import ELIGIBLE, SENT, suppressed
from funnel.core import HELD_OUT as HELD_OUT_METRIC
from funnel.service import tally
from kernel.config import get_settings
from kernel.db import after_commit
from kernel.errors import NotFound
from kernel.metrics import count_decision
from kernel.pagination import keyset
from notifications import holdout, pacing
from notifications.decide import (
    History,
    Outcome,
    Pacing,
    Trigger,
    decide_outcome,
)
from notifications.looks import look_choices
from notifications.models import HELD_OUT, SUPPRESSED, Notification
from notifications.records import record, row_of
from notifications.rules import active_offers
from offers import budgets
from preferences.core import Purpose
from preferences.service import targeting_profile
from presence.core import ZoneEvent, kind_of

log = logging.getLogger(__name__)

Enqueue = Callable[[int], None]


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
        pushed = r.status not in (SUPPRESSED, HELD_OUT)
        if pushed and r.store_id is not None and r.created_at >= since:
            at = r.created_at.timestamp()
            last[r.store_id] = max(at, last.get(r.store_id, at))
    rows = [r for r in rows if r.day == day]
    # A held-out record takes the offer's slot for the day but is not a push.
    sent = [r for r in rows if r.status != SUPPRESSED]
    held = [r for r in rows if r.status == SUPPRESSED]
    return _Today(
        last_push_at_by_store=last,
        sent=frozenset(r.offer_id for r in sent if r.offer_id is not None),
        pushed=sum(1 for r in sent if r.status != HELD_OUT),
        suppressed=frozenset(r.offer_id for r in held if r.offer_id is not None),
        looks_sent=frozenset(r.look_id for r in sent if r.look_id is not None),
        looks_suppressed=frozenset(r.look_id for r in held if r.look_id is not None),
    )


def _outcomes(triggers: Sequence[Trigger], outcome: Outcome) -> list[tuple[str, str]]:
    """Each decision's outcome and reason; a trigger nothing was decided on is ``none``."""
    decided = {(d.zone, d.transition) for d in outcome.decisions}
    quiet = [("none", "no_match") for t in triggers if (t.zone, t.transition) not in decided]
    made = [
        ("suppressed", d.suppressed)
        if d.suppressed
        else ("held_out", "holdout")
        if d.held_out
        else ("deferred", "quiet_hours")
        if d.deferred_until is not None
        else ("sent", d.rule)
        for d in outcome.decisions
    ]
    skipped = [("skipped", s.reason.value) for s in outcome.skipped]
    return [*made, *skipped, *quiet]


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
    pacing.withdraw_on_exit(session, user_id, wanted)
    at = wanted[0].at
    profile = targeting_profile(
        session, user_id=user_id, purpose=purpose, default_policy=policy_version, at=at
    )
    if not profile.segments:
        _count_after_commit(session, [("none", "no_consent")] * len(wanted))
        return []
    # To the event log (webhooks, feed) under the same consent as the decision: a user
    # who did not consent to this purpose leaves no trace there. A broadcast's trigger is
    # no transition: logged, it would tell the broadcasting store where the user is; nor
    # is a dwell checkpoint (presence.core).
    moves = [t for t in wanted if not t.broadcast and not t.checkpoint]
    emit_zone_events(
        session, user_id=user_id, events=moves, stores={t.zone: t.store_id for t in moves}
    )
    # Cached per process (notifications.rules); kept for the rows' titles and reasons.
    offers = {o.rule.id: o for o in active_offers(session, store_ids={t.store_id for t in wanted})}
    rules = [o.rule for o in offers.values()]
    looks = look_choices(session, user_id=user_id, profile=profile, triggers=wanted)
    day = pacing.day_at(at, profile.utc_offset_s)
    settings = get_settings()
    cooldown = settings.store_cooldown_s if store_cooldown_s is None else store_cooldown_s
    since = datetime.fromtimestamp(at - cooldown, UTC)
    today = _today(session, user_id, day, since)
    offsets = pacing.store_offsets(offers.values(), at)
    plans = pacing.budget_plans(offers.values(), offsets, at)
    stores = Pacing(
        store_cooldown_s=cooldown,
        budget_left=budgets.left(session, plans.values()),
        store_utc_offset_s=offsets,
        held_out=holdout.held_out(user_id, ((o.rule.id, o.holdout_pct) for o in offers.values())),
        visit_s=settings.visit_s,
    )
    history = History(
        today.sent,
        today.pushed,
        today.suppressed,
        today.looks_sent,
        today.looks_suppressed,
        today.last_push_at_by_store,
    )
    outcome = decide_outcome(profile, wanted, rules, history, stores, looks=looks.rules)
    pacing.spend(session, outcome, plans)
    decisions = outcome.decisions
    _count_after_commit(session, _outcomes(wanted, outcome))
    rows = [row_of(session, user_id, d, day, purpose, offers, looks) for d in decisions]
    order = {d.key: i for i, d in enumerate(decisions)}
    recorded = record(session, rows)
    _tally(session, outcome, recorded, at)
    notes = sorted(
        (n for n in recorded if n.status == "pending"),
        key=lambda n: order[f"look:{n.look_id}" if n.look_id else f"offer:{n.offer_id}"],
    )
    for note in notes:
        after_commit(session, partial(enqueue, note.id))
    return notes


def _tally(session: Session, outcome: Outcome, recorded: list[Notification], at: float) -> None:
    """The funnel's counts for the stores: every candidate is eligible, then held out, held
    back (by the user's preferences or the store's pacing) or sent. A decision another
    process recorded first (the daily slot's unique index) is counted there, not here."""
    moment = datetime.fromtimestamp(at, UTC)
    done = {(n.offer_id, n.look_id) for n in recorded}

    def count(key: str, store_id: int, metric: str) -> None:
        kind, _, ident = key.partition(":")
        tally(
            session,
            store_id=store_id,
            subject=kind,
            subject_id=int(ident),
            metric=metric,
            at=moment,
        )

    for d in outcome.decisions:
        if (d.offer_id, d.look_id) not in done:
            continue
        count(d.key, d.store_id, ELIGIBLE)
        if d.suppressed is not None:
            count(d.key, d.store_id, suppressed(d.suppressed.value))
        else:
            count(d.key, d.store_id, HELD_OUT_METRIC if d.held_out else SENT)
    for skip in outcome.skipped:
        count(skip.key, skip.store_id, ELIGIBLE)
        count(skip.key, skip.store_id, suppressed(skip.reason.value))


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
        Trigger(
            e.zone,
            stores[e.zone],
            e.transition,
            e.at,
            e.timeout,
            dwelled_s=e.dwelled_s,
            checkpoint=e.checkpoint,
            confidence=e.confidence,
        )
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
