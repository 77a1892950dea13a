"""A decision as its notification row: what is pushed and the reason frozen with it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from kernel.db import utcnow
from notifications.decide import Decision
from notifications.looks import LookChoices, look_row, store_name
from notifications.models import DEFERRED, HELD_OUT, SUPPRESSED, Notification
from notifications.rules import OfferView
from preferences.core import Purpose
from presence.core import ZoneKey


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
        "confidence": decision.confidence.value,
        # An EXIT the phone never reported: its presence went stale (presence.flow).
        **({"exit": "timeout"} if decision.timeout else {}),
        "rule": decision.rule,
        "purpose": purpose.value,
        "competed": competed,
        **({"decided_by": decision.decided_by} if decision.decided_by else {}),
        **({"suppressed": decision.suppressed.value} if decision.suppressed else {}),
        **({"held_out": True} if decision.held_out else {}),
        **({"deferred_until": _iso(decision.deferred_until)} if decision.deferred_until else {}),
        **({"place_bound": True} if decision.place_bound else {}),
    }


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat()


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
    """Only a push is owed a delivery: now, or at the end of quiet hours (``deferred``);
    a suppressed or held-out decision is a record only."""
    if decision.suppressed is not None:
        status, due = SUPPRESSED, None
    elif decision.held_out:
        status, due = HELD_OUT, None
    elif decision.deferred_until is not None:
        status, due = DEFERRED, datetime.fromtimestamp(decision.deferred_until, UTC)
    else:
        status, due = "pending", utcnow()
    expires = decision.expires_at
    return {
        **row,
        "status": status,
        "next_attempt_at": due,
        "place_bound": decision.place_bound,
        "expires_at": None if expires is None else datetime.fromtimestamp(expires, UTC),
    }


def row_of(
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


def record(session: Session, rows: list[dict[str, Any]]) -> list[Notification]:
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
