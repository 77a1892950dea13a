"""How sure Vicinity is that a presence event happened: ``low``, ``medium`` or ``high``
(Radar's event ``confidence``, 1 to 3), given to each event by the source that observed it.

* **A GPS fix**: its reported accuracy against the fence's size, as Radar rates its
  geofence events (and OwnTracks warns that a fence smaller than the accuracy means
  nothing). ``high`` when the accuracy is at most ``FIX_HIGH_M`` (20 m, a clear-sky GPS
  fix) and at most half the fence's radius; ``medium`` when at most ``FIX_MEDIUM_M`` (65 m,
  the order of a Wi-Fi fix) and at most the fence's radius; otherwise ``low``. A polygon's
  radius is that of the circle of the same area.
* **A beacon zone**: the smoothed proximity of its nearest beacon in the scan
  (``beacons.proximity``): ``immediate`` (under 0.5 m) is ``high``, ``near`` (under 3 m)
  ``medium``, ``far`` or not heard (a zone held through a missed scan) ``low``.
* **An NFC tap**: ``high``, the phone touched the store's own tag.
* **Agreement**: an ENTER or DWELL at a store that another source also places the user
  in, observed within ``AGREEMENT_S`` of the event (a fix inside the fence while the
  store's beacon zone was heard, the beacon heard while fixes put the user in the store's
  fence, or a tap at its counter), is ``high``: two independent sensors agree. A static
  beacon id can be cloned and a fix can be spoofed; both together are much harder.
* **An EXIT inferred from silence** (``timeout``): ``low``; nothing observed it.

An offer's ``min_confidence`` (null: any) fires only on events at least that sure, in the
order ``low < medium < high`` (``meets``).

Pure: no I/O, no clock.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum
from typing import Final


class Confidence(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def level(self) -> int:
        """Radar's scale: 1 (low) to 3 (high)."""
        return _LEVELS[self]


_LEVELS: Final = {Confidence.LOW: 1, Confidence.MEDIUM: 2, Confidence.HIGH: 3}

FIX_HIGH_M: Final = 20.0
FIX_MEDIUM_M: Final = 65.0
AGREEMENT_S: Final = 300.0
TAP: Final = Confidence.HIGH
TIMEOUT: Final = Confidence.LOW
BY_PROXIMITY: Final[Mapping[str, Confidence]] = {
    "immediate": Confidence.HIGH,
    "near": Confidence.MEDIUM,
    "far": Confidence.LOW,
}


def meets(confidence: Confidence, minimum: Confidence | None) -> bool:
    """Whether an event this sure satisfies an offer asking for ``minimum`` (None: any)."""
    return minimum is None or _LEVELS[confidence] >= _LEVELS[minimum]


def of_fix(accuracy_m: float, fence_radius_m: float) -> Confidence:
    """A fix's confidence in a fence of this radius (see the module doc)."""
    if accuracy_m <= FIX_HIGH_M and accuracy_m <= fence_radius_m / 2:
        return Confidence.HIGH
    if accuracy_m <= FIX_MEDIUM_M and accuracy_m <= fence_radius_m:
        return Confidence.MEDIUM
    return Confidence.LOW


def of_proximity(proximity: str | None) -> Confidence:
    """A beacon zone's confidence from its proximity in the scan (``None``: not heard)."""
    return Confidence.LOW if proximity is None else BY_PROXIMITY.get(proximity, Confidence.LOW)


def equivalent_radius_m(area_m2: float) -> float:
    """The radius of the circle of this area: a polygon's size in the terms of a circle's."""
    return math.sqrt(max(area_m2, 0.0) / math.pi)


def agreeing_stores(
    zones: Iterable[str],
    last_at: Mapping[str, float],
    *,
    kinds: frozenset[str],
    at: float,
    store_of: Callable[[str], int | None],
) -> frozenset[int]:
    """The stores where a source of ``kinds`` placed the user within ``AGREEMENT_S`` of
    ``at``: ``zones`` and ``last_at`` are the user's presence (zone string forms, and
    each source's last observation)."""
    found: set[int] = set()
    for zone in zones:
        kind = zone.partition(":")[0]
        if kind in kinds and abs(at - last_at.get(kind, -math.inf)) <= AGREEMENT_S:
            store = store_of(zone)
            if store is not None:
                found.add(store)
    return frozenset(found)


def raised(confidence: Confidence, agreed: bool) -> Confidence:
    """``high`` when another source agrees, else as observed."""
    return Confidence.HIGH if agreed else confidence
