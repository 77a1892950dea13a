"""The funnel's pure core: hours and buckets, stored keys, ranges, the summary and lift."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from funnel.core import (
    DELIVERED,
    ELIGIBLE,
    HELD_OUT,
    REDEEMED,
    REDEEMED_HELD_OUT,
    SENT,
    CountKey,
    Granularity,
    bucket_of,
    field_of,
    hour_of,
    hour_stamp,
    hours_between,
    key_of,
    lift_of,
    merged,
    parse_hour_stamp,
    range_problem,
    summarize,
    suppressed,
)

T0 = datetime(2026, 11, 24, 10, tzinfo=UTC)
PARIS_WINTER = timezone(timedelta(hours=1))
# Hypothesis bounds are naive; the values drawn carry UTC.
aware = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)


def test_an_hour_is_the_utc_hour_truncated() -> None:
    at = datetime(2026, 11, 24, 11, 59, 59, 999, tzinfo=PARIS_WINTER)
    assert hour_of(at) == T0
    assert hour_of(at).tzinfo is UTC


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        hour_of(datetime(2026, 11, 24, 10))  # noqa: DTZ001 - the mistake under test


@given(aware)
def test_an_instant_lies_in_its_hour_and_its_day(at: datetime) -> None:
    hour = hour_of(at)
    assert hour <= at < hour + timedelta(hours=1)
    day = bucket_of(hour, Granularity.DAY)
    assert day <= at < day + timedelta(days=1)
    assert (day.hour, day.minute) == (0, 0)
    assert bucket_of(hour, Granularity.HOUR) == hour


def test_hours_between_covers_the_hours_overlapping_the_range() -> None:
    start = T0 + timedelta(minutes=30)
    assert hours_between(start, T0 + timedelta(hours=2)) == [T0, T0 + timedelta(hours=1)]
    assert hours_between(start, T0 + timedelta(hours=2, seconds=1)) == [
        T0,
        T0 + timedelta(hours=1),
        T0 + timedelta(hours=2),
    ]


@given(aware, st.integers(1, 2**31 - 1), st.sampled_from(["offer", "look"]))
def test_a_stored_key_reads_back(at: datetime, subject_id: int, subject: str) -> None:
    key = CountKey(hour_of(at), subject_id, subject, subject_id, suppressed("quiet_hours"))
    stamp = hour_stamp(key.hour)
    assert key_of(parse_hour_stamp(stamp), field_of(key)) == key


def test_ranges() -> None:
    assert range_problem(T0, T0 + timedelta(days=92)) is None
    problem = range_problem(T0, T0 + timedelta(days=92, seconds=1))
    assert problem is not None
    assert "92 days" in problem
    assert "after" in (range_problem(T0, T0) or "")
    naive = datetime(2026, 1, 1)  # noqa: DTZ001 - the mistake under test
    assert "time zone" in (range_problem(naive, T0) or "")
    assert "between" in (range_problem(datetime(1999, 12, 31, 23, tzinfo=UTC), T0) or "")
    assert "between" in (range_problem(T0, datetime(2100, 1, 1, 1, tzinfo=UTC)) or "")


@pytest.mark.parametrize(
    ("totals", "pushed", "control", "lift"),
    [
        ({SENT: 100, REDEEMED: 10, HELD_OUT: 50, REDEEMED_HELD_OUT: 2}, 0.1, 0.04, 1.5),
        ({SENT: 100, REDEEMED: 2, HELD_OUT: 50, REDEEMED_HELD_OUT: 2}, 0.02, 0.04, -0.5),
        ({SENT: 100, REDEEMED: 10, HELD_OUT: 50}, 0.1, 0.0, None),  # no baseline
        ({SENT: 100, REDEEMED: 10}, 0.1, None, None),  # no holdout
        ({HELD_OUT: 5, REDEEMED_HELD_OUT: 1}, None, 0.2, None),  # nothing sent
        ({}, None, None, None),
    ],
)
def test_lift(
    totals: dict[str, int], pushed: float | None, control: float | None, lift: float | None
) -> None:
    result = lift_of(totals)
    assert (result.pushed, result.control) == (pushed, control)
    assert result.lift == (None if lift is None else pytest.approx(lift))


def test_summary_per_subject_bucket_and_metric() -> None:
    later = T0 + timedelta(hours=3)
    counts = merged(
        [
            (CountKey(T0, 1, "offer", 7, SENT), 4),
            (CountKey(later, 1, "offer", 7, SENT), 1),
            (CountKey(T0, 1, "offer", 7, REDEEMED), 1),
            (CountKey(T0, 1, "look", 3, DELIVERED), 2),
            (CountKey(T0, 1, "offer", 2, ELIGIBLE), 0),
        ],
        [(CountKey(later, 1, "offer", 7, SENT), 2)],
    )
    by_hour = summarize(counts, Granularity.HOUR)
    assert [(f.subject, f.subject_id) for f in by_hour] == [("look", 3), ("offer", 7)]
    offer = by_hour[1]
    assert offer.totals == {SENT: 7, REDEEMED: 1}
    assert offer.series == [(T0, {SENT: 4, REDEEMED: 1}), (later, {SENT: 3})]
    assert offer.lift.pushed == pytest.approx(1 / 7)
    by_day = summarize(counts, Granularity.DAY)
    assert by_day[1].series == [(T0.replace(hour=0), {SENT: 7, REDEEMED: 1})]
