"""Which offers and friends' looks a presence event earns a user: pure, no I/O, no clock.

The only thing the decision knows about a person is their :class:`TargetingProfile`:
the segments they consented to and opted into (already expanded down the taxonomy)
and their delivery preferences. No identity, device or location reaches this module,
by construction: its imports are tested. (Whether the user is in an offer's control
group arrives as a set of offer ids, hashed by the caller: ``Pacing.held_out``.)

Rules, in the order they apply to one event:

* **Trigger.** An offer fires on the transition it asks for (ENTER by default, DWELL,
  EXIT), from a zone of its store (all the store's zones, the ones it names, or, for an
  NFC-tap offer, the store's tags only). A flash offer (``broadcast``) fires only on a
  broadcast's triggers.
* **Eligibility.** It must be active at the event's time and its target segments must
  intersect the profile's; no segments, no push. Each offer (and look) at most once per
  user per local day: those already sent today are not candidates.
* **Mutes.** Nothing from a muted store, not even a record: muting says "do not tell me
  about this store", and an inbox entry would be telling.
* **Store pacing, counted but never shown to the user** (:class:`Skip`): the per
  user-and-store cooldown (nothing more from a store until ``store_cooldown_s`` after its
  last push to the user; the candidates of the event that pushed go out together), the
  offer's schedule (days and hours in the store's time zone) and its budget (sends left in
  all and today, counted by the caller). The offer's ``min_confidence`` too: an event less
  sure than it asks (``presence.confidence``: low < medium < high) is skipped as
  ``low_confidence``; the store chose to act only on surer presence.
* **Competition.** Candidates of the same instant (one fix can enter several stores'
  zones) are ranked by :mod:`notifications.ranking` (priority, overlap, fairness,
  freshness, kind, id) and served in that order; each decision names the others
  (``competed``) and ``decided_by``, the rule that set it against its nearest rival.
* **The user's delivery preferences** (:class:`Suppression`, recorded in the inbox, never
  pushed): no more than ``max_per_day`` pushes on the user's local day, counting those
  already sent; nothing during quiet hours. A **place-bound** offer (the default: only
  useful while the shopper is there) falling in quiet hours is dropped with that reason;
  another is **deferred** to the window's end (``deferred_until``) when still valid then,
  and counts as a push of the day it was decided.
* **Holdout.** A would-be push of an offer whose control group holds this user is
  recorded ``held_out`` instead: not pushed, not counted against the cap or the cooldown.

A suppressed decision does not take the offer's daily slot (once the quiet window ends,
the same offer can still be sent that day) and is recorded at most once per offer and day
(``suppressed_today``), so pacing in and out of a shop during quiet hours does not fill
the inbox.

A place-bound push lives as long as the expected visit (``Pacing.visit_s``, capped by the
offer's end): ``expires_at``; the caller withdraws it on the EXIT.

Friends' looks. With the ``friends_looks`` consent, an ENTER or DWELL at a store may also
push one friend's look featuring that store's items (:class:`LookRule`, already ranked by
``looks.rank``: the best one not pushed today). Looks are place-bound and obey the same
rules as offers, competing for the same daily cap.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import groupby

from notifications.ranking import Order, order, rival
from notifications.terms import (
    NO_PUSHES,
    PUSH_TRANSITIONS_FOR_LOOKS,
    Decision,
    History,
    LookRule,
    OfferRule,
    Outcome,
    Pacing,
    Schedule,
    Skip,
    Skipped,
    Suppression,
    Trigger,
)
from preferences.core import TargetingProfile
from presence.confidence import meets

__all__ = [
    "Decision",
    "History",
    "LookRule",
    "OfferRule",
    "Outcome",
    "Pacing",
    "Schedule",
    "Skip",
    "Skipped",
    "Suppression",
    "Trigger",
    "decide",
    "decide_all",
    "decide_outcome",
]


@dataclass(frozen=True, slots=True)
class _Candidate:
    key: str  # offer:<id> or look:<id>
    offer_id: int | None
    look_id: int | None
    matched: frozenset[str]
    rule: str
    order: Order
    offer: OfferRule | None = None


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
    last_push_at_by_store: Mapping[int, float] = NO_PUSHES,
    store_cooldown_s: float = 0.0,
) -> list[Decision]:
    """The decisions of :func:`decide_outcome` with only a cooldown for pacing."""
    history = History(
        sent_today,
        pushed_today,
        suppressed_today,
        looks_sent_today,
        looks_suppressed_today,
        last_push_at_by_store,
    )
    pacing = Pacing(store_cooldown_s=store_cooldown_s)
    return decide_outcome(profile, triggers, offers, history, pacing, looks=looks).decisions


def decide_outcome(
    profile: TargetingProfile,
    triggers: Iterable[Trigger],
    offers: Iterable[OfferRule],
    history: History,
    pacing: Pacing,
    *,
    looks: Iterable[LookRule] = (),
) -> Outcome:
    """Sends, held-back and held-out decisions (instant by instant, in rank order), and
    what the stores' pacing skipped.

    ``looks`` are only considered with the ``friends_looks`` consent.
    """
    outcome = Outcome()
    if not profile.segments:
        return outcome
    by_store: dict[int, list[OfferRule]] = {}
    for offer in offers:
        by_store.setdefault(offer.store_id, []).append(offer)
    ranked_looks: dict[int, list[LookRule]] = {}
    if profile.friends_looks:
        for look in sorted(looks, key=lambda x: (-x.score, x.id)):
            ranked_looks.setdefault(look.store_id, []).append(look)
    state = _State(profile, history, pacing)
    for at, group in groupby(triggers, key=lambda t: t.at):
        ranked: list[tuple[Trigger, _Candidate]] = []
        for trig in group:
            if trig.store_id in profile.muted_store_ids:
                continue
            found = _candidates(profile, trig, by_store, ranked_looks, state)
            ranked.extend(state.paced(trig, found, outcome.skipped))
        ranked.sort(key=lambda tc: tc[1].order)
        # One offer reached through two zones at the same instant: its best rank only.
        unique = {c.key: (t, c) for t, c in reversed(ranked)}
        ranked = sorted(unique.values(), key=lambda tc: tc[1].order)
        state.serve(at, ranked, outcome.decisions)
    return outcome


class _State:
    """What one call has decided so far: slots taken, pushes, stores' last pushes."""

    def __init__(self, profile: TargetingProfile, history: History, pacing: Pacing) -> None:
        self.profile = profile
        self.pacing = pacing
        self.room = (
            None if profile.max_per_day is None else profile.max_per_day - history.pushed_today
        )
        self.sends = 0
        self.taken = {f"offer:{o}" for o in history.sent_today} | {
            f"look:{x}" for x in history.looks_sent_today
        }
        self.held = {f"offer:{o}" for o in history.suppressed_today} | {
            f"look:{x}" for x in history.looks_suppressed_today
        }
        self.last_push = dict(history.last_push_at_by_store)

    def paced(
        self, trig: Trigger, found: list[_Candidate], skipped: list[Skipped]
    ) -> list[tuple[Trigger, _Candidate]]:
        """The candidates the store's pacing lets through; the others into ``skipped``."""
        last = self.last_push.get(trig.store_id)
        cooldown = self.pacing.store_cooldown_s
        cooling = cooldown > 0 and last is not None and trig.at - last < cooldown
        kept = []
        for cand in found:
            why = Skip.COOLDOWN if cooling else self._offer_pacing(trig, cand)
            if why is None:
                kept.append((trig, cand))
            else:
                skipped.append(Skipped(cand.key, trig.store_id, why))
        return kept

    def _offer_pacing(self, trig: Trigger, cand: _Candidate) -> Skip | None:
        rule = cand.offer
        if rule is None:
            return None
        if not meets(trig.confidence, rule.min_confidence):
            return Skip.LOW_CONFIDENCE
        if rule.schedule is not None:
            local = trig.at + self.pacing.store_utc_offset_s.get(trig.store_id, 0)
            if not rule.schedule.open_at(local):
                return Skip.SCHEDULE
        # One send per offer per user and day: a budget with one left cannot be spent twice
        # within a call, so what was read is what is left.
        if rule.has_budget and self.pacing.budget_left.get(rule.id, 0) <= 0:
            return Skip.BUDGET
        return None

    def serve(
        self, at: float, ranked: list[tuple[Trigger, _Candidate]], out: list[Decision]
    ) -> None:
        """Serve the instant's candidates in rank order, against the user's preferences."""
        quiet = self.profile.quiet_at(at)
        # Built once for the instant: each decision names all the others (a slice apiece).
        keys = tuple(c.key for _, c in ranked)
        orders = [c.order for _, c in ranked]
        for i, (trig, cand) in enumerate(ranked):
            place_bound = cand.offer is None or cand.offer.place_bound
            ends_at = None if cand.offer is None else cand.offer.ends_at
            deferred = None
            why = None
            if quiet:
                until = self.profile.quiet_until(at)
                if place_bound or (ends_at is not None and ends_at <= until):
                    why = Suppression.QUIET_HOURS
                else:
                    deferred = until
            if why is None and self.room is not None and self.sends >= self.room:
                why = Suppression.DAILY_CAP
            held_out = why is None and cand.offer_id in self.pacing.held_out
            if why is not None:
                if cand.key in self.held:
                    continue
                self.held.add(cand.key)
            else:
                self.taken.add(cand.key)
                if not held_out:
                    self.sends += 1
                    self.last_push[trig.store_id] = at
            if held_out:
                deferred = None
            competed = keys[:i] + keys[i + 1 :]
            decided_by = rival(orders, i, why is None)
            out.append(self._decision(trig, cand, competed, decided_by, why, held_out, deferred))

    def _decision(
        self,
        trig: Trigger,
        cand: _Candidate,
        competed: tuple[str, ...],
        decided_by: str | None,
        why: Suppression | None,
        held_out: bool,
        deferred: float | None,
    ) -> Decision:
        place_bound = cand.offer is None or cand.offer.place_bound
        expires = None if cand.offer is None else cand.offer.ends_at
        if place_bound:
            visit_end = trig.at + self.pacing.visit_s
            expires = visit_end if expires is None else min(expires, visit_end)
        return Decision(
            cand.offer_id,
            trig.store_id,
            trig.zone,
            trig.transition,
            cand.matched,
            rule=cand.rule,
            suppressed=why,
            timeout=trig.timeout,
            look_id=cand.look_id,
            competed=competed,
            decided_by=decided_by,
            held_out=held_out,
            deferred_until=deferred,
            place_bound=place_bound,
            expires_at=expires,
            confidence=trig.confidence,
        )


def _fires(offer: OfferRule, trig: Trigger) -> bool:
    if offer.broadcast != trig.broadcast:
        return False
    if not trig.broadcast and offer.trigger != trig.transition:
        return False
    if offer.dwell_s is None:
        if trig.checkpoint:
            return False
    elif trig.dwelled_s is None or trig.dwelled_s < offer.dwell_s:
        return False
    if offer.zone_kind is not None and not trig.zone.startswith(f"{offer.zone_kind}:"):
        return False
    return offer.zones is None or trig.zone in offer.zones


def _candidates(
    profile: TargetingProfile,
    trig: Trigger,
    by_store: dict[int, list[OfferRule]],
    looks: dict[int, list[LookRule]],
    state: _State,
) -> list[_Candidate]:
    """What may be pushed for this event (pacing and preferences not yet applied)."""
    store_last = state.last_push.get(trig.store_id)
    found = []
    for offer in by_store.get(trig.store_id, ()):
        key = f"offer:{offer.id}"
        if key in state.taken or not _fires(offer, trig):
            continue
        matched = offer.segments & profile.segments
        if matched and offer.active_at(trig.at):
            rank = order(
                priority=offer.priority,
                overlap=len(matched),
                store_last_push=store_last,
                fresh_at=offer.fresh_at,
                look=False,
                id=offer.id,
            )
            rule = "broadcast" if trig.broadcast else "one_per_offer_per_day"
            found.append(_Candidate(key, offer.id, None, matched, rule, rank, offer))
    if trig.transition in PUSH_TRANSITIONS_FOR_LOOKS and not (trig.broadcast or trig.checkpoint):
        key_of = "look:{}".format
        look = next(
            (x for x in looks.get(trig.store_id, ()) if key_of(x.id) not in state.taken), None
        )
        if look is not None:
            rank = order(
                priority=0,
                overlap=len(look.shared),
                store_last_push=store_last,
                fresh_at=0.0,
                look=True,
                id=look.id,
            )
            found.append(
                _Candidate(
                    key_of(look.id), None, look.id, look.shared, "one_per_look_per_day", rank
                )
            )
    return found


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
