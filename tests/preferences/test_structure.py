"""The structural guarantee: the decision sees a TargetingProfile and nothing else about a
person. Its module cannot reach user, device or location code (import graph), and two
users who share consented segments and delivery preferences get the same decisions
however different they are otherwise (hypothesis, on decide() and through the service)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from accounts.service import register_device, register_user
from kernel.config import Settings
from kernel.db import unit_of_work
from notifications.decide import LookRule, OfferRule, Trigger, decide, decide_all
from notifications.models import Notification
from notifications.service import on_presence
from offers.models import Offer
from preferences.core import Purpose, QuietHours, TargetingProfile
from preferences.segments import segments_by_slug
from preferences.service import activate, record_consent, set_delivery_preferences, set_interests
from presence.core import Transition
from stores.models import Store

ROOT = Path(__file__).resolve().parents[2]
DECISION = "notifications.decide"
# Anything that knows who or where a person is, or how they are stored.
FORBIDDEN = (
    "accounts",
    "geofence",
    "beacons",
    "stores",
    "offers",
    "preferences.service",
    "preferences.models",
    "preferences.segments",
    "preferences.api",
    "privacy",
    "server",
    "demo",
    "notifications.models",
    "notifications.service",
    "notifications.push",
    "notifications.tasks",
    "notifications.api",
    "sqlalchemy",
    "geoalchemy2",
    "redis",
    "celery",
    "fastapi",
    "starlette",
    "pydantic",
    "httpx",
    "requests",
    "firebase_admin",
)


def test_the_decision_contract_holds() -> None:
    """import-linter walks the whole import graph (indirect imports, TYPE_CHECKING blocks)."""
    lint = Path(sys.executable).with_name("lint-imports")
    out = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, check=False)
    assert "The decision knows a person only through their TargetingProfile KEPT" in out.stdout
    assert out.returncode == 0, out.stdout


def test_importing_the_decision_loads_none_of_it() -> None:
    code = (
        "import sys, notifications.decide as d; "
        f"bad = {FORBIDDEN!r}; "
        "print(sorted(m for m in sys.modules if any(m == b or m.startswith(b + '.') "
        "for b in bad)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_decide_takes_a_profile_and_events_only() -> None:
    annotations = decide.__annotations__
    assert set(annotations) == {
        "profile",
        "triggers",
        "offers",
        "sent_today",
        "pushed_today",
        "return",
    }
    for field in dataclasses.fields(TargetingProfile):
        assert field.name in {
            "segments",
            "max_per_day",
            "quiet_hours",
            "utc_offset_s",
            "muted_store_ids",
            "friends_looks",
        }
    # The full decision adds what was already decided today and friends' looks, seen as
    # ranked looks (id, store, score, shared segments), never as a friend.
    assert set(decide_all.__annotations__) == {
        "profile",
        "triggers",
        "offers",
        "sent_today",
        "pushed_today",
        "suppressed_today",
        "looks",
        "looks_sent_today",
        "looks_suppressed_today",
        "last_push_at_by_store",
        "store_cooldown_s",
        "return",
    }
    assert [f.name for f in dataclasses.fields(LookRule)] == ["id", "store_id", "score", "shared"]


# decide() directly.

SEGMENTS = ["fashion", "shoes", "food", "wine", "tech", "tableware"]
NOON = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Choices:
    """What two people share: consented segments and delivery preferences; and the events."""

    segments: list[str]
    activated: list[str]
    max_per_day: int | None
    quiet: tuple[int, int] | None
    muted: list[int]  # indices into the street's stores
    events: list[tuple[int, Transition, int]]  # (store index, transition, seconds into day)


choices_st = st.builds(
    Choices,
    segments=st.lists(st.sampled_from(SEGMENTS), max_size=4, unique=True),
    activated=st.lists(st.sampled_from(SEGMENTS), max_size=2, unique=True),
    max_per_day=st.none() | st.integers(0, 3),
    quiet=st.none()
    | st.tuples(st.integers(0, 1439), st.integers(0, 1439)).filter(lambda t: t[0] != t[1]),
    muted=st.lists(st.integers(0, 2), max_size=2, unique=True),
    events=st.lists(
        st.tuples(st.integers(0, 2), st.sampled_from(list(Transition)), st.integers(0, 86_399)),
        min_size=1,
        max_size=6,
    ),
)


def _offer_rules(store_ids: list[int]) -> list[OfferRule]:
    plan = [("fashion",), ("shoes",), ("food", "wine"), ("tech",), ("tableware",), ("wine",)]
    return [
        OfferRule(i + 1, store_ids[i % 3], frozenset(segs), Transition.ENTER, None)
        for i, segs in enumerate(plan)
    ] + [OfferRule(10, store_ids[0], frozenset({"fashion"}), Transition.DWELL, None)]


def _triggers(choices: Choices, store_ids: list[int]) -> list[Trigger]:
    start = NOON.replace(hour=0).timestamp()
    return sorted(
        (
            Trigger(f"geofence:{store_ids[s]}", store_ids[s], t, start + dt)
            for s, t, dt in choices.events
        ),
        key=lambda t: t.at,
    )


@given(choices=choices_st, data=st.data())
def test_equal_profiles_from_different_people_decide_alike(
    choices: Choices, data: st.DataObject
) -> None:
    stores = [1, 2, 3]

    def profile() -> TargetingProfile:
        # Built afresh for each person: equal content, separate objects, shuffled order.
        segments = data.draw(st.permutations([*choices.segments, *choices.activated]))
        return TargetingProfile(
            segments=frozenset(segments),
            max_per_day=choices.max_per_day,
            quiet_hours=QuietHours(*choices.quiet) if choices.quiet else None,
            utc_offset_s=3600,
            muted_store_ids=frozenset(stores[i] for i in choices.muted),
        )

    offers, triggers = _offer_rules(stores), _triggers(choices, stores)
    assert decide(profile(), triggers, offers, frozenset()) == decide(
        profile(), triggers, offers, frozenset()
    )


# Through the service, with two users in the database.

SAME_OFFSET_ZONES = [
    ("Europe/Paris", "Europe/Berlin"),
    ("UTC", "Africa/Abidjan"),
    ("America/New_York", "America/Toronto"),
    ("Asia/Tokyo", "Asia/Seoul"),
]


@pytest.fixture
def street(sessions: sessionmaker[Session]) -> list[int]:
    """Three stores and the offers of ``_offer_rules``, written to the database."""
    with unit_of_work(sessions) as session:
        stores = [Store(name=f"Store {i}") for i in range(3)]
        session.add_all(stores)
        session.flush()
        ids = [s.id for s in stores]
        for rule in _offer_rules(ids):
            session.add(
                Offer(
                    id=rule.id,
                    store_id=rule.store_id,
                    title=f"Offer {rule.id}",
                    body="…",
                    trigger=rule.trigger.value,
                    segments=segments_by_slug(session, sorted(rule.segments)),
                )
            )
    return ids


def _minute(m: int) -> time:
    return time(m // 60, m % 60)


def _person(
    session: Session,
    choices: Choices,
    store_ids: list[int],
    *,
    locale: str,
    timezone: str,
    extra: bool,
    default_policy: str,
) -> int:
    """A user with the shared choices; ``extra`` adds everything else a person may have."""
    user, _token = register_user(session, locale=locale, timezone=timezone)
    purposes = dict.fromkeys(Purpose, True) if extra else {Purpose.LOCATION_OFFERS: True}
    record_consent(
        session,
        user=user,
        choices=purposes,
        policy_version=default_policy,
        default_policy=default_policy,
        source="onboarding" if extra else "settings",
        app_version="9.9.9" if extra else None,
    )
    set_interests(session, user=user, slugs=choices.segments)
    for slug in choices.activated:
        now = datetime.now(UTC)
        activate(session, user=user, slug=slug, until=now + timedelta(days=3), now=now, max_days=30)
    set_delivery_preferences(
        session,
        user=user,
        max_per_day=choices.max_per_day,
        quiet_hours=(_minute(choices.quiet[0]), _minute(choices.quiet[1]))
        if choices.quiet
        else None,
        muted_store_ids=[store_ids[i] for i in choices.muted],
        timezone=None,
    )
    if extra:
        for n in range(2):
            register_device(session, user=user, token=f"tok-{user.id}-{n}", platform="ios")
        # Pushes on other days do not count towards today's cap.
        session.add(
            Notification(
                user_id=user.id,
                offer_id=1,
                store_id=store_ids[0],
                zone="geofence:0",
                trigger="enter",
                reason={},
                title="old",
                body="old",
                day=date(2026, 11, 1),
                created_at=datetime(2026, 11, 1, 12, tzinfo=UTC),
            )
        )
    session.flush()
    return user.id


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(choices=choices_st, zones=st.sampled_from(SAME_OFFSET_ZONES))
def test_two_users_with_the_same_choices_get_the_same_pushes(
    sessions: sessionmaker[Session],
    street: list[int],
    settings: Settings,
    choices: Choices,
    zones: tuple[str, str],
) -> None:
    policy = settings.policy_version
    with unit_of_work(sessions) as session:
        people = [
            _person(
                session,
                choices,
                street,
                locale=locale,
                timezone=zone,
                extra=extra,
                default_policy=policy,
            )
            for locale, zone, extra in (("en", zones[0], False), ("fr", zones[1], True))
        ]
    triggers = _triggers(choices, street)
    outcomes = []
    for user_id in people:
        with unit_of_work(sessions) as session:
            notes = on_presence(
                session,
                user_id=user_id,
                triggers=triggers,
                purpose=Purpose.LOCATION_OFFERS,
                policy_version=policy,
                enqueue=lambda _note_id: None,
            )
            outcomes.append(
                [(n.offer_id, n.zone, n.trigger, n.day, n.reason["segments"]) for n in notes]
            )
    assert outcomes[0] == outcomes[1]
    event("pushes per user", str(min(len(outcomes[0]), 2)))
