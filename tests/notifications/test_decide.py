"""decide_all(): sends and suppressed decisions, table-tested (pure, no I/O)."""

from __future__ import annotations

import pytest

from notifications.decide import OfferRule, Suppression, Trigger, decide, decide_all
from preferences.core import QuietHours, TargetingProfile
from presence.core import Transition

NOON = 1_795_435_200.0  # 2026-11-23 12:00 UTC (minute 720 of the UTC day)
QUIET_NOW = QuietHours(11 * 60, 13 * 60)
QUIET_LATER = QuietHours(14 * 60, 15 * 60)
OFFERS = [
    OfferRule(1, 1, frozenset({"fashion"}), Transition.ENTER, None),
    OfferRule(2, 1, frozenset({"fashion"}), Transition.ENTER, None),
]
ENTER = [Trigger("geofence:1", 1, Transition.ENTER, NOON)]
Q, CAP = Suppression.QUIET_HOURS, Suppression.DAILY_CAP


def _profile(**prefs: object) -> TargetingProfile:
    return TargetingProfile(frozenset({"fashion"}), **prefs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("case", "profile", "sent", "pushed", "held", "expected"),
    [
        ("no preference: both sent", _profile(), (), 0, (), [(1, None), (2, None)]),
        (
            "quiet hours: both held back",
            _profile(quiet_hours=QUIET_NOW),
            (),
            0,
            (),
            [(1, Q), (2, Q)],
        ),
        ("quiet later: sent", _profile(quiet_hours=QUIET_LATER), (), 0, (), [(1, None), (2, None)]),
        ("cap of one: second held", _profile(max_per_day=1), (), 0, (), [(1, None), (2, CAP)]),
        ("cap already reached", _profile(max_per_day=1), (), 1, (), [(1, CAP), (2, CAP)]),
        ("paused (cap 0)", _profile(max_per_day=0), (), 0, (), [(1, CAP), (2, CAP)]),
        ("already sent today: skipped", _profile(), (1,), 1, (), [(2, None)]),
        (
            "already held back today: not recorded twice",
            _profile(quiet_hours=QUIET_NOW),
            (),
            0,
            (1,),
            [(2, Q)],
        ),
        (
            "held back earlier, quiet hours over: sent",
            _profile(quiet_hours=QUIET_LATER),
            (),
            0,
            (1, 2),
            [(1, None), (2, None)],
        ),
        ("muted store: nothing at all", _profile(muted_store_ids=frozenset({1})), (), 0, (), []),
        (
            "quiet wins over the cap",
            _profile(quiet_hours=QUIET_NOW, max_per_day=0),
            (),
            0,
            (),
            [(1, Q), (2, Q)],
        ),
    ],
)
def test_decide_all(
    case: str,
    profile: TargetingProfile,
    sent: tuple[int, ...],
    pushed: int,
    held: tuple[int, ...],
    expected: list[tuple[int, Suppression | None]],
) -> None:
    decisions = decide_all(profile, ENTER, OFFERS, frozenset(sent), pushed, frozenset(held))
    assert [(d.offer_id, d.suppressed) for d in decisions] == expected, case
    assert decide(profile, ENTER, OFFERS, frozenset(sent), pushed) == [
        d for d in decide_all(profile, ENTER, OFFERS, frozenset(sent), pushed) if not d.suppressed
    ]


def test_a_batch_spanning_the_end_of_quiet_hours_holds_then_sends() -> None:
    profile = _profile(quiet_hours=QuietHours(11 * 60, 12 * 60 + 1))
    triggers = [
        Trigger("geofence:1", 1, Transition.ENTER, NOON),
        Trigger("geofence:1", 1, Transition.ENTER, NOON + 120),
    ]
    got = [
        (d.offer_id, d.suppressed) for d in decide_all(profile, triggers, OFFERS[:1], frozenset())
    ]
    assert got == [(1, Q), (1, None)]
