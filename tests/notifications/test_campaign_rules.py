"""Campaign rules in the pure decision, table-driven: schedules, budgets, NFC taps,
place-bound offers in quiet hours, holdout, and ranking across stores."""

from __future__ import annotations

from dataclasses import replace

import pytest

from notifications.decide import (
    Decision,
    History,
    LookRule,
    OfferRule,
    Pacing,
    Schedule,
    Skip,
    Suppression,
    Trigger,
    decide_outcome,
)
from notifications.holdout import BUCKETS, bucket, held_out
from preferences.core import QuietHours, TargetingProfile
from presence.core import Transition

# Monday 2026-11-23 12:00 UTC.
NOON = 1_795_435_200.0
HOUR = 3600.0
OFFER = OfferRule(1, 1, frozenset({"fashion"}), Transition.ENTER, None)
PROFILE = TargetingProfile(frozenset({"fashion", "shoes"}))


def _enter(store: int = 1, at: float = NOON, zone: str = "geofence:1") -> Trigger:
    return Trigger(zone, store, Transition.ENTER, at)


def _decide(
    offers: list[OfferRule],
    triggers: list[Trigger] | None = None,
    profile: TargetingProfile = PROFILE,
    history: History | None = None,
    **pacing: object,
) -> tuple[list[Decision], list[tuple[str, Skip]]]:
    out = decide_outcome(
        profile,
        triggers or [_enter()],
        offers,
        history or History(),
        Pacing(**pacing),  # type: ignore[arg-type]
    )
    return out.decisions, [(s.key, s.reason) for s in out.skipped]


LUNCH_WEEKDAYS = Schedule(frozenset(range(5)), 11 * 60, 14 * 60)
NIGHTS = Schedule(frozenset({4}), 22 * 60, 2 * 60)  # Friday 22:00 to Saturday 02:00


@pytest.mark.parametrize(
    ("schedule", "at", "offset_s", "open_"),
    [
        (LUNCH_WEEKDAYS, NOON, 0, True),
        (LUNCH_WEEKDAYS, NOON + 2 * HOUR, 0, False),  # 14:00: the window's end is out
        (LUNCH_WEEKDAYS, NOON - HOUR - 1, 0, False),  # 10:59:59
        (LUNCH_WEEKDAYS, NOON + 5 * 24 * HOUR, 0, False),  # Saturday
        # 12:00 UTC is 13:00 in Paris (UTC+1 in November): open; 13:30 UTC is 14:30 there.
        (LUNCH_WEEKDAYS, NOON, 3600, True),
        (LUNCH_WEEKDAYS, NOON + 1.5 * HOUR, 3600, False),
        # Across midnight: Friday 23:00 and Saturday 01:00 are in, Saturday 23:00 is not.
        (NIGHTS, NOON + 4 * 24 * HOUR + 11 * HOUR, 0, True),
        (NIGHTS, NOON + 4 * 24 * HOUR + 13 * HOUR, 0, True),
        (NIGHTS, NOON + 5 * 24 * HOUR + 11 * HOUR, 0, False),
        (NIGHTS, NOON + 4 * 24 * HOUR, 0, False),  # Friday noon
        # All day on the days named.
        (Schedule(frozenset({0})), NOON, 0, True),
        (Schedule(frozenset({1})), NOON, 0, False),
    ],
)
def test_an_offer_fires_within_its_schedule_in_the_store_s_time(
    schedule: Schedule, at: float, offset_s: int, open_: bool
) -> None:
    offer = replace(OFFER, schedule=schedule)
    decisions, skipped = _decide([offer], [_enter(at=at)], store_utc_offset_s={1: offset_s})
    assert [d.key for d in decisions] == (["offer:1"] if open_ else [])
    assert skipped == ([] if open_ else [("offer:1", Skip.SCHEDULE)])


@pytest.mark.parametrize(
    ("left", "expected_sent", "expected_skipped"),
    [
        ({}, [], ["offer:1"]),  # budgeted, nothing read: nothing left
        ({1: 0}, [], ["offer:1"]),
        ({1: 1}, ["offer:1"], []),
    ],
)
def test_a_spent_budget_skips_the_offer_without_telling_the_user(
    left: dict[int, int], expected_sent: list[str], expected_skipped: list[str]
) -> None:
    offer = replace(OFFER, has_budget=True)
    decisions, skipped = _decide([offer], budget_left=left)
    assert [d.key for d in decisions] == expected_sent
    assert skipped == [(k, Skip.BUDGET) for k in expected_skipped]


def test_an_unbudgeted_offer_ignores_budget_counts() -> None:
    decisions, skipped = _decide([OFFER], budget_left={})
    assert [d.key for d in decisions] == ["offer:1"]
    assert skipped == []


@pytest.mark.parametrize(
    ("zone", "transition", "fires"),
    [
        ("nfc:1:till", Transition.ENTER, True),
        ("geofence:1", Transition.ENTER, False),
        ("beacon:1:shoes", Transition.ENTER, False),
    ],
)
def test_a_tap_offer_fires_on_the_store_s_nfc_tags_only(
    zone: str, transition: Transition, fires: bool
) -> None:
    tap = replace(OFFER, zone_kind="nfc")
    decisions, _ = _decide([tap], [Trigger(zone, 1, transition, NOON)])
    assert [d.key for d in decisions] == (["offer:1"] if fires else [])


QUIET = TargetingProfile(frozenset({"fashion"}), quiet_hours=QuietHours(11 * 60, 13 * 60))


@pytest.mark.parametrize(
    ("place_bound", "ends_at", "suppressed", "deferred_until"),
    [
        # Place-bound (the default): dropped, with its reason.
        (True, None, Suppression.QUIET_HOURS, None),
        # Not place-bound, still valid at 13:00: deferred to the window's end.
        (False, None, None, NOON + HOUR),
        (False, NOON + 2 * HOUR, None, NOON + HOUR),
        # Not place-bound but over by 13:00: dropped.
        (False, NOON + HOUR, Suppression.QUIET_HOURS, None),
    ],
)
def test_quiet_hours_drop_a_place_bound_offer_and_defer_another(
    place_bound: bool,
    ends_at: float | None,
    suppressed: Suppression | None,
    deferred_until: float | None,
) -> None:
    offer = replace(OFFER, place_bound=place_bound, ends_at=ends_at)
    [decision], _ = _decide([offer], profile=QUIET)
    assert (decision.suppressed, decision.deferred_until) == (suppressed, deferred_until)
    assert decision.pushed is (suppressed is None)


def test_quiet_hours_end_on_the_user_s_clock() -> None:
    """Quiet 11:00-13:00 local for a user at UTC+2: 12:00 UTC is 14:00 there, not quiet;
    10:00 UTC (12:00 local) is deferred to 11:00 UTC."""
    profile = replace(QUIET, utc_offset_s=7200)
    offer = replace(OFFER, place_bound=False)
    [now] = _decide([offer], profile=profile)[0]
    assert now.deferred_until is None
    assert now.suppressed is None
    [later] = _decide([offer], [_enter(at=NOON - 2 * HOUR)], profile=profile)[0]
    assert later.deferred_until == NOON - HOUR


def test_a_deferred_push_counts_against_the_daily_cap() -> None:
    profile = replace(QUIET, max_per_day=1)
    offers = [replace(OFFER, place_bound=False), replace(OFFER, id=2, place_bound=False)]
    decisions, _ = _decide(offers, profile=profile)
    assert [(d.key, d.suppressed) for d in decisions] == [
        ("offer:1", None),
        ("offer:2", Suppression.DAILY_CAP),
    ]


@pytest.mark.parametrize(
    ("ends_at", "expires_at"),
    [(None, NOON + 1800), (NOON + 600, NOON + 600), (NOON + 7200, NOON + 1800)],
)
def test_a_place_bound_push_expires_with_the_expected_visit(
    ends_at: float | None, expires_at: float
) -> None:
    [decision], _ = _decide([replace(OFFER, ends_at=ends_at)], visit_s=1800.0)
    assert decision.expires_at == expires_at
    assert decision.place_bound


def test_an_unbound_push_expires_with_its_offer() -> None:
    [decision], _ = _decide([replace(OFFER, place_bound=False, ends_at=NOON + 7200)])
    assert decision.expires_at == NOON + 7200
    assert not decision.place_bound


def test_a_held_out_user_is_recorded_not_pushed_and_keeps_the_slot_for_another() -> None:
    """The control group's would-be push neither counts against the cap nor starts the
    store's cooldown: the next candidate takes the one push of the day."""
    profile = replace(PROFILE, max_per_day=1)
    offers = [replace(OFFER, priority=5), replace(OFFER, id=2)]
    decisions, _ = _decide(offers, profile=profile, held_out=frozenset({1}))
    assert [(d.key, d.held_out, d.suppressed) for d in decisions] == [
        ("offer:1", True, None),
        ("offer:2", False, None),
    ]
    assert [d.pushed for d in decisions] == [False, True]


def test_a_held_back_decision_is_not_held_out() -> None:
    """Quiet hours hold it back before the holdout applies: the control group is made of
    would-be pushes only, so the lift compares like with like."""
    [decision], _ = _decide([OFFER], profile=QUIET, held_out=frozenset({1}))
    assert decision.suppressed is Suppression.QUIET_HOURS
    assert not decision.held_out


def test_holdout_groups_are_stable_and_proportional() -> None:
    users = range(20_000)
    ten = [u for u in users if held_out(u, [(7, 10)])]
    assert 0.09 <= len(ten) / len(users) <= 0.11
    # Stable: the same users, every time; independent of other offers' shares.
    assert ten == [u for u in users if 7 in held_out(u, [(7, 10), (8, 50)])]
    assert all(bucket(7, u) < 10 * BUCKETS // 100 for u in ten)
    # Another offer splits users independently: about 10% of one group is in the other's.
    other = {u for u in users if held_out(u, [(8, 10)])}
    assert 0.06 <= len(other & set(ten)) / len(ten) <= 0.14
    assert held_out(1, [(7, 0)]) == frozenset()


def test_a_store_that_pushed_recently_ranks_lower_for_the_contested_slot() -> None:
    """Two stores' offers enter at once with room for one push: the store that pushed
    this user most recently loses, and the decision says fairness decided."""
    profile = replace(PROFILE, max_per_day=2)
    offers = [OFFER, replace(OFFER, id=2, store_id=2)]
    triggers = [_enter(1), _enter(2, zone="geofence:2")]
    history = History(pushed_today=1, last_push_at_by_store={1: NOON - 3 * HOUR})
    decisions, _ = _decide(offers, triggers, profile=profile, history=history)
    assert [(d.key, d.suppressed, d.decided_by) for d in decisions] == [
        ("offer:2", None, "fairness"),
        ("offer:1", Suppression.DAILY_CAP, "fairness"),
    ]
    assert decisions[0].competed == ("offer:1",)


def test_the_newer_offer_wins_at_equal_priority_and_overlap() -> None:
    profile = replace(PROFILE, max_per_day=1)
    offers = [replace(OFFER, fresh_at=NOON - 10 * HOUR), replace(OFFER, id=2, fresh_at=NOON - HOUR)]
    decisions, _ = _decide(offers, profile=profile)
    assert [(d.key, d.suppressed, d.decided_by) for d in decisions] == [
        ("offer:2", None, "freshness"),
        ("offer:1", Suppression.DAILY_CAP, "freshness"),
    ]


def test_one_offer_reached_through_two_zones_at_once_is_decided_once() -> None:
    triggers = [_enter(zone="geofence:1"), _enter(zone="beacon:1:shoes")]
    decisions, _ = _decide([OFFER], triggers)
    assert [d.key for d in decisions] == ["offer:1"]
    assert decisions[0].competed == ()


def test_the_cooldown_is_reported_as_a_skip() -> None:
    history = History(last_push_at_by_store={1: NOON - HOUR})
    decisions, skipped = _decide([OFFER], history=history, store_cooldown_s=24 * HOUR)
    assert decisions == []
    assert skipped == [("offer:1", Skip.COOLDOWN)]


def test_a_flash_offer_fires_only_on_a_broadcast() -> None:
    flash = replace(OFFER, id=9, broadcast=True)
    assert [d.key for d in _decide([flash, OFFER])[0]] == ["offer:1"]
    broadcast = Trigger("geofence:1", 1, Transition.ENTER, NOON, broadcast=True)
    [decision], _ = _decide([flash, OFFER], [broadcast])
    assert (decision.key, decision.rule) == ("offer:9", "broadcast")


@pytest.mark.parametrize(
    ("dwell_s", "dwelled_s", "checkpoint", "fires"),
    [
        (None, 300.0, False, True),  # the zone's own DWELL
        (None, 700.0, True, False),  # checkpoints are for offers asking for a dwell time
        (600.0, 300.0, False, False),
        (600.0, 599.0, True, False),
        (600.0, 600.0, True, True),
        (600.0, 900.0, True, True),
        (600.0, None, False, False),
    ],
)
def test_a_dwell_offer_waits_for_its_dwell_time(
    dwell_s: float | None, dwelled_s: float | None, checkpoint: bool, fires: bool
) -> None:
    offer = replace(OFFER, trigger=Transition.DWELL, dwell_s=dwell_s)
    trig = Trigger(
        "geofence:1", 1, Transition.DWELL, NOON, dwelled_s=dwelled_s, checkpoint=checkpoint
    )
    decisions, _ = _decide([offer], [trig])
    assert [d.key for d in decisions] == (["offer:1"] if fires else [])


def test_a_friend_s_look_is_not_pushed_on_a_checkpoint() -> None:
    looks_profile = replace(PROFILE, friends_looks=True)
    look = LookRule(7, 1, 1.0, frozenset({"fashion"}))
    trig = Trigger("geofence:1", 1, Transition.DWELL, NOON, dwelled_s=900.0, checkpoint=True)
    out = decide_outcome(looks_profile, [trig], [], History(), Pacing(), looks=[look])
    assert out.decisions == []
