"""Pure rules: consent under a versioned policy, quiet hours, and decide()'s delivery
preferences (muted stores, quiet hours in local time, the daily cap)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifications.decide import OfferRule, Trigger, decide
from preferences.core import PolicyHistory, PolicyStep, QuietHours, TargetingProfile
from presence.core import Transition

PURPOSES = ("location_offers", "beacon_proximity", "friends_looks")


def _history(*published: tuple[str, set[str]], baseline: str = "2026-11") -> PolicyHistory:
    steps = [PolicyStep(v, frozenset(c)) for v, c in published]
    return PolicyHistory.of(steps, baseline=baseline, purposes=PURPOSES)


def test_the_baseline_is_current_until_a_version_is_published() -> None:
    history = _history()
    assert history.current == "2026-11"
    assert history.in_force(purpose="location_offers", granted=True, version="2026-11")


def test_a_version_that_changes_a_purpose_needs_fresh_consent_for_it_only() -> None:
    history = _history(("2027-01", {"location_offers"}))
    assert history.current == "2027-01"
    assert not history.in_force(purpose="location_offers", granted=True, version="2026-11")
    assert history.in_force(purpose="beacon_proximity", granted=True, version="2026-11")
    assert history.in_force(purpose="location_offers", granted=True, version="2027-01")


def test_consent_after_the_last_change_still_counts_under_later_versions() -> None:
    history = _history(("2027-01", {"location_offers"}), ("2027-06", {"friends_looks"}))
    assert history.in_force(purpose="location_offers", granted=True, version="2027-01")
    assert not history.in_force(purpose="friends_looks", granted=True, version="2027-01")


@pytest.mark.parametrize(
    ("granted", "version"), [(False, "2026-11"), (True, None), (True, "1999-01")]
)
def test_withdrawn_missing_or_unknown_consent_counts_for_nothing(
    granted: bool, version: str | None
) -> None:
    history = _history(("2027-01", set()))
    assert not history.in_force(purpose="location_offers", granted=granted, version=version)


def test_a_published_baseline_is_not_duplicated() -> None:
    history = _history(("2026-11", {"location_offers"}), ("2027-01", set()))
    assert [s.version for s in history.steps] == ["2026-11", "2027-01"]
    assert history.in_force(purpose="beacon_proximity", granted=True, version="2026-11")


@pytest.mark.parametrize(
    ("start", "end", "inside", "outside"),
    [
        (9 * 60, 17 * 60, [9 * 60, 16 * 60 + 59], [17 * 60, 8 * 60 + 59]),
        (22 * 60, 7 * 60, [22 * 60, 23 * 60 + 59, 0, 6 * 60 + 59], [7 * 60, 21 * 60 + 59]),
    ],
)
def test_quiet_hours_cover_their_window_even_across_midnight(
    start: int, end: int, inside: list[int], outside: list[int]
) -> None:
    quiet = QuietHours(start, end)
    assert all(quiet.covers(m) for m in inside)
    assert not any(quiet.covers(m) for m in outside)


NOON_UTC = datetime(2026, 11, 23, 12, 0, tzinfo=UTC).timestamp()


def _offer(offer_id: int, store_id: int, *segments: str) -> OfferRule:
    return OfferRule(offer_id, store_id, frozenset(segments), Transition.ENTER, None)


def _enter(store_id: int, at: float = NOON_UTC) -> Trigger:
    return Trigger(f"geofence:{store_id}", store_id, Transition.ENTER, at)


OFFERS = [_offer(1, 1, "fashion"), _offer(2, 2, "fashion"), _offer(3, 3, "fashion")]
TRIGGERS = [_enter(1), _enter(2), _enter(3)]


def test_muted_stores_get_nothing() -> None:
    profile = TargetingProfile(frozenset({"fashion"}), muted_store_ids=frozenset({2}))
    assert [d.store_id for d in decide(profile, TRIGGERS, OFFERS, frozenset())] == [1, 3]


def test_quiet_hours_follow_the_users_clock() -> None:
    # 12:00 UTC is 13:00 in Paris in November: quiet from 12:30 to 14:00 local.
    quiet = QuietHours(12 * 60 + 30, 14 * 60)
    paris = TargetingProfile(frozenset({"fashion"}), quiet_hours=quiet, utc_offset_s=3600)
    london = TargetingProfile(frozenset({"fashion"}), quiet_hours=quiet, utc_offset_s=0)
    assert decide(paris, TRIGGERS, OFFERS, frozenset()) == []
    assert len(decide(london, TRIGGERS, OFFERS, frozenset())) == 3


def test_the_daily_cap_counts_what_was_already_sent_that_day() -> None:
    profile = TargetingProfile(frozenset({"fashion"}), max_per_day=2)
    assert [d.offer_id for d in decide(profile, TRIGGERS, OFFERS, frozenset())] == [1, 2]
    assert [d.offer_id for d in decide(profile, TRIGGERS, OFFERS, frozenset({9}), 1)] == [1]
    assert decide(profile, TRIGGERS, OFFERS, frozenset(), 2) == []
    paused = TargetingProfile(frozenset({"fashion"}), max_per_day=0)
    assert decide(paused, TRIGGERS, OFFERS, frozenset()) == []


def test_the_profile_holds_segments_delivery_preferences_and_consents_only() -> None:
    assert list(TargetingProfile.__dataclass_fields__) == [
        "segments",
        "max_per_day",
        "quiet_hours",
        "utc_offset_s",
        "muted_store_ids",
        "friends_looks",
    ]


SEGMENTS = ["fashion", "shoes", "food", "wine", "tech"]
STORES = [1, 2, 3, 4]

offers_st = st.lists(
    st.builds(
        OfferRule,
        id=st.integers(1, 30),
        store_id=st.sampled_from(STORES),
        segments=st.frozensets(st.sampled_from(SEGMENTS), min_size=1, max_size=3),
        trigger=st.sampled_from([Transition.ENTER, Transition.DWELL]),
        zones=st.none(),
    ),
    max_size=12,
    unique_by=lambda o: o.id,
)
triggers_st = st.lists(
    st.builds(
        Trigger,
        zone=st.just("geofence:1"),
        store_id=st.sampled_from(STORES),
        transition=st.sampled_from(list(Transition)),
        at=st.floats(NOON_UTC - 86_400, NOON_UTC + 86_400),
    ),
    max_size=8,
)
quiet_st = st.none() | st.tuples(st.integers(0, 1439), st.integers(0, 1439)).filter(
    lambda t: t[0] != t[1]
).map(lambda t: QuietHours(*t))
profiles_st = st.builds(
    TargetingProfile,
    segments=st.frozensets(st.sampled_from(SEGMENTS)),
    max_per_day=st.none() | st.integers(0, 5),
    quiet_hours=quiet_st,
    utc_offset_s=st.integers(-12, 14).map(lambda h: h * 3600),
    muted_store_ids=st.frozensets(st.sampled_from(STORES)),
)


@given(
    profile=profiles_st,
    triggers=triggers_st,
    offers=offers_st,
    sent=st.frozensets(st.integers(1, 30)),
    pushed=st.integers(0, 6),
)
def test_decisions_respect_every_preference(
    profile: TargetingProfile,
    triggers: list[Trigger],
    offers: list[OfferRule],
    sent: frozenset[int],
    pushed: int,
) -> None:
    decisions = decide(profile, triggers, offers, sent, pushed)
    by_id = {o.id: o for o in offers}
    at_of = {(t.store_id, t.transition): t.at for t in triggers}
    if profile.max_per_day is not None:
        assert len(decisions) <= max(0, profile.max_per_day - pushed)
    assert len({d.offer_id for d in decisions}) == len(decisions)
    for d in decisions:
        assert d.offer_id not in sent
        assert d.store_id not in profile.muted_store_ids
        assert d.matched
        assert d.matched <= profile.segments & by_id[d.offer_id].segments
        assert d.transition is not Transition.EXIT
        assert (d.store_id, d.transition) in at_of


@given(profile=profiles_st, triggers=triggers_st, offers=offers_st)
def test_nothing_is_decided_during_quiet_hours(
    profile: TargetingProfile, triggers: list[Trigger], offers: list[OfferRule]
) -> None:
    quiet_triggers = [t for t in triggers if profile.quiet_at(t.at)]
    assert decide(profile, quiet_triggers, offers, frozenset()) == []
