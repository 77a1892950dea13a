"""The funnel of a store's offers and looks: what is counted, in which hour, and the lift.

Every push decision and what followed it is counted per subject (an offer or a look), per
UTC hour and per metric: anonymous counts, never a user id.

- ``eligible``: a decision chose the subject for a user (before quiet hours, caps, budgets
  or the holdout had their say).
- ``held_out``: the user fell in the offer's control group: recorded, never pushed.
- ``suppressed_<reason>``: held back by ``reason`` (``quiet_hours``, ``daily_cap``…).
- ``sent``: a push was owed to the user's devices.
- ``delivered``: the first device accepted the push (once per notification).
- ``opened``: the user opened the push (once per notification).
- ``redeemed``: a code of the offer was redeemed at the store.
- ``redeemed_held_out``: a held-out user converted anyway (the control group's conversion).

Redemption attribution (last touch, 7 days): a redeemed offer code counts ``redeemed`` for
its own offer. A held-out user has no code, so when a user redeems anything at store S (an
offer's code, a spend code, a purchase token), and has a ``held_out`` notification for an
offer of S created in the last ``HOLDOUT_WINDOW``, ``redeemed_held_out`` is counted for
the offer of the most recent such notification: once per held-out decision (only the
first redemption at S after it). One indexed query per redemption (the notifications'
user index), a second only when the user was held out.

The two groups are not measured alike: the pushed group converts by using the offer's
code, the control group by any redemption at the store. The lift is therefore a
conservative estimate of what the push adds.

Counts are kept per UTC hour; a day is a UTC day. Counts not flushed to the database yet
live in Redis (``funnel.counters``) and are lost if Redis loses its data.

Lift compares the conversion of the pushed group (``redeemed / sent``) with the control
group's (``redeemed_held_out / held_out``): ``lift = (pushed - control) / control``, the
relative uplift of a holdout test (Kohavi, Tang & Xu, *Trustworthy Online Controlled
Experiments*, 2020, ch. 3). It is ``None`` when either group is empty or the control
group never converted (no baseline to divide by).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Final, NamedTuple

ELIGIBLE: Final = "eligible"
HELD_OUT: Final = "held_out"
SENT: Final = "sent"
DELIVERED: Final = "delivered"
OPENED: Final = "opened"
REDEEMED: Final = "redeemed"
REDEEMED_HELD_OUT: Final = "redeemed_held_out"
SUPPRESSED_PREFIX: Final = "suppressed_"

HOLDOUT_WINDOW: Final = timedelta(days=7)
MAX_RANGE: Final = timedelta(days=92)
HOUR: Final = timedelta(hours=1)
DAY: Final = timedelta(days=1)


def suppressed(reason: str) -> str:
    """The metric of a decision held back by ``reason``."""
    return f"{SUPPRESSED_PREFIX}{reason}"


class Subject(StrEnum):
    OFFER = "offer"
    LOOK = "look"


class Granularity(StrEnum):
    HOUR = "hour"
    DAY = "day"


class CountKey(NamedTuple):
    """One counter: a metric of a subject of a store, in one UTC hour."""

    hour: datetime
    store_id: int
    subject: str
    subject_id: int
    metric: str


def hour_of(at: datetime) -> datetime:
    """The UTC hour ``at`` falls in (an aware datetime; a naive one is refused)."""
    if at.tzinfo is None:
        raise ValueError("naive datetime given to the funnel")
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def bucket_of(hour: datetime, granularity: Granularity) -> datetime:
    """The bucket (an hour, or a UTC day) an hour's counts go to."""
    if granularity is Granularity.HOUR:
        return hour
    return hour.replace(hour=0)


def hours_between(start: datetime, end: datetime) -> list[datetime]:
    """Every UTC hour that overlaps ``[start, end)``."""
    hour, hours = hour_of(start), []
    while hour < end:
        hours.append(hour)
        hour += HOUR
    return hours


# The stored form of a key: a hash per hour, a field per counter. Metrics and subjects are
# our own vocabularies (no "|"), so the field splits back unambiguously.
_HOUR_FORMAT: Final = "%Y%m%dT%H"


def hour_stamp(hour: datetime) -> str:
    return hour.strftime(_HOUR_FORMAT)


def parse_hour_stamp(stamp: str) -> datetime:
    return datetime.strptime(stamp, _HOUR_FORMAT).replace(tzinfo=UTC)


def field_of(key: CountKey) -> str:
    return f"{key.store_id}|{key.subject}|{key.subject_id}|{key.metric}"


def key_of(hour: datetime, field: str) -> CountKey:
    store_id, subject, subject_id, metric = field.split("|", 3)
    return CountKey(hour, int(store_id), subject, int(subject_id), metric)


def store_prefix(store_id: int) -> str:
    return f"{store_id}|"


@dataclass(frozen=True, slots=True)
class Lift:
    pushed: float | None
    control: float | None
    lift: float | None


def _rate(numerator: int, denominator: int) -> float | None:
    return None if denominator <= 0 else numerator / denominator


def lift_of(totals: Mapping[str, int]) -> Lift:
    """The pushed and control conversions and the relative lift (module docstring)."""
    pushed = _rate(totals.get(REDEEMED, 0), totals.get(SENT, 0))
    control = _rate(totals.get(REDEEMED_HELD_OUT, 0), totals.get(HELD_OUT, 0))
    if pushed is None or control is None or control == 0:
        return Lift(pushed, control, None)
    return Lift(pushed, control, (pushed - control) / control)


def merged(*parts: Iterable[tuple[CountKey, int]]) -> dict[CountKey, int]:
    """Counts from several sources (the table, the unflushed counters) added per key."""
    total: dict[CountKey, int] = {}
    for part in parts:
        for key, n in part:
            total[key] = total.get(key, 0) + n
    return total


# Ranges are read between these (hour arithmetic near datetime's own bounds overflows).
EARLIEST: Final = datetime(2000, 1, 1, tzinfo=UTC)
LATEST: Final = datetime(2100, 1, 1, tzinfo=UTC)


def range_problem(start: datetime, end: datetime) -> str | None:
    """Why ``[start, end)`` cannot be read, or ``None`` when it can."""
    if start.tzinfo is None or end.tzinfo is None:
        return "from and to need a time zone (e.g. 2026-11-24T00:00:00Z)"
    if not (start >= EARLIEST and end <= LATEST):
        return f"from and to lie between {EARLIEST.isoformat()} and {LATEST.isoformat()}"
    if end <= start:
        return f"to ({end.isoformat()}) must be after from ({start.isoformat()})"
    if end - start > MAX_RANGE:
        return f"a range of at most {MAX_RANGE.days} days, not {(end - start).days}"
    return None


@dataclass(frozen=True, slots=True)
class SubjectFunnel:
    """One offer's or look's counts: totals, a bucket per hour or day with counts (sparse:
    buckets without counts are left out), and the lift over its holdout."""

    subject: str
    subject_id: int
    totals: dict[str, int]
    series: list[tuple[datetime, dict[str, int]]]
    lift: Lift


def summarize(counts: Mapping[CountKey, int], granularity: Granularity) -> list[SubjectFunnel]:
    """The counts per subject, in subject then id order, buckets in time order."""
    by_subject: dict[tuple[str, int], dict[datetime, dict[str, int]]] = {}
    for key, n in counts.items():
        if n == 0:
            continue
        buckets = by_subject.setdefault((key.subject, key.subject_id), {})
        bucket = buckets.setdefault(bucket_of(key.hour, granularity), {})
        bucket[key.metric] = bucket.get(key.metric, 0) + n
    funnels = []
    for (subject, subject_id), buckets in sorted(by_subject.items()):
        totals: dict[str, int] = {}
        for bucket in buckets.values():
            for metric, n in bucket.items():
                totals[metric] = totals.get(metric, 0) + n
        series = sorted(buckets.items())
        funnels.append(SubjectFunnel(subject, subject_id, totals, series, lift_of(totals)))
    return funnels
