"""The one presence state machine, for geofences, beacon zones and (later) NFC taps.

Every source reduces what the phone reported to an :class:`Observation`: the zones the
user is certainly in, and the zones they may still be in (the hysteresis band). The
machine turns a sequence of observations into ENTER, DWELL and EXIT events:

* ENTER when a zone appears in ``inside`` that the user was not in.
* EXIT when a zone of the observation's source is neither ``inside`` nor ``holding``.
  A source only exits its own zones: a GPS fix says nothing about beacon zones.
* DWELL once per visit, on the first observation still in the zone ``dwell_s`` seconds
  after the ENTER (Radar's ``dwellThreshold``); then, every ``step_s`` the user stays, a
  DWELL *checkpoint* (``checkpoint=True``, with the time spent in the zone): what an offer
  asking for "dwell ≥ N minutes" waits for, so presence needs no knowledge of offers.
  Checkpoints are not transitions: the event log and the transition counts skip them.
* Observations not newer than the source's last accepted one are dropped: replays and
  late fixes from a phone coming back online must not re-enter or exit anything
  (traccar ``PositionUtil.isLatest``).
* EXIT marked ``timeout`` (:func:`expire`) for the zones of a source not observed for
  ``stale_s``: a phone that went silent left, even though it never said so.
* Each event carries its :class:`~presence.confidence.Confidence`, set by the source
  that observed it (``low`` until it does; a timeout EXIT stays ``low``).

Presence also keeps the last accepted GPS fix (:class:`LastFix`: rounded to 4 decimals of
a degree, about 10 m, and its accuracy), so the next one can be checked for an impossible
jump (``geofence.jumps.too_fast``); it is forgotten with the zones, ``stale_s`` after it
was taken, and with presence itself at its TTL.

Zones are named by a :class:`ZoneKey`; presence, events and the API carry its string
form (``geofence:12``, ``beacon:7:entrance``).

Pure: no I/O, no clock. Times are UTC epoch seconds.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from kernel.errors import Invalid
from presence.confidence import Confidence


@dataclass(frozen=True, slots=True)
class ZoneKey:
    """A zone: its kind (the source that observes it), a numeric id and, for zones named
    within a store, the name. ``ZoneKey("geofence", 12)`` is a geofence;
    ``ZoneKey("beacon", 7, "entrance")`` the beacon zone "entrance" of store 7."""

    kind: str
    id: int
    name: str | None = None

    def __str__(self) -> str:
        head = f"{self.kind}:{self.id}"
        return head if self.name is None else f"{head}:{self.name}"

    @classmethod
    def parse(cls, text: str) -> ZoneKey:
        """The key a string form names; ``ValueError`` when it names none."""
        kind, sep, rest = text.partition(":")
        ident, named, name = rest.partition(":")
        if not kind or not sep or not (ident.isascii() and ident.isdigit()):
            raise ValueError(f"not a zone key: {text!r}")
        return cls(kind, int(ident), name if named else None)


def kind_of(zone: str) -> str:
    """The source a zone's string form belongs to."""
    return ZoneKey.parse(zone).kind


class Transition(StrEnum):
    ENTER = "enter"
    DWELL = "dwell"
    EXIT = "exit"


@dataclass(frozen=True, slots=True)
class ZoneVisit:
    entered_at: float
    dwelled: bool = False
    checkpoints: int = 0  # DWELL checkpoints emitted since the DWELL


@dataclass(frozen=True, slots=True)
class LastFix:
    """The last accepted GPS fix, as coarse as the jump check allows (see the module doc)."""

    lon: float
    lat: float
    accuracy_m: float
    at: float

    @classmethod
    def of(cls, lon: float, lat: float, accuracy_m: float, at: float) -> LastFix:
        return cls(round(lon, 4), round(lat, 4), float(math.ceil(accuracy_m)), at)


@dataclass(frozen=True, slots=True)
class Presence:
    """Where one user is: the zones they are in, per source the last observation time, and
    the last accepted GPS fix (``None`` when none is recent)."""

    zones: Mapping[str, ZoneVisit] = field(default_factory=dict)
    last_at: Mapping[str, float] = field(default_factory=dict)
    fix: LastFix | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            # The checkpoint count only once there is one: fewer bytes per fix in Redis.
            "zones": {
                k: [v.entered_at, v.dwelled, *([v.checkpoints] if v.checkpoints else [])]
                for k, v in self.zones.items()
            },
            "last_at": dict(self.last_at),
        }
        if self.fix is not None:
            f = self.fix
            data["fix"] = [f.lon, f.lat, f.accuracy_m, f.at]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Presence:
        # Two fields per zone until a checkpoint (and in presence saved before they existed).
        zones = {
            k: ZoneVisit(float(v[0]), bool(v[1]), int(v[2]) if len(v) > 2 else 0)
            for k, v in data.get("zones", {}).items()
        }
        last_at = {k: float(v) for k, v in data.get("last_at", {}).items()}
        raw = data.get("fix")
        fix = (
            None if not raw else LastFix(float(raw[0]), float(raw[1]), float(raw[2]), float(raw[3]))
        )
        return cls(zones=zones, last_at=last_at, fix=fix)


@dataclass(frozen=True, slots=True)
class Observation:
    source: str
    at: float
    inside: frozenset[str]
    holding: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ZoneEvent:
    zone: str
    transition: Transition
    at: float
    timeout: bool = False  # an EXIT inferred from silence, not observed
    dwelled_s: float | None = None  # a DWELL's time in the zone since the ENTER
    checkpoint: bool = False  # a DWELL checkpoint after the first (see the module doc)
    confidence: Confidence = Confidence.LOW  # set by the observing source


def clock_offset(times: Iterable[float], *, now: float, max_skew_s: float) -> float:
    """How far to move a batch's times back so none is ahead of ``now`` (0 when none is).

    A phone clock a few seconds fast would otherwise date its observations in the future,
    and every real one after them would be out of order until the clock caught up; the
    batch is shifted whole, so its intervals (and dwell) stay as the phone measured them.
    A clock further ahead than ``max_skew_s`` is wrong, not drifting: ``Invalid``.
    """
    ahead = max(times, default=now) - now
    if ahead > max_skew_s:
        raise Invalid(
            f"recorded_at is {ahead:.0f} s in the future by the server clock (at most "
            f"{max_skew_s:.0f} s ahead allowed); check the phone's clock"
        )
    return max(ahead, 0.0)


def is_newer(presence: Presence, source: str, at: float) -> bool:
    return at > presence.last_at.get(source, float("-inf"))


def advance(
    presence: Presence,
    obs: Observation,
    dwell_s: Mapping[str, float],
    step_s: float | None = None,
) -> tuple[Presence, list[ZoneEvent]]:
    """Apply one observation; return the new presence and the events it caused, in order.

    ``step_s``: the interval of DWELL checkpoints after the DWELL (``None``: none)."""
    if not is_newer(presence, obs.source, obs.at):
        return presence, []
    zones = dict(presence.zones)
    events: list[ZoneEvent] = []
    for zone, visit in presence.zones.items():
        if kind_of(zone) != obs.source:
            continue
        if zone in obs.inside or zone in obs.holding:
            stayed = obs.at - visit.entered_at
            threshold = dwell_s.get(zone, float("inf"))
            if not visit.dwelled and stayed >= threshold:
                zones[zone] = ZoneVisit(visit.entered_at, dwelled=True)
                events.append(ZoneEvent(zone, Transition.DWELL, obs.at, dwelled_s=stayed))
            elif (
                visit.dwelled and step_s and stayed - threshold >= step_s * (visit.checkpoints + 1)
            ):
                passed = int((stayed - threshold) // step_s)
                zones[zone] = ZoneVisit(visit.entered_at, dwelled=True, checkpoints=passed)
                events.append(
                    ZoneEvent(zone, Transition.DWELL, obs.at, dwelled_s=stayed, checkpoint=True)
                )
        else:
            del zones[zone]
            events.append(ZoneEvent(zone, Transition.EXIT, obs.at))
    for zone in sorted(obs.inside - presence.zones.keys()):
        zones[zone] = ZoneVisit(obs.at)
        events.append(ZoneEvent(zone, Transition.ENTER, obs.at))
    last_at = {**presence.last_at, obs.source: obs.at}
    return Presence(zones=zones, last_at=last_at, fix=presence.fix), events


def stale_since(presence: Presence) -> float | None:
    """When the least recently observed source holding a zone was last observed (the
    clock its staleness runs from); ``None`` when the user is in no zone."""
    kinds = {kind_of(zone) for zone in presence.zones}
    return min((presence.last_at.get(k, float("-inf")) for k in kinds), default=None)


def expire(presence: Presence, *, now: float, stale_s: float) -> tuple[Presence, list[ZoneEvent]]:
    """EXIT (``timeout``) every zone of a source not observed for more than ``stale_s``.

    The EXIT is dated when the source was last observed: the last moment the user was
    known to be there. ``last_at`` is kept, so late observations stay out of order. The
    last fix older than ``stale_s`` is forgotten too (the privacy bound of the jump check).
    """
    events: list[ZoneEvent] = []
    zones = dict(presence.zones)
    for zone in presence.zones:
        last = presence.last_at.get(kind_of(zone))
        if last is None or now - last > stale_s:
            del zones[zone]
            events.append(ZoneEvent(zone, Transition.EXIT, now if last is None else last, True))
    fix = presence.fix
    if fix is not None and now - fix.at > stale_s:
        fix = None
    if not events and fix is presence.fix:
        return presence, []
    return Presence(zones=zones, last_at=presence.last_at, fix=fix), events
