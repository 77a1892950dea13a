"""Segments, policy versions, the consent ledger, interests, activations, delivery
preferences, and the consented-only targeting profile."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session, aliased

from accounts.models import User
from kernel.db import utcnow
from kernel.errors import Conflict, Invalid, NotFound
from preferences.core import PolicyHistory, PolicyStep, Purpose, QuietHours, TargetingProfile
from preferences.models import (
    Activation,
    ConsentRecord,
    DeliveryPreferences,
    Interest,
    MutedStore,
    PolicyVersion,
    Segment,
)
from preferences.segments import expand, segments_by_slug
from stores.models import Store


@dataclass(frozen=True, slots=True)
class ConsentState:
    purpose: Purpose
    granted: bool
    policy_version: str | None
    in_force: bool


# Policy versions.


def published_policies(session: Session) -> list[PolicyVersion]:
    return list(session.scalars(select(PolicyVersion).order_by(PolicyVersion.id)))


def policy_history(session: Session, *, default_policy: str) -> PolicyHistory:
    """Read at every decision, never cached: a new version applies to the next event."""
    steps = [
        PolicyStep(v.version, frozenset(v.changed_purposes)) for v in published_policies(session)
    ]
    return PolicyHistory.of(steps, baseline=default_policy, purposes=[p.value for p in Purpose])


def latest_policy(session: Session) -> PolicyVersion | None:
    """The latest published version; ``None`` while the configured one is in force."""
    return session.scalar(select(PolicyVersion).order_by(PolicyVersion.id.desc()).limit(1))


def publish_policy(
    session: Session, *, version: str, summary: str, text: str, changed: Iterable[Purpose]
) -> PolicyVersion:
    """Publish a new version; it is in force at once, for the purposes it changed too."""
    if session.scalar(select(PolicyVersion.id).where(PolicyVersion.version == version)):
        raise Conflict(f"policy version {version!r} is already published; pick a new one")
    policy = PolicyVersion(
        version=version,
        summary=summary,
        text=text,
        changed_purposes=sorted({p.value for p in changed}),
    )
    session.add(policy)
    session.flush()
    return policy


# Consent.


def record_consent(
    session: Session,
    *,
    user: User,
    choices: Mapping[Purpose, bool],
    policy_version: str,
    default_policy: str,
    source: str,
    app_version: str | None,
) -> list[ConsentState]:
    """Append one ledger line per purpose; granting needs the version in force."""
    current = policy_history(session, default_policy=default_policy).current
    if any(choices.values()) and policy_version != current:
        raise Conflict(
            f"policy version {policy_version!r} is not the current one ({current!r}); "
            "show the current policy (GET /v1/policies/current) and ask again"
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
    return consent_states(session, user_id=user.id, default_policy=default_policy)


def _latest_consent(session: Session, user_id: int) -> dict[str, ConsentRecord]:
    latest: dict[str, ConsentRecord] = {}
    rows = session.scalars(
        select(ConsentRecord).where(ConsentRecord.user_id == user_id).order_by(ConsentRecord.id)
    )
    for rec in rows:
        latest[rec.purpose] = rec
    return latest


def consent_states(session: Session, *, user_id: int, default_policy: str) -> list[ConsentState]:
    """The current state per purpose, derived from the ledger under the policy in force."""
    history = policy_history(session, default_policy=default_policy)
    latest = _latest_consent(session, user_id)
    states = []
    for p in Purpose:
        rec = latest.get(p.value)
        if rec is None:
            states.append(ConsentState(p, False, None, False))
            continue
        in_force = history.in_force(
            purpose=p.value, granted=rec.granted, version=rec.policy_version
        )
        states.append(ConsentState(p, rec.granted, rec.policy_version, in_force))
    return states


def consented(session: Session, *, user_id: int, purpose: Purpose, default_policy: str) -> bool:
    rec = session.scalar(
        select(ConsentRecord)
        .where(ConsentRecord.user_id == user_id, ConsentRecord.purpose == purpose.value)
        .order_by(ConsentRecord.id.desc())
        .limit(1)
    )
    if rec is None:
        return False
    history = policy_history(session, default_policy=default_policy)
    return history.in_force(purpose=purpose.value, granted=rec.granted, version=rec.policy_version)


def consent_history(session: Session, *, user_id: int) -> list[ConsentRecord]:
    return list(
        session.scalars(
            select(ConsentRecord).where(ConsentRecord.user_id == user_id).order_by(ConsentRecord.id)
        )
    )


# Interests and activations.


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


def activate(
    session: Session, *, user: User, slug: str, until: datetime, now: datetime, max_days: int
) -> tuple[Activation, Segment]:
    """Turn a segment on until ``until``, at most ``max_days`` ahead; it lapses by itself."""
    if until.tzinfo is None:
        raise Invalid("until needs a time zone, e.g. 2026-12-01T18:00:00+01:00")
    if until <= now:
        raise Invalid(f"until ({until.isoformat()}) is in the past; pick a time ahead")
    if until > now + timedelta(days=max_days):
        raise Invalid(f"an activation lasts at most {max_days} days; pick an earlier until")
    (segment,) = segments_by_slug(session, [slug])
    activation = Activation(user_id=user.id, segment_id=segment.id, until=until)
    session.add(activation)
    session.flush()
    return activation, segment


def active_activations(
    session: Session, *, user_id: int, at: datetime
) -> list[tuple[Activation, Segment]]:
    rows = session.execute(
        select(Activation, Segment)
        .join(Segment, Segment.id == Activation.segment_id)
        .where(Activation.user_id == user_id, Activation.until > at)
        .order_by(Activation.id)
    )
    return [(a, s) for a, s in rows]


def end_activation(session: Session, *, user: User, activation_id: int) -> None:
    activation = session.get(Activation, activation_id)
    if activation is None or activation.user_id != user.id:
        raise NotFound(f"no activation {activation_id} for this user")
    session.delete(activation)
    session.flush()


# Delivery preferences.


@dataclass(frozen=True, slots=True)
class Delivery:
    max_per_day: int | None
    quiet_hours: tuple[time, time] | None
    muted_store_ids: list[int]
    timezone: str


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def _time(minutes: int) -> time:
    return time(minutes // 60, minutes % 60)


def delivery_preferences(session: Session, *, user: User) -> Delivery:
    prefs = session.get(DeliveryPreferences, user.id)
    muted = list(
        session.scalars(
            select(MutedStore.store_id)
            .where(MutedStore.user_id == user.id)
            .order_by(MutedStore.store_id)
        )
    )
    quiet = None
    if prefs and prefs.quiet_start_min is not None and prefs.quiet_end_min is not None:
        quiet = (_time(prefs.quiet_start_min), _time(prefs.quiet_end_min))
    return Delivery(prefs.max_per_day if prefs else None, quiet, muted, user.timezone)


def existing_stores(session: Session, store_ids: list[int], *, verb: str) -> list[int]:
    """The ids sorted and without repeats; an unknown one is refused (422)."""
    wanted = sorted(set(store_ids))
    known = set(session.scalars(select(Store.id).where(Store.id.in_(wanted))))
    unknown = [s for s in wanted if s not in known]
    if unknown:
        raise Invalid(f"unknown store {unknown[0]}; {verb} stores that exist")
    return wanted


def set_delivery_preferences(
    session: Session,
    *,
    user: User,
    max_per_day: int | None,
    quiet_hours: tuple[time, time] | None,
    muted_store_ids: list[int],
    timezone: str | None,
) -> Delivery:
    """Replace the user's delivery preferences; quiet hours are in their local time."""
    wanted = existing_stores(session, muted_store_ids, verb="mute")
    if quiet_hours is not None and _minutes(quiet_hours[0]) == _minutes(quiet_hours[1]):
        raise Invalid("quiet hours start and end at the same minute; give a real window")
    prefs = session.get(DeliveryPreferences, user.id)
    if prefs is None:
        prefs = DeliveryPreferences(user_id=user.id)
        session.add(prefs)
    prefs.max_per_day = max_per_day
    prefs.quiet_start_min = _minutes(quiet_hours[0]) if quiet_hours else None
    prefs.quiet_end_min = _minutes(quiet_hours[1]) if quiet_hours else None
    session.execute(delete(MutedStore).where(MutedStore.user_id == user.id))
    session.add_all(MutedStore(user_id=user.id, store_id=s) for s in wanted)
    if timezone is not None:
        user.timezone = timezone
    session.flush()
    return delivery_preferences(session, user=user)


def utc_offset_s(timezone: str, at: float) -> int:
    offset = datetime.fromtimestamp(at, UTC).astimezone(ZoneInfo(timezone)).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


# The profile.


def targeting_profile(
    session: Session, *, user_id: int, purpose: Purpose, default_policy: str, at: float
) -> TargetingProfile:
    """The only view of a user the decision gets: consented, active segments and delivery
    preferences; without consent for ``purpose``, nothing at all.

    Read from the database at decision time, never cached, so a withdrawal, a new policy
    version or a lapsed activation applies to the very next decision in every process,
    however old the phone's fixes are. ``at`` is the event's time, for the user's UTC
    offset then.

    Four reads: the user with their latest consent line and delivery preferences, the
    policy history, the taxonomy marked with what the user chose, the muted stores.
    """

    def latest(of: Purpose) -> Any:
        return (
            select(func.max(ConsentRecord.id))
            .where(ConsentRecord.user_id == user_id, ConsentRecord.purpose == of.value)
            .scalar_subquery()
        )

    looks = aliased(ConsentRecord)
    prefs = DeliveryPreferences
    row = session.execute(
        select(
            User.timezone,
            ConsentRecord.granted,
            ConsentRecord.policy_version,
            looks.granted.label("looks_granted"),
            looks.policy_version.label("looks_version"),
            prefs.max_per_day,
            prefs.quiet_start_min,
            prefs.quiet_end_min,
        )
        .select_from(User)
        .outerjoin(ConsentRecord, ConsentRecord.id == latest(purpose))
        .outerjoin(looks, looks.id == latest(Purpose.FRIENDS_LOOKS))
        .outerjoin(prefs, prefs.user_id == User.id)
        .where(User.id == user_id)
    ).first()
    if row is None or row.granted is None:
        return TargetingProfile(frozenset())
    history = policy_history(session, default_policy=default_policy)
    if not history.in_force(purpose=purpose.value, granted=row.granted, version=row.policy_version):
        return TargetingProfile(frozenset())
    friends_looks = bool(row.looks_granted) and history.in_force(
        purpose=Purpose.FRIENDS_LOOKS.value, granted=row.looks_granted, version=row.looks_version
    )
    segments = _chosen_segments(session, user_id)
    if not segments:
        return TargetingProfile(frozenset())
    muted = session.scalars(select(MutedStore.store_id).where(MutedStore.user_id == user_id))
    quiet = None
    if row.quiet_start_min is not None and row.quiet_end_min is not None:
        quiet = QuietHours(row.quiet_start_min, row.quiet_end_min)
    return TargetingProfile(
        segments=segments,
        max_per_day=row.max_per_day,
        quiet_hours=quiet,
        utc_offset_s=utc_offset_s(row.timezone, at),
        muted_store_ids=frozenset(muted),
        friends_looks=friends_looks,
    )


def _chosen_segments(session: Session, user_id: int) -> frozenset[str]:
    """The user's interests and active activations, expanded down the taxonomy: one read
    of the taxonomy with each segment marked chosen or not."""
    interested = select(Interest.segment_id).where(Interest.user_id == user_id)
    active = select(Activation.segment_id).where(
        Activation.user_id == user_id, Activation.until > utcnow()
    )
    chosen = or_(Segment.id.in_(interested), Segment.id.in_(active))
    rows = session.execute(
        select(Segment.id, Segment.slug, Segment.parent_id, chosen.label("chosen"))
    ).all()
    return expand([(r.id, r.slug, r.parent_id) for r in rows], [r.slug for r in rows if r.chosen])
