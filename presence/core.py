"""The one presence state machine, for geofences, beacon zones and (later) NFC taps.

Every source reduces what the phone reported to an :class:`Observation`: the zones the
user is certainly in, and the zones they may still be in (the hysteresis band). The
machine turns a sequence of observations into ENTER, DWELL and EXIT events:

* ENTER when a zone appears in ``inside`` that the user was not in.
* EXIT when a zone of the observation's source is neither ``inside`` nor ``holding``.
  A source only exits its own zones: a GPS fix says nothing about beacon zones.
* DWELL once per visit, on the first observation still in the zone ``dwell_s`` seconds
  after the ENTER (Radar's ``dwellThreshold``).
* Observations not newer than the source's last accepted one are dropped: replays and
  late fixes from a phone coming back online must not re-enter or exit anything
  (traccar ``PositionUtil.isLatest``).

Pure: no I/O, no clock. Times are UTC epoch seconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Transition(StrEnum):
    ENTER = "enter"
    DWELL = "dwell"
    EXIT = "exit"


@dataclass(frozen=True, slots=True)
class ZoneVisit:
    entered_at: float
    dwelled: bool = False


@dataclass(frozen=True, slots=True)
class Presence:
    """Where one user is: the zones they are in and, per source, the last observation time."""

    zones: Mapping[str, ZoneVisit] = field(default_factory=dict)
    last_at: Mapping[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "zones": {k: [v.entered_at, v.dwelled] for k, v in self.zones.items()},
            "last_at": dict(self.last_at),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Presence:
        zones = {k: ZoneVisit(float(v[0]), bool(v[1])) for k, v in data.get("zones", {}).items()}
        last_at = {k: float(v) for k, v in data.get("last_at", {}).items()}
        return cls(zones=zones, last_at=last_at)


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


def zone_key(source: str, ident: object) -> str:
    """Zones are keyed ``<source>:<id>`` so each source can find its own."""
    return f"{source}:{ident}"


def is_newer(presence: Presence, source: str, at: float) -> bool:
    return at > presence.last_at.get(source, float("-inf"))


def advance(
    presence: Presence, obs: Observation, dwell_s: Mapping[str, float]
) -> tuple[Presence, list[ZoneEvent]]:
    """Apply one observation; return the new presence and the events it caused, in order."""
    if not is_newer(presence, obs.source, obs.at):
        return presence, []
    prefix = obs.source + ":"
    zones = dict(presence.zones)
    events: list[ZoneEvent] = []
    for zone, visit in presence.zones.items():
        if not zone.startswith(prefix):
            continue
        if zone in obs.inside or zone in obs.holding:
            if not visit.dwelled and obs.at - visit.entered_at >= dwell_s.get(zone, float("inf")):
                zones[zone] = ZoneVisit(visit.entered_at, dwelled=True)
                events.append(ZoneEvent(zone, Transition.DWELL, obs.at))
        else:
            del zones[zone]
            events.append(ZoneEvent(zone, Transition.EXIT, obs.at))
    for zone in sorted(obs.inside - presence.zones.keys()):
        zones[zone] = ZoneVisit(obs.at)
        events.append(ZoneEvent(zone, Transition.ENTER, obs.at))
    last_at = {**presence.last_at, obs.source: obs.at}
    return Presence(zones=zones, last_at=last_at), events
