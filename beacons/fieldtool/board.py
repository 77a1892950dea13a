"""Everything a scan heard, smoothed per transmitter, with what the registry says about it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from beacons.fieldtool.adverts import Advert
from beacons.fieldtool.client import Api, ApiError
from beacons.frames import (
    APPLE_COMPANY_ID,
    EDDYSTONE_SERVICE_UUID,
    AltBeacon,
    BeaconFrame,
    EddystoneEid,
    EddystoneTlm,
    EddystoneUid,
    IBeacon,
    MalformedFrame,
    parse_advertisement,
)
from beacons.proximity import SmoothedRssi, distance_m, update

_FORMATS: dict[type, str] = {
    IBeacon: "ibeacon",
    AltBeacon: "altbeacon",
    EddystoneUid: "eddystone-uid",
    EddystoneEid: "eddystone-eid",
}


@dataclass
class Heard:
    """One transmitter heard during a scan, by address."""

    address: str
    identity: str | None = None
    format: str | None = None
    frame_power_1m: int | None = None
    advertisement: dict[str, dict[str, str]] | None = None
    samples: list[int] = field(default_factory=list)
    smoothed: SmoothedRssi | None = None
    tlm: EddystoneTlm | None = None
    registered: dict[str, Any] | None = None
    looked_up: str | None = None

    @property
    def measured_power_1m(self) -> int | None:
        """The registry's calibration, else what the beacon advertises (which may be
        impossible: the distance model then assumes its default)."""
        if self.registered is not None and self.registered["measured_power_1m"] is not None:
            return int(self.registered["measured_power_1m"])
        return self.frame_power_1m

    @property
    def distance_m(self) -> float | None:
        if self.smoothed is None:
            return None
        return distance_m(self.smoothed.rssi, self.measured_power_1m)


def _raw(frame: BeaconFrame, advert: Advert) -> dict[str, dict[str, str]]:
    """The part of the advertisement that carries ``frame``, for registering it."""
    if isinstance(frame, IBeacon | AltBeacon):
        for company_id, payload in advert.manufacturer_data.items():
            if payload == frame.to_manufacturer_payload():
                return {"manufacturer_data": {str(company_id): payload.hex()}}
        company = APPLE_COMPANY_ID
        return {"manufacturer_data": {str(company): frame.to_manufacturer_payload().hex()}}
    payload = advert.service_data.get(EDDYSTONE_SERVICE_UUID, b"")
    return {"service_data": {EDDYSTONE_SERVICE_UUID: payload.hex()}}


class ScanBoard:
    """Everything heard, smoothed per transmitter, with what the registry says about it."""

    def __init__(self) -> None:
        self.heard: dict[str, Heard] = {}
        self.malformed = 0
        self.api_problem: str | None = None

    def observe(self, advert: Advert) -> None:
        try:
            frames = parse_advertisement(advert.manufacturer_data, advert.service_data)
        except MalformedFrame:
            self.malformed += 1
            return
        if not frames:
            return
        heard = self.heard.setdefault(advert.address, Heard(advert.address))
        for frame in frames:
            if isinstance(frame, EddystoneTlm):
                heard.tlm = frame
            elif type(frame) in _FORMATS:
                if frame.identity != heard.identity:
                    heard.looked_up = None
                heard.identity, heard.format = frame.identity, _FORMATS[type(frame)]
                heard.frame_power_1m = frame.measured_power_1m
                heard.advertisement = _raw(frame, advert)
        heard.samples.append(advert.rssi)
        heard.smoothed = (
            SmoothedRssi.start(advert.rssi, advert.t)
            if heard.smoothed is None
            else update(heard.smoothed, advert.rssi, advert.t)
        )

    def beacons(self) -> list[Heard]:
        """Transmitters with an identity, nearest (loudest smoothed) first."""
        named = [h for h in self.heard.values() if h.identity is not None]
        return sorted(named, key=lambda h: -(h.smoothed.rssi if h.smoothed else -999.0))

    def resolve(self, api: Api | None) -> None:
        """Ask the registry about identities not looked up yet."""
        todo = {h.identity: h for h in self.beacons() if h.looked_up != h.identity}
        if api is None or not todo:
            return
        try:
            found = api.lookup([i for i in todo if i is not None])
        except ApiError as exc:
            self.api_problem = str(exc)
            return
        self.api_problem = None
        for identity, heard in todo.items():
            heard.registered = found.get(identity or "")
            heard.looked_up = identity
