"""Offer rules in decide_all(), table-driven: the per user-and-store cooldown."""

from __future__ import annotations

import pytest

from notifications.decide import LookRule, OfferRule, Suppression, Trigger, decide_all
from preferences.core import QuietHours, TargetingProfile
from presence.core import Transition

NOON = 1_795_435_200.0
HOUR = 3600.0
DAY = 24 * HOUR
OFFER = OfferRule(1, 1, frozenset({"fashion"}), Transition.ENTER, None)
DWELL_OFFER = OfferRule(2, 1, frozenset({"fashion"}), Transition.DWELL, None)
ELSEWHERE = OfferRule(3, 2, frozenset({"fashion"}), Transition.ENTER, None)
LOOK = LookRule(7, 1, 4.5, frozenset({"fashion"}))
PROFILE = TargetingProfile(frozenset({"fashion"}), friends_looks=True)


def _enter(store: int, at: float, zone: str = "geofence:1") -> Trigger:
    return Trigger(zone, store, Transition.ENTER, at)


def _keys(decisions: list) -> list[tuple[str, Suppression | None]]:  # type: ignore[type-arg]
    return [(d.key, d.suppressed) for d in decisions]


@pytest.mark.parametrize(
    ("last_push", "cooldown", "at", "expected"),
    [
        # No push from the store yet: both candidates of the visit go out together.
        ({}, DAY, NOON, ["offer:1", "look:7"]),
        # Pushed an hour ago: nothing from this store, offers and looks alike.
        ({1: NOON - HOUR}, DAY, NOON, []),
        # Just inside and just past the cooldown.
        ({1: NOON - DAY + 1}, DAY, NOON, []),
        ({1: NOON - DAY}, DAY, NOON, ["offer:1", "look:7"]),
        # A shorter cooldown, passed.
        ({1: NOON - 2 * HOUR}, HOUR, NOON, ["offer:1", "look:7"]),
        # 0 disables the cooldown.
        ({1: NOON - 1}, 0.0, NOON, ["offer:1", "look:7"]),
        # Another store's push does not hold this one back.
        ({2: NOON - HOUR}, DAY, NOON, ["offer:1", "look:7"]),
    ],
)
def test_the_store_cooldown_after_an_earlier_push(
    last_push: dict[int, float], cooldown: float, at: float, expected: list[str]
) -> None:
    decisions = decide_all(
        PROFILE,
        [_enter(1, at)],
        [OFFER],
        frozenset(),
        looks=[LOOK],
        last_push_at_by_store=last_push,
        store_cooldown_s=cooldown,
    )
    assert _keys(decisions) == [(k, None) for k in expected]


@pytest.mark.parametrize(
    ("cooldown", "expected"),
    [
        # The DWELL an hour after the ENTER's push, same store: held by the cooldown;
        # the other store's ENTER is not.
        (DAY, ["offer:1", "offer:3"]),
        # Without it both go out; at that instant the store that has not pushed yet
        # ranks first (fairness).
        (0.0, ["offer:1", "offer:3", "offer:2"]),
    ],
)
def test_the_cooldown_starts_at_a_push_within_the_same_batch(
    cooldown: float, expected: list[str]
) -> None:
    triggers = [
        _enter(1, NOON),
        Trigger("geofence:1", 1, Transition.DWELL, NOON + HOUR),
        _enter(2, NOON + HOUR, "geofence:2"),
    ]
    decisions = decide_all(
        PROFILE,
        triggers,
        [OFFER, DWELL_OFFER, ELSEWHERE],
        frozenset(),
        store_cooldown_s=cooldown,
    )
    assert _keys(decisions) == [(k, None) for k in expected]


def test_two_zones_of_one_store_entered_at_once_push_once() -> None:
    triggers = [_enter(1, NOON, "geofence:1"), _enter(1, NOON, "geofence:9")]
    decisions = decide_all(PROFILE, triggers, [OFFER], frozenset(), store_cooldown_s=DAY)
    assert _keys(decisions) == [("offer:1", None)]
    assert decisions[0].zone == "geofence:1"


def test_a_suppressed_decision_starts_no_cooldown_and_the_cooldown_records_nothing() -> None:
    # Quiet hours hold the ENTER back (recorded, suppressed); it is not a push, so the
    # DWELL after the window is still sent.
    quiet = TargetingProfile(frozenset({"fashion"}), quiet_hours=QuietHours(11 * 60, 12 * 60 + 30))
    triggers = [_enter(1, NOON), Trigger("geofence:1", 1, Transition.DWELL, NOON + HOUR)]
    decisions = decide_all(quiet, triggers, [OFFER, DWELL_OFFER], frozenset(), store_cooldown_s=DAY)
    assert _keys(decisions) == [("offer:1", Suppression.QUIET_HOURS), ("offer:2", None)]
    # Held back by the cooldown: no decision at all, not even a suppressed one.
    cooled = decide_all(
        quiet,
        [_enter(1, NOON)],
        [OFFER],
        frozenset(),
        last_push_at_by_store={1: NOON - HOUR},
        store_cooldown_s=DAY,
    )
    assert cooled == []


# Priority and the order of the last slot of the daily cap.

TWO = frozenset({"fashion", "shoes"})
BOTH = TargetingProfile(TWO, max_per_day=1, friends_looks=True)


def _offer(ident: int, priority: int = 0, segments: frozenset[str] = TWO) -> OfferRule:
    return OfferRule(ident, 1, segments, Transition.ENTER, None, priority=priority)


@pytest.mark.parametrize(
    ("offers", "look", "winner", "runner_up", "decided_by"),
    [
        # A higher priority beats a lower id and a larger overlap.
        ([_offer(1), _offer(2, priority=5)], None, "offer:2", "offer:1", "priority"),
        (
            [_offer(1, segments=TWO), _offer(2, 1, frozenset({"shoes"}))],
            None,
            "offer:2",
            "offer:1",
            "priority",
        ),
        # At equal priority, the larger segment overlap.
        (
            [_offer(1, segments=frozenset({"shoes"})), _offer(2)],
            None,
            "offer:2",
            "offer:1",
            "overlap",
        ),
        # Equal priority and overlap: offers before looks (today's rule), then the id.
        ([_offer(3)], LookRule(1, 1, 9.0, TWO), "offer:3", "look:1", "kind"),
        ([_offer(4), _offer(3)], None, "offer:3", "offer:4", "id"),
        # A look's larger overlap beats an offer's smaller one.
        (
            [_offer(1, segments=frozenset({"shoes"}))],
            LookRule(9, 1, 1.0, TWO),
            "look:9",
            "offer:1",
            "overlap",
        ),
        # A negative priority goes after a look.
        ([_offer(1, priority=-1)], LookRule(9, 1, 1.0, TWO), "look:9", "offer:1", "priority"),
    ],
)
def test_the_last_slot_goes_by_priority_overlap_kind_then_id(
    offers: list[OfferRule],
    look: LookRule | None,
    winner: str,
    runner_up: str,
    decided_by: str,
) -> None:
    looks = [look] if look else []
    decisions = decide_all(BOTH, [_enter(1, NOON)], offers, frozenset(), looks=looks)
    assert _keys(decisions) == [(winner, None), (runner_up, Suppression.DAILY_CAP)]
    assert [d.decided_by for d in decisions] == [decided_by, decided_by]
    assert decisions[0].competed == (runner_up,)


def test_decided_by_names_the_rule_against_the_nearest_rival_and_is_none_alone() -> None:
    # Three candidates, two slots: the second send is set against the held-back third.
    profile = TargetingProfile(TWO, max_per_day=2)
    offers = [_offer(1, priority=3), _offer(2, segments=frozenset({"shoes"})), _offer(3)]
    decisions = decide_all(profile, [_enter(1, NOON)], offers, frozenset())
    assert _keys(decisions) == [
        ("offer:1", None),
        ("offer:3", None),
        ("offer:2", Suppression.DAILY_CAP),
    ]
    assert [d.decided_by for d in decisions] == ["priority", "overlap", "overlap"]
    [alone] = decide_all(profile, [_enter(1, NOON)], [_offer(1)], frozenset())
    assert alone.decided_by is None
