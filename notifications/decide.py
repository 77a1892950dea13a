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
  and one event batch never yields the same offer twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from presence.core import Transition


@dataclass(frozen=True, slots=True)
class TargetingProfile:
    segments: frozenset[str]


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
) -> list[Decision]:
    if not profile.segments:
        return []
    by_store: dict[int, list[OfferRule]] = {}
    for offer in offers:
        by_store.setdefault(offer.store_id, []).append(offer)
    taken = set(sent_today)
    decisions: list[Decision] = []
    for trig in triggers:
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
    return decisions
