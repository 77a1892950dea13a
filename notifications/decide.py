"""Which offers a presence event earns a user: pure matching, no I/O, no clock.

The only thing the decision knows about a person is their :class:`TargetingProfile`:
the segments they consented to and opted into (already expanded down the taxonomy)
and their delivery preferences. No identity, device or location reaches this module,
by construction: its imports are tested.

Rules in force:

* an offer fires on the transition it asks for (ENTER by default, or DWELL), from a
  zone of its store (all the store's zones, or the ones it names);
* it must be active at the event's time;
* its target segments must intersect the profile's segments; no segments, no push;
* at most one push per user per offer per day: offers already sent today are skipped,
  and one event batch never yields the same offer twice;
* the user's delivery preferences hold: nothing from a muted store, nothing during quiet
  hours (local time: the event's UTC time plus the profile's UTC offset; a window whose
  start is after its end spans midnight), and no more than ``max_per_day`` pushes on the
  user's local calendar day, counting those already sent that day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from presence.core import Transition

MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A local-time window, in minutes since midnight; ``start == end`` is not a window."""

    start_min: int
    end_min: int

    def covers(self, minute: int) -> bool:
        if self.start_min <= self.end_min:
            return self.start_min <= minute < self.end_min
        return minute >= self.start_min or minute < self.end_min


@dataclass(frozen=True, slots=True)
class TargetingProfile:
    """Everything the decision knows about a person, and all it may ever know.

    ``segments``: consented interests and active activations, expanded down the taxonomy.
    The rest are delivery preferences; ``utc_offset_s`` is the user's offset at the event,
    so quiet hours and the daily cap follow their local clock.
    """

    segments: frozenset[str]
    max_per_day: int | None = None
    quiet_hours: QuietHours | None = None
    utc_offset_s: int = 0
    muted_store_ids: frozenset[int] = frozenset()

    def local_minute(self, at: float) -> int:
        return int((at + self.utc_offset_s) // 60) % MINUTES_PER_DAY

    def quiet_at(self, at: float) -> bool:
        return self.quiet_hours is not None and self.quiet_hours.covers(self.local_minute(at))


@dataclass(frozen=True, slots=True)
class OfferRule:
    id: int
    store_id: int
    segments: frozenset[str]
    trigger: Transition
    zones: frozenset[str] | None
    starts_at: float | None = None
    ends_at: float | None = None

    def active_at(self, at: float) -> bool:
        return (self.starts_at is None or self.starts_at <= at) and (
            self.ends_at is None or at < self.ends_at
        )


@dataclass(frozen=True, slots=True)
class Trigger:
    zone: str
    store_id: int
    transition: Transition
    at: float


@dataclass(frozen=True, slots=True)
class Decision:
    offer_id: int
    store_id: int
    zone: str
    transition: Transition
    matched: frozenset[str]
    rule: str = "one_per_offer_per_day"


def decide(
    profile: TargetingProfile,
    triggers: Iterable[Trigger],
    offers: Iterable[OfferRule],
    sent_today: frozenset[int],
    pushed_today: int = 0,
) -> list[Decision]:
    """``sent_today``: offers already pushed on the user's local day; ``pushed_today``: how
    many pushes that day in all."""
    room = None if profile.max_per_day is None else profile.max_per_day - pushed_today
    if not profile.segments or (room is not None and room <= 0):
        return []
    by_store: dict[int, list[OfferRule]] = {}
    for offer in offers:
        by_store.setdefault(offer.store_id, []).append(offer)
    taken = set(sent_today)
    decisions: list[Decision] = []
    for trig in triggers:
        if trig.store_id in profile.muted_store_ids or profile.quiet_at(trig.at):
            continue
        for offer in by_store.get(trig.store_id, ()):
            if offer.id in taken or offer.trigger != trig.transition:
                continue
            if offer.zones is not None and trig.zone not in offer.zones:
                continue
            matched = offer.segments & profile.segments
            if not matched or not offer.active_at(trig.at):
                continue
            taken.add(offer.id)
            decisions.append(
                Decision(offer.id, offer.store_id, trig.zone, trig.transition, matched)
            )
            if room is not None and len(decisions) >= room:
                return decisions
    return decisions
