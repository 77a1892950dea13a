"""Beacon zones: from what a phone heard to the zones it is in.

Pure: no I/O and no clock reads; every time is an argument in seconds.

Beacon zones feed the one presence machine (``presence.core``) as source ``beacon``,
zone ``beacon:<store id>:<zone name>``; several beacons may share a zone, and the
zone is as near as its nearest beacon. A phone reports a batch of sightings; each
reading updates that user's Kalman track of the beacon, then the readings given
together (``beacons.tracking`` passes those of one moment) yield one observation at the
newest of them, counting only beacons last heard within ``exit_after_s`` of it:

- inside: zones heard IMMEDIATE or NEAR (smoothed) in this batch. FAR never enters.
- holding: zones the user is in whose nearest recent beacon is within
  ``exit_distance_m`` (a FAR reading keeps the zone: the hysteresis band), or that went
  unheard in this batch for less than ``exit_after_s`` (BLE scans miss packets).
- EXIT: a zone the user is in that is neither, i.e. silent for longer than
  ``exit_after_s`` or heard only beyond ``exit_distance_m``.
"""

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from beacons.frames import (
    AltBeacon,
    BeaconFrame,
    EddystoneEid,
    EddystoneTlm,
    EddystoneUid,
    IBeacon,
    MalformedFrame,
)
from beacons.proximity import Proximity, SmoothedRssi, classify, distance_m, update
from presence.core import Observation, ZoneKey, kind_of

SOURCE = "beacon"


def zone_of(store_id: int, zone: str) -> str:
    """The presence zone of a store's beacon zone, ``beacon:<store id>:<zone name>``."""
    return str(ZoneKey(SOURCE, store_id, zone))


def store_of_zone(zone: str) -> int | None:
    """The store id in a beacon zone key; ``None`` for any other zone."""
    try:
        key = ZoneKey.parse(zone)
    except ValueError:
        return None
    return key.id if key.kind == SOURCE and key.name is not None else None


@dataclass(frozen=True, slots=True)
class Sighting:
    """One beacon a phone heard: a static ``identity`` or an Eddystone ``eid``, never both.

    ``tlm`` is telemetry the phone heard from the same beacon and forwards with it.
    """

    identity: str | None
    eid: bytes | None
    rssi: float
    at_s: float
    tlm: EddystoneTlm | None = None


def sighting_from_frames(frames: Iterable[BeaconFrame], rssi: float, at_s: float) -> Sighting:
    """The sighting in one advertisement's frames; raises when no frame names a beacon."""
    identity: str | None = None
    eid: bytes | None = None
    tlm: EddystoneTlm | None = None
    for frame in frames:
        if isinstance(frame, EddystoneTlm):
            tlm = frame
        elif isinstance(frame, EddystoneEid):
            eid = eid or frame.eid
        elif isinstance(frame, IBeacon | AltBeacon | EddystoneUid):
            identity = identity or frame.identity
    if identity is None and eid is None:
        raise MalformedFrame("the advertisement has no iBeacon, AltBeacon or Eddystone UID/EID")
    # A beacon that broadcasts both a static id and an EID is known by its static id.
    return Sighting(identity, None if identity else eid, rssi, at_s, tlm)


@dataclass(frozen=True, slots=True)
class Reading:
    """A sighting resolved to a registered beacon: its presence zone and its measured power."""

    beacon_id: int
    zone: str
    measured_power_1m: int
    rssi: float
    at_s: float


@dataclass(frozen=True, slots=True)
class BeaconTrack:
    """One user's smoothed view of one beacon."""

    zone: str
    measured_power_1m: int
    rssi: SmoothedRssi

    def distance_m(self, path_loss_exponent: float) -> float:
        return distance_m(self.rssi.rssi, self.measured_power_1m, path_loss_exponent)


@dataclass(frozen=True, slots=True)
class ZoneRules:
    """``exit_distance_m`` bounds the hysteresis band; ``exit_after_s`` is the silence allowed."""

    path_loss_exponent: float = 2.0
    exit_distance_m: float = 8.0
    exit_after_s: float = 30.0


@dataclass(frozen=True, slots=True)
class ZoneReport:
    """Tracks after a batch, the observation for the presence machine (``None`` for an
    empty batch), and the proximity of each zone heard in the batch."""

    tracks: dict[int, BeaconTrack]
    observation: Observation | None
    proximity: dict[str, Proximity]


def observe_zones(
    tracks: Mapping[int, BeaconTrack],
    readings: Iterable[Reading],
    entered: Iterable[str],
    rules: ZoneRules,
) -> ZoneReport:
    """Fold a batch of readings into the user's tracks and observe the beacon zones.

    ``tracks`` is the user's state before the batch, by beacon id; ``entered`` the
    presence zones the user is in. The observation is taken at the newest reading.
    """
    updated = dict(tracks)
    heard: set[int] = set()
    at = float("-inf")
    for reading in sorted(readings, key=lambda r: r.at_s):
        track = updated.get(reading.beacon_id)
        smoothed = (
            SmoothedRssi.start(reading.rssi, reading.at_s)
            if track is None
            else update(track.rssi, reading.rssi, reading.at_s)
        )
        updated[reading.beacon_id] = BeaconTrack(reading.zone, reading.measured_power_1m, smoothed)
        heard.add(reading.beacon_id)
        at = max(at, reading.at_s)
    if not heard:
        return ZoneReport(updated, None, {})
    nearest_heard: dict[str, float] = {}
    nearest_recent: dict[str, float] = {}
    for beacon_id, track in updated.items():
        if track.rssi.at_s < at - rules.exit_after_s:
            continue
        d = track.distance_m(rules.path_loss_exponent)
        nearest_recent[track.zone] = min(d, nearest_recent.get(track.zone, math.inf))
        if beacon_id in heard:
            nearest_heard[track.zone] = min(d, nearest_heard.get(track.zone, math.inf))
    proximity = {zone: classify(d) for zone, d in nearest_heard.items()}
    inside = frozenset(z for z, p in proximity.items() if p is not Proximity.FAR)
    holding = frozenset(
        z
        for z in entered
        if kind_of(z) == SOURCE
        and z not in inside
        and nearest_recent.get(z, math.inf) < rules.exit_distance_m
    )
    return ZoneReport(updated, Observation(SOURCE, at, inside, holding), proximity)
