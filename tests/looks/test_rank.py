"""The ranking of friends' looks for the decision: deterministic and explained."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from looks.rank import HALF_LIFE_S, INTEREST_BONUS, LookCandidate, rank_looks

NOW = 1_800_000_000.0
DAY = 86_400.0
FASHION, SHOES, FOOD = "fashion", "shoes", "food"
LABELS = {FASHION: "Fashion", SHOES: "Shoes", FOOD: "Food"}


def look(look_id: int, **fields: Any) -> LookCandidate:
    base = LookCandidate(
        look_id=look_id,
        creator_id=100 + look_id,
        creator_name="Ann",
        created_at=NOW - DAY,
        segments=frozenset({FASHION}),
        opens_of_creator=0,
    )
    return replace(base, **fields)


def test_the_reason_says_interest_age_and_opens() -> None:
    [ranked] = rank_looks(
        [look(1, created_at=NOW - 2 * DAY, opens_of_creator=3)],
        frozenset({FASHION}),
        NOW,
        labels=LABELS,
    )
    assert ranked.reason == (
        "shares Fashion with your interests; posted 2 days ago; you opened 3 of Ann's looks"
    )


def test_reasons_for_other_cases() -> None:
    [ranked] = rank_looks(
        [look(1, created_at=NOW - 90, segments=frozenset({FASHION, SHOES}))],
        frozenset({FASHION, SHOES}),
        NOW,
        labels=LABELS,
    )
    assert ranked.reason == (
        "shares Fashion and Shoes with your interests; posted 1 minute ago; "
        "you have not opened Ann's looks yet"
    )
    [unlabelled] = rank_looks([look(1, created_at=NOW + 60)], frozenset({FASHION}), NOW)
    assert unlabelled.reason.startswith("shares fashion with your interests; posted just now")
    [none] = rank_looks([look(1, created_at=NOW - 3 * 3600)], frozenset({FOOD}), NOW)
    assert none.reason.startswith("shares none of your interests; posted 3 hours ago")


def test_shared_interest_outranks_freshness_and_familiarity() -> None:
    stale_but_shared = look(1, created_at=NOW - 60 * DAY)
    fresh_familiar_unshared = look(
        2, created_at=NOW, segments=frozenset({FOOD}), opens_of_creator=10_000
    )
    ranked = rank_looks([fresh_familiar_unshared, stale_but_shared], frozenset({FASHION}), NOW)
    assert [r.candidate.look_id for r in ranked] == [1, 2]
    assert ranked[1].score < INTEREST_BONUS <= ranked[0].score


def test_freshness_halves_every_half_life() -> None:
    fresh, week = rank_looks(
        [look(1, created_at=NOW), look(2, created_at=NOW - HALF_LIFE_S)], frozenset(), NOW
    )
    assert fresh.score == 1.0
    assert week.score == 0.5


def test_more_opens_rank_higher_with_diminishing_returns() -> None:
    ranked = rank_looks(
        [look(1), look(2, opens_of_creator=1), look(3, opens_of_creator=8)], frozenset(), NOW
    )
    assert [r.candidate.look_id for r in ranked] == [3, 2, 1]
    gain_first = ranked[1].score - ranked[2].score
    gain_next_seven = ranked[0].score - ranked[1].score
    assert gain_next_seven < 2 * gain_first


def test_equal_scores_go_to_the_lower_look_id() -> None:
    ranked = rank_looks([look(7), look(3), look(5)], frozenset({FASHION}), NOW)
    assert [r.candidate.look_id for r in ranked] == [3, 5, 7]


candidates = st.lists(
    st.builds(
        LookCandidate,
        look_id=st.integers(1, 50),
        creator_id=st.integers(1, 5),
        creator_name=st.sampled_from(["Ann", "Bob"]),
        created_at=st.floats(NOW - 400 * DAY, NOW + DAY),
        segments=st.frozensets(st.sampled_from([FASHION, SHOES, FOOD])),
        opens_of_creator=st.integers(0, 10_000),
    ),
    unique_by=lambda c: c.look_id,
    max_size=12,
)


@given(candidates, st.frozensets(st.sampled_from([FASHION, SHOES, FOOD])))
def test_deterministic_whatever_the_input_order(
    looks: list[LookCandidate], consented: frozenset[int]
) -> None:
    ranked = rank_looks(looks, consented, NOW, labels=LABELS)
    assert ranked == rank_looks(list(reversed(looks)), consented, NOW, labels=LABELS)
    keys = [(-r.score, r.candidate.look_id) for r in ranked]
    assert keys == sorted(keys)
    for r in ranked:
        shared = bool(r.candidate.segments & consented)
        assert (r.score >= INTEREST_BONUS) == shared
