"""Which offers and friends' looks a presence event earns a user: pure, no I/O, no clock.

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

Suppressed decisions. An offer that would have been sent but for quiet hours or the daily
cap is not dropped silently: :func:`decide_all` returns it with ``suppressed`` naming the
preference that held it back, and the caller records it in the user's inbox, never pushed.
Such a decision

* does not count as a push against the daily cap;
* does not take the offer's one-per-day slot: once the quiet window ends, the same offer
  can still be sent that day (only an actual send takes the slot);
* is recorded at most once per offer and day (``suppressed_today``), so pacing in and out
  of a shop during quiet hours does not fill the inbox.

A muted store yields nothing at all, not even a suppressed record: muting says "do not
tell me about this store", and an inbox entry would be telling.

Friends' looks. With the ``friends_looks`` consent, an ENTER or DWELL at a store may also
push one friend's look featuring that store's items (:class:`LookRule`, already ranked by
``looks.rank``: the best one not pushed today). Looks obey the same rules as offers (one
per look per day, mutes, quiet hours) and **compete for the same daily cap**, in a fixed
order at each event: higher ``priority`` first (a look's is 0), then the larger segment
overlap, then offers before the look, then the lower id. Each decision names the
candidates it was weighed against (``competed``) and ``decided_by``, the first of those
rules ("priority", "overlap", "kind", "id") that ordered it against its nearest rival
(the next candidate for a send, the one before for a held-back one): for the last slot of
the cap, the rule that separated the winner from the first runner-up.

Store cooldown. After a push from a store (offer or look), nothing more is pushed from
that store to the user until ``store_cooldown_s`` has passed since that push
(``last_push_at_by_store``, times of the latest pushes per store; 0 disables). The
candidates of the event that pushed go out together (one visit, one batch); a later event
at the same store within the cooldown yields nothing, not even a suppressed record: a
cooldown is the server's pacing, not a preference the user set, so there is nothing to
tell them in the inbox.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from preferences.core import TargetingProfile
from presence.core import Transition


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


class Suppression(StrEnum):
    """The delivery preference that held a decision back."""

    QUIET_HOURS = "quiet_hours"
    DAILY_CAP = "daily_cap"


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

    @property
    def key(self) -> str:
        return f"look:{self.look_id}" if self.look_id is not None else f"offer:{self.offer_id}"


_NO_PUSHES: Mapping[int, float] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class _Candidate:
    key: str
    offer_id: int | None
    look_id: int | None
    matched: frozenset[str]
    rule: str
    order: tuple[int, int, int, int]  # (-priority, -overlap, kind: 0 offer 1 look, id)


# The components of _Candidate.order, named as Decision.decided_by reports them.
_ORDER_RULES = ("priority", "overlap", "kind", "id")


def _decided_by(first: _Candidate, second: _Candidate) -> str:
    """The first ordering rule on which two candidates differ."""
    return next(
        (
            name
            for name, a, b in zip(_ORDER_RULES, first.order, second.order, strict=True)
            if a != b
        ),
        "id",
    )


def _rival(candidates: list[_Candidate], i: int, sent: bool) -> str | None:
    if len(candidates) < 2:
        return None
    if (sent and i + 1 < len(candidates)) or i == 0:
        return _decided_by(candidates[i], candidates[i + 1])
    return _decided_by(candidates[i - 1], candidates[i])


def decide_all(
    profile: TargetingProfile,
    triggers: Iterable[Trigger],
    offers: Iterable[OfferRule],
    sent_today: frozenset[int],
    pushed_today: int = 0,
    suppressed_today: frozenset[int] = frozenset(),
    *,
    looks: Iterable[LookRule] = (),
    looks_sent_today: frozenset[int] = frozenset(),
    looks_suppressed_today: frozenset[int] = frozenset(),
    last_push_at_by_store: Mapping[int, float] = _NO_PUSHES,
    store_cooldown_s: float = 0.0,
) -> list[Decision]:
    """Sends and suppressed decisions, in trigger order (offers, then the look).

    ``sent_today``: offers already pushed on the user's local day; ``pushed_today``: how
    many pushes that day in all; ``suppressed_today``: offers already recorded as suppressed
    that day (not recorded again); the ``looks_…`` sets are the same for looks. ``looks``
    are only considered with the ``friends_looks`` consent (``profile.friends_looks``).
    ``last_push_at_by_store``: when each store last pushed to the user (epoch seconds),
    held against ``store_cooldown_s`` (0: no cooldown).
    """
    if not profile.segments:
        return []
    room = None if profile.max_per_day is None else profile.max_per_day - pushed_today
    by_store: dict[int, list[OfferRule]] = {}
    for offer in offers:
        by_store.setdefault(offer.store_id, []).append(offer)
    ranked_looks: dict[int, list[LookRule]] = {}
    if profile.friends_looks:
        for look in sorted(looks, key=lambda x: (-x.score, x.id)):
            ranked_looks.setdefault(look.store_id, []).append(look)
    taken = {f"offer:{o}" for o in sent_today} | {f"look:{x}" for x in looks_sent_today}
    held = {f"offer:{o}" for o in suppressed_today} | {f"look:{x}" for x in looks_suppressed_today}
    last_push = dict(last_push_at_by_store)
    decisions: list[Decision] = []
    sends = 0
    for trig in triggers:
        if trig.store_id in profile.muted_store_ids:
            continue
        last = last_push.get(trig.store_id)
        if store_cooldown_s > 0 and last is not None and trig.at - last < store_cooldown_s:
            continue
        candidates = _candidates(profile, trig, by_store, ranked_looks, taken)
        quiet = profile.quiet_at(trig.at)
        for i, cand in enumerate(candidates):
            why = (
                Suppression.QUIET_HOURS
                if quiet
                else Suppression.DAILY_CAP
                if room is not None and sends >= room
                else None
            )
            if why is None:
                taken.add(cand.key)
                sends += 1
                last_push[trig.store_id] = trig.at
            elif cand.key in held:
                continue
            else:
                held.add(cand.key)
            decisions.append(
                Decision(
                    cand.offer_id,
                    trig.store_id,
                    trig.zone,
                    trig.transition,
                    cand.matched,
                    rule=cand.rule,
                    suppressed=why,
                    timeout=trig.timeout,
                    look_id=cand.look_id,
                    competed=tuple(c.key for c in candidates if c is not cand),
                    decided_by=_rival(candidates, i, why is None),
                )
            )
    return decisions


def _candidates(
    profile: TargetingProfile,
    trig: Trigger,
    by_store: dict[int, list[OfferRule]],
    looks: dict[int, list[LookRule]],
    taken: set[str],
) -> list[_Candidate]:
    """What may be pushed for this event, in the order the daily cap serves them."""
    found = []
    for offer in by_store.get(trig.store_id, ()):
        key = f"offer:{offer.id}"
        if key in taken or offer.broadcast != trig.broadcast:
            continue
        if not trig.broadcast and offer.trigger != trig.transition:
            continue
        if offer.zones is not None and trig.zone not in offer.zones:
            continue
        matched = offer.segments & profile.segments
        if matched and offer.active_at(trig.at):
            order = (-offer.priority, -len(matched), 0, offer.id)
            rule = "broadcast" if trig.broadcast else "one_per_offer_per_day"
            found.append(_Candidate(key, offer.id, None, matched, rule, order))
    if trig.transition in PUSH_TRANSITIONS_FOR_LOOKS and not trig.broadcast:
        look = next((x for x in looks.get(trig.store_id, ()) if f"look:{x.id}" not in taken), None)
        if look is not None:
            key = f"look:{look.id}"
            order = (0, -len(look.shared), 1, look.id)
            found.append(_Candidate(key, None, look.id, look.shared, "one_per_look_per_day", order))
    return sorted(found, key=lambda c: c.order)


def decide(
    profile: TargetingProfile,
    triggers: Iterable[Trigger],
    offers: Iterable[OfferRule],
    sent_today: frozenset[int],
    pushed_today: int = 0,
) -> list[Decision]:
    """Only the decisions to send (see :func:`decide_all`)."""
    return [
        d
        for d in decide_all(profile, triggers, offers, sent_today, pushed_today)
        if d.suppressed is None
    ]
