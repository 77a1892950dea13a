"""The rules a fix must pass to count, and the observation it then makes.

Screening, from traccar and Radar's field experience:

* accuracy worse than ``max_accuracy_m`` is ignored: it cannot place anyone in a shop;
* a fix not newer than the user's last accepted one is ignored (replay, out of order);
* a fix older than ``max_age_s`` is ignored: a late event must not trigger a push;
* a fix that would mean moving faster than ``max_speed_kmh`` since the last accepted one
  is an impossible jump, ignored as ``teleport`` (``geofence.jumps``).

Hysteresis: once in a fence, a user stays in it until a fix lies outside by more than
``max(accuracy_m, exit_margin_m)``, so GPS jitter at a border does not flap.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from geofence.core import SOURCE, Fence, GeofenceIndex
from presence.core import Observation, ZoneKey, kind_of


@dataclass(frozen=True, slots=True)
class Fix:
    lon: float
    lat: float
    accuracy_m: float
    at: float


class Rejection(StrEnum):
    POOR_ACCURACY = "poor_accuracy"
    OUT_OF_ORDER = "out_of_order"
    STALE = "stale"
    TELEPORT = "teleport"


@dataclass(frozen=True, slots=True)
class Screening:
    max_accuracy_m: float
    max_age_s: float
    exit_margin_m: float
    max_skew_s: float = 30.0  # how far ahead of the server a phone's clock may run
    dwell_step_s: float | None = None  # DWELL checkpoints after the DWELL (presence.core)
    max_speed_kmh: float = 300.0  # faster since the last accepted fix: a teleport


def screen(fix: Fix, *, last_at: float, now: float, rules: Screening) -> Rejection | None:
    if fix.accuracy_m > rules.max_accuracy_m:
        return Rejection.POOR_ACCURACY
    if fix.at <= last_at:
        return Rejection.OUT_OF_ORDER
    if now - fix.at > rules.max_age_s:
        return Rejection.STALE
    return None


def observe(
    fix: Fix,
    inside: Iterable[Fence],
    current: Iterable[str],
    index: GeofenceIndex,
    rules: Screening,
) -> Observation:
    """The observation a fix makes: fences it is in, and current ones within the band."""
    inside_zones = frozenset(f.zone for f in inside)
    band = max(fix.accuracy_m, rules.exit_margin_m)
    holding = set()
    for zone in current:
        if zone in inside_zones or kind_of(zone) != SOURCE:
            continue
        fence = index.get(ZoneKey.parse(zone).id)
        if fence is not None and fence.metres_outside(fix.lon, fix.lat) <= band:
            holding.add(zone)
    return Observation(SOURCE, fix.at, inside_zones, frozenset(holding))
