"""Friends' looks in the decision: the candidates at the event's stores, ranked, and the
rows of those pushed or held back.

Only with the ``friends_looks`` consent (``TargetingProfile.friends_looks``) and only for
ENTER or DWELL. The friend appears by display name only; the push says a look by them
features items sold here, never where they are or were.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from looks.rank import RankedLook, rank_looks
from looks.repository import candidate_looks
from notifications.terms import PUSH_TRANSITIONS_FOR_LOOKS, Decision, LookRule, Trigger
from preferences.core import Purpose, TargetingProfile
from preferences.models import Segment
from stores.models import Store

Labels = dict[str, dict[str, str]]


@dataclass(frozen=True, slots=True)
class LookChoices:
    """The ranked looks at each store of the event batch, with what their rows quote."""

    ranked: dict[int, RankedLook]  # look id → its rank and reason
    rules: list[LookRule]  # what the decision sees of them
    labels: Labels  # segment slug → {"en", "fr"}


NONE = LookChoices({}, [], {})


def look_choices(
    session: Session, *, user_id: int, profile: TargetingProfile, triggers: Iterable[Trigger]
) -> LookChoices:
    """Friends' looks featuring the stores where the user entered or lingered, ranked for
    them (``looks.rank``: shared interests, freshness, how often they opened the friend's
    looks). Three queries per store, plus one for the segments' labels; none without the
    consent or without such an event."""
    wanted = [t for t in triggers if t.transition in PUSH_TRANSITIONS_FOR_LOOKS]
    if not profile.friends_looks or not wanted:
        return NONE
    at = wanted[0].at
    now = datetime.fromtimestamp(at, UTC)
    found = {
        store_id: candidate_looks(session, viewer_id=user_id, store_id=store_id, now=now)
        for store_id in sorted({t.store_id for t in wanted})
    }
    slugs = {s for cands in found.values() for c in cands for s in c.segments}
    labels: Labels = {}
    if slugs:
        rows = session.execute(
            select(Segment.slug, Segment.label_en, Segment.label_fr).where(Segment.slug.in_(slugs))
        )
        labels = {slug: {"en": en, "fr": fr} for slug, en, fr in rows}
    english = {slug: names["en"] for slug, names in labels.items()}
    ranked: dict[int, RankedLook] = {}
    rules: list[LookRule] = []
    for store_id, cands in found.items():
        for r in rank_looks(cands, profile.segments, at, labels=english):
            if r.candidate.look_id in ranked:  # featured at two stores: ranked once
                continue
            ranked[r.candidate.look_id] = r
            shared = r.candidate.segments & profile.segments
            rules.append(LookRule(r.candidate.look_id, store_id, r.score, shared))
    return LookChoices(ranked, rules, labels)


def store_name(session: Session, store_id: int) -> str:
    return session.scalar(select(Store.name).where(Store.id == store_id)) or f"store {store_id}"


def look_row(
    decision: Decision,
    choice: RankedLook,
    *,
    user_id: int,
    day: date,
    store: str,
    labels: Labels,
    zone: tuple[str, str],
    competed: list[str],
) -> dict[str, Any]:
    """The notification row of a look pushed (or held back), with its frozen reason."""
    friend = choice.candidate.creator_name
    shared = sorted(decision.matched)
    kind, name = zone
    reason = {
        "kind": "look",
        "look_id": choice.candidate.look_id,
        "friend": friend,
        "segments": shared,
        "labels": {s: labels[s] for s in shared if s in labels},
        "store": store,
        "store_id": decision.store_id,
        "zone": decision.zone,
        "zone_kind": kind,
        "zone_name": name,
        "trigger": decision.transition.value,
        "confidence": decision.confidence.value,
        "ranking": choice.reason,
        "score": choice.score,
        "competed": competed,
        **({"decided_by": decision.decided_by} if decision.decided_by else {}),
        "rule": decision.rule,
        "purpose": Purpose.FRIENDS_LOOKS.value,
        **({"suppressed": decision.suppressed.value} if decision.suppressed else {}),
    }
    return {
        "user_id": user_id,
        "offer_id": None,
        "look_id": choice.candidate.look_id,
        "store_id": decision.store_id,
        "zone": decision.zone,
        "trigger": decision.transition.value,
        "reason": reason,
        "title": f"A look by {friend}"[:120],
        "body": f"A look by {friend} features items sold at {store}.",
        "deep_link": None,
        "day": day,
    }
