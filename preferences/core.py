"""Which consent is in force under a versioned policy: pure, no I/O.

Domain rules:

* The policy in force is the latest version the operator published. Until one is
  published, the configured version (``Settings.policy_version``) is the baseline; when it
  was never published itself it stands before every published version and counts as
  having set the terms of every purpose.
* Each version names the purposes whose terms it changed. Consent to a purpose counts
  only when its latest ledger line is a grant made under the version that last changed
  that purpose, or a later one: a new version that changes ``location_offers`` needs fresh
  consent for it, while consent to ``beacon_proximity`` given earlier still holds.
* A grant under a version this server never knew (not published, not the baseline)
  counts for nothing.
* Only the version in force can be granted; withdrawing is accepted under any version,
  since stopping must never be refused.

The :class:`TargetingProfile` is what the preferences hand the decision about a person,
and all they hand it: consented segments and delivery preferences, on the user's clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class PolicyStep:
    version: str
    changed: frozenset[str]


@dataclass(frozen=True, slots=True)
class PolicyHistory:
    """The policy versions, oldest first; never empty."""

    steps: tuple[PolicyStep, ...]

    @classmethod
    def of(
        cls, published: Sequence[PolicyStep], *, baseline: str, purposes: Iterable[str]
    ) -> PolicyHistory:
        """Published versions in publication order, behind the configured baseline."""
        if any(step.version == baseline for step in published):
            return cls(tuple(published))
        return cls((PolicyStep(baseline, frozenset(purposes)), *published))

    @property
    def current(self) -> str:
        return self.steps[-1].version

    def in_force(self, *, purpose: str, granted: bool, version: str | None) -> bool:
        """Whether a ledger line (the latest for ``purpose``) lets pushes for it through."""
        if not granted or version is None:
            return False
        rank = next((i for i, s in enumerate(self.steps) if s.version == version), None)
        if rank is None:
            return False
        last_change = max((i for i, s in enumerate(self.steps) if purpose in s.changed), default=-1)
        return rank >= last_change


class Purpose(StrEnum):
    LOCATION_OFFERS = "location_offers"
    BEACON_PROXIMITY = "beacon_proximity"
    FRIENDS_LOOKS = "friends_looks"
    # Being named (by user id) in the webhooks of the stores the user picks (IdShare).
    SHARE_ID_WITH_STORES = "share_id_with_stores"


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

    def minutes_left(self, minute: int) -> int:
        """Minutes from ``minute`` (inside the window) to the window's end."""
        return (self.end_min - minute) % MINUTES_PER_DAY


@dataclass(frozen=True, slots=True)
class TargetingProfile:
    """Everything the decision knows about a person, and all it may ever know.

    ``segments``: consented interests and active activations, expanded down the taxonomy.
    ``friends_looks``: the ``friends_looks`` consent is in force too, so a friend's look
    may be pushed beside the offers. The rest are delivery preferences; ``utc_offset_s``
    is the user's offset at the event, so quiet hours and the daily cap follow their
    local clock.
    """

    segments: frozenset[str]
    max_per_day: int | None = None
    quiet_hours: QuietHours | None = None
    utc_offset_s: int = 0
    muted_store_ids: frozenset[int] = frozenset()
    friends_looks: bool = False

    def local_minute(self, at: float) -> int:
        return int((at + self.utc_offset_s) // 60) % MINUTES_PER_DAY

    def quiet_at(self, at: float) -> bool:
        return self.quiet_hours is not None and self.quiet_hours.covers(self.local_minute(at))

    def quiet_until(self, at: float) -> float:
        """When the quiet window covering ``at`` ends (epoch seconds, on a minute)."""
        if self.quiet_hours is None:
            return at
        minute_start = at - (at + self.utc_offset_s) % 60
        return minute_start + 60 * self.quiet_hours.minutes_left(self.local_minute(at))
