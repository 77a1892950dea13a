"""The decision's terms (pure): what it is given (offers, friends' looks, triggers, the
user's history, the stores' pacing) and what it returns (decisions, skips). The rules
themselves are in :mod:`notifications.decide`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from preferences.core import MINUTES_PER_DAY
from presence.confidence import Confidence
from presence.core import Transition

DAY_S = 86400


@dataclass(frozen=True, slots=True)
class Schedule:
    """When in the store's week an offer may fire: ``days`` (0 = Monday) and a daily window
    in minutes since the store's midnight (``start == end``: all day; a start after its end
    spans midnight, and the day is the window's start day)."""

    days: frozenset[int]
    start_min: int = 0
    end_min: int = 0

    def open_at(self, local_s: float) -> bool:
        minute = int(local_s // 60) % MINUTES_PER_DAY
        weekday = (int(local_s // DAY_S) + 3) % 7  # 1970-01-01 was a Thursday
        start, end = self.start_min, self.end_min
        if start == end:
            return weekday in self.days
        if start < end:
            return weekday in self.days and start <= minute < end
        if minute >= start:
            return weekday in self.days
        return minute < end and (weekday - 1) % 7 in self.days


@dataclass(frozen=True, slots=True)
class OfferRule:
    id: int
    store_id: int
    segments: frozenset[str]
    trigger: Transition
    zones: frozenset[str] | None
    starts_at: float | None = None
    ends_at: float | None = None
    priority: int = 0
    broadcast: bool = False
    """A flash offer: fires only on a broadcast's triggers, never on a presence event."""
    zone_kind: str | None = None
    """Only zones of this kind (``nfc``: the offer fires on a tap)."""
    schedule: Schedule | None = None
    has_budget: bool = False
    """Its sends are limited (``Pacing.budget_left`` says how many are left)."""
    place_bound: bool = True
    dwell_s: float | None = None
    """A DWELL offer's "dwell ≥ N minutes": it fires on the first DWELL or checkpoint that
    far into the visit; ``None``: on the zone's DWELL itself."""
    fresh_at: float = 0.0
    """Its start, else its creation (epoch seconds): newer ranks first."""
    min_confidence: Confidence | None = None
    """Fires only on events at least this sure (``presence.confidence``); None: any."""

    def active_at(self, at: float) -> bool:
        return (self.starts_at is None or self.starts_at <= at) and (
            self.ends_at is None or at < self.ends_at
        )


@dataclass(frozen=True, slots=True)
class LookRule:
    """A friend's look featuring items or brands sold at a store, ranked for this user by
    ``looks.rank``: the decision sees no friend, only the look, its rank and the
    consented segments it shares."""

    id: int
    store_id: int
    score: float
    shared: frozenset[str]


PUSH_TRANSITIONS_FOR_LOOKS = frozenset({Transition.ENTER, Transition.DWELL})


@dataclass(frozen=True, slots=True)
class Trigger:
    zone: str
    store_id: int
    transition: Transition
    at: float
    timeout: bool = False  # an EXIT inferred from the phone's silence (presence went stale)
    broadcast: bool = False  # a store's flash offer to users present now (not a transition)
    dwelled_s: float | None = None  # a DWELL's time in the zone
    checkpoint: bool = False  # a DWELL checkpoint: only offers with a ``dwell_s`` fire on it
    confidence: Confidence = Confidence.LOW  # the event's (presence.confidence)


class Suppression(StrEnum):
    """The delivery preference that held a decision back (shown in the user's inbox)."""

    QUIET_HOURS = "quiet_hours"
    DAILY_CAP = "daily_cap"


class Skip(StrEnum):
    """The store's pacing that held a candidate back: counted, never in the inbox."""

    COOLDOWN = "cooldown"
    SCHEDULE = "schedule"
    BUDGET = "budget"
    LOW_CONFIDENCE = "low_confidence"  # the event is less sure than the offer's min_confidence


@dataclass(frozen=True, slots=True)
class Decision:
    offer_id: int | None
    store_id: int
    zone: str
    transition: Transition
    matched: frozenset[str]
    rule: str = "one_per_offer_per_day"
    suppressed: Suppression | None = None
    """Set when the user's preferences held the push back: record it, never send it."""
    timeout: bool = False  # from a Trigger's timeout
    look_id: int | None = None
    competed: tuple[str, ...] = ()
    """The other candidates at the same event, as ``offer:<id>`` / ``look:<id>``."""
    decided_by: str | None = None
    """With competitors: the ordering rule that set this one against its nearest rival."""
    held_out: bool = False
    """In the offer's control group: recorded for the lift, never sent."""
    deferred_until: float | None = None
    """A push held until the user's quiet hours end (epoch seconds)."""
    place_bound: bool = True
    expires_at: float | None = None
    """When the push stops being useful (epoch seconds): the visit's end, the offer's."""
    confidence: Confidence = Confidence.LOW
    """The triggering event's confidence, recorded with the decision."""

    @property
    def key(self) -> str:
        return f"look:{self.look_id}" if self.look_id is not None else f"offer:{self.offer_id}"

    @property
    def pushed(self) -> bool:
        """A push now or at the end of quiet hours (what the daily cap counts)."""
        return self.suppressed is None and not self.held_out


@dataclass(frozen=True, slots=True)
class Skipped:
    """A candidate the store's pacing held back."""

    key: str
    store_id: int
    reason: Skip


NO_PUSHES: Mapping[int, float] = MappingProxyType({})
_NO_COUNTS: Mapping[int, int] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class History:
    """What was already decided for the user: on their local day, and each store's last push."""

    sent_today: frozenset[int] = frozenset()
    pushed_today: int = 0
    suppressed_today: frozenset[int] = frozenset()
    looks_sent_today: frozenset[int] = frozenset()
    looks_suppressed_today: frozenset[int] = frozenset()
    last_push_at_by_store: Mapping[int, float] = field(default_factory=lambda: NO_PUSHES)


@dataclass(frozen=True, slots=True)
class Pacing:
    """The stores' side of the rules, as the caller read it for this event."""

    store_cooldown_s: float = 0.0
    budget_left: Mapping[int, int] = field(default_factory=lambda: _NO_COUNTS)
    """Sends left per budgeted offer (today's and in all, whichever is smaller)."""
    store_utc_offset_s: Mapping[int, int] = field(default_factory=lambda: _NO_COUNTS)
    """Each store's UTC offset at the event, for schedules (absent: UTC)."""
    held_out: frozenset[int] = frozenset()
    """Offers whose control group holds this user."""
    visit_s: float = 1800.0
    """How long a place-bound push stays useful: the expected visit."""


@dataclass(slots=True)
class Outcome:
    decisions: list[Decision] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
