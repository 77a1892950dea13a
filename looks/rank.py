"""Which friend's look to show at a store: a deterministic ranking that explains itself.

Pure: candidates, the user's consented segments and the time in; ranked looks with a
score and a sentence out; no I/O, no clock. The candidates are already eligible (a
friend's, not blocked either way, not deleted, featuring an item or brand still sold at
this store: ``looks.repository.candidate_looks``). The score adds three terms:

* **interest**: a look that shares at least one segment with the user's consented
  segments gets ``INTEREST_BONUS`` plus the share of its segments the user consented to
  (so up to ``INTEREST_BONUS + 1``). A look sharing none stays eligible but gets 0: since
  the two other terms together stay below ``INTEREST_BONUS``, every look that shares an
  interest outranks every look that does not.
* **freshness**: ``2 ** (-age / HALF_LIFE_S)``, 1 when just posted, ½ after a week
  (exponential decay with a half-life; a look "from the future" counts as just posted).
* **familiarity**: ``OPENS_WEIGHT * min(ln(1 + opens), OPENS_CAP)``, where opens is how
  many of this friend's looks the user opened: diminishing returns, bounded.

Ties (equal scores to ``SCORE_DECIMALS`` places) go to the lower look id.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

HALF_LIFE_S = 7 * 24 * 3600.0
INTEREST_BONUS = 3.0
OPENS_WEIGHT = 0.5
OPENS_CAP = 2.0  # ln(1 + opens) is capped here: freshness + familiarity < INTEREST_BONUS
SCORE_DECIMALS = 6


@dataclass(frozen=True, slots=True)
class LookCandidate:
    look_id: int
    creator_id: int
    creator_name: str
    created_at: float
    """Epoch seconds."""
    segments: frozenset[str]
    """Segments (slugs) of the look's tagged items at this store."""
    opens_of_creator: int
    """How many of the creator's looks the user opened."""


@dataclass(frozen=True, slots=True)
class RankedLook:
    candidate: LookCandidate
    score: float
    shared: frozenset[str]
    age_s: float
    labels: Mapping[str, str]

    @property
    def reason(self) -> str:
        """The ranking in a sentence. Written on demand: the decision ranks every
        candidate but explains only the one it pushes."""
        c = self.candidate
        return "; ".join(
            (
                _interest(self.shared, self.labels),
                f"posted {_age(self.age_s)}",
                _opens(c.opens_of_creator, c.creator_name),
            )
        )


def _age(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''} ago"
    hours = minutes // 60
    if hours < 24:
        return f"{hours} hour{'s' if hours != 1 else ''} ago"
    days = hours // 24
    return f"{days} day{'s' if days != 1 else ''} ago"


def _interest(shared: frozenset[str], labels: Mapping[str, str]) -> str:
    if not shared:
        return "shares none of your interests"
    names = sorted(labels.get(s, s) for s in shared)
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    return f"shares {listed} with your interests"


def _opens(opens: int, name: str) -> str:
    if opens <= 0:
        return f"you have not opened {name}'s looks yet"
    return f"you opened {opens} of {name}'s looks"


def rank_one(
    c: LookCandidate,
    consented: frozenset[str],
    now: float,
    labels: Mapping[str, str],
) -> RankedLook:
    shared = c.segments & consented
    interest = INTEREST_BONUS + len(shared) / len(c.segments) if shared else 0.0
    age = max(0.0, now - c.created_at)
    freshness = 2.0 ** (-age / HALF_LIFE_S)
    familiarity = OPENS_WEIGHT * min(math.log1p(max(0, c.opens_of_creator)), OPENS_CAP)
    score = round(interest + freshness + familiarity, SCORE_DECIMALS)
    return RankedLook(c, score, shared, age, labels)


def rank_looks(
    candidates: Iterable[LookCandidate],
    consented: frozenset[str],
    now: float,
    *,
    labels: Mapping[str, str] | None = None,
) -> list[RankedLook]:
    """Every candidate, best first.

    ``consented``: the user's consented segment slugs expanded down the taxonomy (a
    parent covers its children), as ``preferences.core.TargetingProfile.segments``.
    ``labels`` names segments in the reasons (one without is called by its slug).
    """
    named = labels or {}
    ranked = [rank_one(c, consented, now, named) for c in candidates]
    ranked.sort(key=lambda r: (-r.score, r.candidate.look_id))
    return ranked
