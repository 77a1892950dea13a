"""Friends' looks in decide_all(): same rules as offers, the same daily cap, offers first."""

from __future__ import annotations

from notifications.decide import LookRule, OfferRule, Suppression, Trigger, decide_all
from preferences.core import QuietHours, TargetingProfile
from presence.core import Transition

NOON = 1_795_435_200.0
OFFER = OfferRule(1, 1, frozenset({"fashion"}), Transition.ENTER, None)
# Two looks featuring store 1's items, already ranked by looks.rank (score, shared).
BEST = LookRule(7, 1, 4.5, frozenset({"fashion"}))
NEXT = LookRule(8, 1, 1.2, frozenset())
ENTER = [Trigger("geofence:1", 1, Transition.ENTER, NOON)]


def _profile(**prefs: object) -> TargetingProfile:
    return TargetingProfile(frozenset({"fashion"}), friends_looks=True, **prefs)  # type: ignore[arg-type]


def _keys(decisions: list) -> list[tuple[str, Suppression | None]]:  # type: ignore[type-arg]
    return [(d.key, d.suppressed) for d in decisions]


def test_an_enter_pushes_the_offer_and_the_best_look() -> None:
    decisions = decide_all(_profile(), ENTER, [OFFER], frozenset(), looks=[NEXT, BEST])
    assert _keys(decisions) == [("offer:1", None), ("look:7", None)]
    look = decisions[1]
    assert (look.offer_id, look.look_id, look.rule) == (None, 7, "one_per_look_per_day")
    assert look.matched == {"fashion"}
    assert look.competed == ("offer:1",)


def test_no_look_without_the_consent_or_on_exit() -> None:
    without = TargetingProfile(frozenset({"fashion"}))
    assert _keys(decide_all(without, ENTER, [], frozenset(), looks=[BEST])) == []
    exit_ = [Trigger("geofence:1", 1, Transition.EXIT, NOON)]
    assert _keys(decide_all(_profile(), exit_, [], frozenset(), looks=[BEST])) == []
    dwell = [Trigger("geofence:1", 1, Transition.DWELL, NOON)]
    assert _keys(decide_all(_profile(), dwell, [], frozenset(), looks=[BEST])) == [("look:7", None)]


def test_offers_come_first_when_the_daily_cap_leaves_one_slot() -> None:
    decisions = decide_all(_profile(max_per_day=1), ENTER, [OFFER], frozenset(), looks=[BEST])
    assert _keys(decisions) == [("offer:1", None), ("look:7", Suppression.DAILY_CAP)]
    assert decisions[1].competed == ("offer:1",)
    # The offer already pushed today: the look takes the slot.
    later = decide_all(_profile(max_per_day=2), ENTER, [OFFER], frozenset({1}), 1, looks=[BEST])
    assert _keys(later) == [("look:7", None)]


def test_one_push_per_look_per_day_then_the_next_ranked() -> None:
    decisions = decide_all(
        _profile(), ENTER, [], frozenset(), looks=[BEST, NEXT], looks_sent_today=frozenset({7})
    )
    assert _keys(decisions) == [("look:8", None)]
    both = frozenset({7, 8})
    assert decide_all(_profile(), ENTER, [], frozenset(), looks=[BEST], looks_sent_today=both) == []


def test_quiet_hours_and_mutes_hold_looks_as_they_hold_offers() -> None:
    quiet = _profile(quiet_hours=QuietHours(11 * 60, 13 * 60))
    held = decide_all(quiet, ENTER, [], frozenset(), looks=[BEST])
    assert _keys(held) == [("look:7", Suppression.QUIET_HOURS)]
    again = decide_all(
        quiet, ENTER, [], frozenset(), looks=[BEST], looks_suppressed_today=frozenset({7})
    )
    assert again == []  # recorded once a day
    muted = _profile(muted_store_ids=frozenset({1}))
    assert decide_all(muted, ENTER, [OFFER], frozenset(), looks=[BEST]) == []


def test_a_look_of_another_store_is_not_pushed_here() -> None:
    elsewhere = LookRule(9, 2, 9.0, frozenset({"fashion"}))
    assert decide_all(_profile(), ENTER, [], frozenset(), looks=[elsewhere]) == []
