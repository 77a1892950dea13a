"""Segments, the consent ledger, interests, and the consented-only targeting profile."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from accounts.models import User
from notifications.decide import TargetingProfile
from preferences.models import ConsentRecord, Interest, Segment
from preferences.taxonomy import TAXONOMY
from server.errors import Conflict, Invalid


class Purpose(StrEnum):
    LOCATION_OFFERS = "location_offers"
    BEACON_PROXIMITY = "beacon_proximity"
    FRIENDS_LOOKS = "friends_looks"


@dataclass(frozen=True, slots=True)
class ConsentState:
    purpose: Purpose
    granted: bool
    policy_version: str | None


def seed_taxonomy(session: Session) -> int:
    """Insert the segments that are missing; returns how many were added."""
    known = {s.slug: s for s in session.scalars(select(Segment))}
    added = 0
    for slug, parent, label_en, label_fr in TAXONOMY:
        if slug in known:
            continue
        seg = Segment(
            slug=slug,
            parent_id=known[parent].id if parent else None,
            label_en=label_en,
            label_fr=label_fr,
        )
        session.add(seg)
        session.flush()
        known[slug] = seg
        added += 1
    return added


def list_segments(session: Session) -> list[Segment]:
    return list(session.scalars(select(Segment).order_by(Segment.id)))


def segments_by_slug(session: Session, slugs: Iterable[str]) -> list[Segment]:
    wanted = list(dict.fromkeys(slugs))
    found = {s.slug: s for s in session.scalars(select(Segment).where(Segment.slug.in_(wanted)))}
    unknown = [s for s in wanted if s not in found]
    if unknown:
        raise Invalid(f"unknown segment {unknown[0]!r}; see GET /v1/segments")
    return [found[s] for s in wanted]


def with_descendants(session: Session, slugs: Iterable[str]) -> frozenset[str]:
    """Choosing a parent covers its children: expand slugs down the taxonomy."""
    rows = session.execute(select(Segment.id, Segment.slug, Segment.parent_id)).all()
    children: dict[int | None, list[tuple[int, str]]] = {}
    ids = {}
    for seg_id, slug, parent_id in rows:
        children.setdefault(parent_id, []).append((seg_id, slug))
        ids[slug] = seg_id
    out: set[str] = set()
    stack = [ids[s] for s in slugs if s in ids]
    out.update(s for s in slugs if s in ids)
    while stack:
        for child_id, child_slug in children.get(stack.pop(), []):
            out.add(child_slug)
            stack.append(child_id)
    return frozenset(out)


def record_consent(
    session: Session,
    *,
    user: User,
    choices: Mapping[Purpose, bool],
    policy_version: str,
    current_policy: str,
    source: str,
    app_version: str | None,
) -> list[ConsentState]:
    """Append one ledger line per purpose; granting needs the current policy version."""
    if any(choices.values()) and policy_version != current_policy:
        raise Conflict(
            f"policy version {policy_version!r} is not the current one ({current_policy!r}); "
            "show the current policy and ask again"
        )
    for purpose, granted in choices.items():
        session.add(
            ConsentRecord(
                user_id=user.id,
                purpose=purpose.value,
                granted=granted,
                policy_version=policy_version,
                source=source,
                app_version=app_version,
            )
        )
    session.flush()
    return consent_states(session, user_id=user.id)


def consent_states(session: Session, *, user_id: int) -> list[ConsentState]:
    latest: dict[str, ConsentRecord] = {}
    rows = session.scalars(
        select(ConsentRecord).where(ConsentRecord.user_id == user_id).order_by(ConsentRecord.id)
    )
    for rec in rows:
        latest[rec.purpose] = rec
    return [
        ConsentState(p, latest[p].granted, latest[p].policy_version)
        if p in latest
        else ConsentState(p, False, None)
        for p in Purpose
    ]


def consented(session: Session, *, user_id: int, purpose: Purpose, current_policy: str) -> bool:
    rec = session.scalar(
        select(ConsentRecord)
        .where(ConsentRecord.user_id == user_id, ConsentRecord.purpose == purpose.value)
        .order_by(ConsentRecord.id.desc())
        .limit(1)
    )
    return rec is not None and rec.granted and rec.policy_version == current_policy


def set_interests(session: Session, *, user: User, slugs: list[str]) -> list[Segment]:
    segments = segments_by_slug(session, slugs)
    session.execute(delete(Interest).where(Interest.user_id == user.id))
    session.add_all(Interest(user_id=user.id, segment_id=s.id) for s in segments)
    session.flush()
    return segments


def interests(session: Session, *, user_id: int) -> list[Segment]:
    return list(
        session.scalars(
            select(Segment)
            .join(Interest, Interest.segment_id == Segment.id)
            .where(Interest.user_id == user_id)
            .order_by(Segment.id)
        )
    )


def targeting_profile(
    session: Session, *, user_id: int, purpose: Purpose, current_policy: str
) -> TargetingProfile:
    """The only view of a user the decision gets: consented segments, else nothing.

    Read from the database at decision time, never cached, so a withdrawal applies to
    the very next event in every process.
    """
    if not consented(session, user_id=user_id, purpose=purpose, current_policy=current_policy):
        return TargetingProfile(frozenset())
    slugs = [s.slug for s in interests(session, user_id=user_id)]
    return TargetingProfile(with_descendants(session, slugs))
