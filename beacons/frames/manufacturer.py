"""iBeacon and AltBeacon: manufacturer data (see the package docstring for the layouts)."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from uuid import UUID

from beacons.frames.base import (
    MalformedFrame,
    altbeacon_identity,
    check_int8,
    check_prefix,
    check_range,
    check_size,
    ibeacon_identity,
)

IBEACON_PREFIX = b"\x02\x15"
_IBEACON = struct.Struct(">2s16sHHb")
ALTBEACON_PREFIX = b"\xbe\xac"
_ALTBEACON = struct.Struct(">2s20sbB")


@dataclass(frozen=True, slots=True)
class IBeacon:
    """Apple iBeacon; ``measured_power`` is the RSSI at 1 m."""

    uuid: UUID
    major: int
    minor: int
    measured_power: int

    def __post_init__(self) -> None:
        check_range("iBeacon major", self.major, 0, 0xFFFF)
        check_range("iBeacon minor", self.minor, 0, 0xFFFF)
        check_int8("iBeacon measured power", self.measured_power)

    @property
    def identity(self) -> str:
        return ibeacon_identity(self.uuid, self.major, self.minor)

    @property
    def measured_power_1m(self) -> int:
        return self.measured_power

    def to_manufacturer_payload(self) -> bytes:
        """Payload for company id ``APPLE_COMPANY_ID``."""
        return _IBEACON.pack(
            IBEACON_PREFIX, self.uuid.bytes, self.major, self.minor, self.measured_power
        )


def parse_ibeacon(payload: bytes) -> IBeacon:
    """Read an iBeacon from Apple manufacturer data."""
    check_prefix("iBeacon frame", payload, IBEACON_PREFIX)
    check_size("iBeacon frame", payload, _IBEACON.size)
    _, uuid, major, minor, power = _IBEACON.unpack(payload)
    return IBeacon(UUID(bytes=uuid), major, minor, power)


@dataclass(frozen=True, slots=True)
class AltBeacon:
    """AltBeacon; ``reference_rssi`` is the RSSI at 1 m, ``mfg_reserved`` is vendor-defined."""

    beacon_id: bytes
    reference_rssi: int
    mfg_reserved: int = 0

    def __post_init__(self) -> None:
        check_size("AltBeacon id", self.beacon_id, 20)
        check_int8("AltBeacon reference RSSI", self.reference_rssi)
        check_range("AltBeacon reserved byte", self.mfg_reserved, 0, 0xFF)

    @property
    def identity(self) -> str:
        return altbeacon_identity(self.beacon_id)

    @property
    def measured_power_1m(self) -> int:
        return self.reference_rssi

    def to_manufacturer_payload(self) -> bytes:
        """Payload for the beacon maker's company id."""
        return _ALTBEACON.pack(
            ALTBEACON_PREFIX, self.beacon_id, self.reference_rssi, self.mfg_reserved
        )


def parse_altbeacon(payload: bytes) -> AltBeacon:
    """Read an AltBeacon from manufacturer data of any company id."""
    check_prefix("AltBeacon frame", payload, ALTBEACON_PREFIX)
    # Some beacons and stacks cut the trailing reserved byte; the android-beacon-library
    # reads such a frame with the byte as 0 (BeaconParser zero-pads a PDU that ends
    # inside its last data field), so a phone running it reports this beacon: so do we.
    if len(payload) == _ALTBEACON.size - 1:
        payload += b"\x00"
    if len(payload) != _ALTBEACON.size:
        raise MalformedFrame(
            f"AltBeacon frame is {len(payload)} bytes, expected {_ALTBEACON.size} "
            f"({_ALTBEACON.size - 1} without the reserved byte)"
        )
    _, beacon_id, rssi, reserved = _ALTBEACON.unpack(payload)
    return AltBeacon(beacon_id, rssi, reserved)
