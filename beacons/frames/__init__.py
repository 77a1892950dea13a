"""Beacon frames: iBeacon, AltBeacon and Eddystone parsed from advertisements.

Pure: no I/O and no clock reads.

Frames are read from the payloads bleak reports: manufacturer data without its
2-byte company id, service data without its service UUID.

- iBeacon (Apple, company id 0x004C): ``02 15 | proximity UUID (16) | major (u16) |
  minor (u16) | measured power (i8, RSSI at 1 m)``, 23 bytes.
- AltBeacon (AltBeacon/spec v1.0, any company id): ``BE AC | beacon id (20) |
  reference RSSI (i8, at 1 m) | manufacturer reserved (1)``, 24 bytes; 23 when the
  reserved byte is cut off, read as 0 (as the android-beacon-library does).
- Eddystone (google/eddystone ``protocol-specification.md``): service data of
  UUID 0xFEAA, frame type in the first byte. Tx power is calibrated at 0 m; the
  RSSI at 1 m is taken as Tx power - 41 dB (``eddystone-url/README.md``).

  - UID 0x00: tx power (i8) | namespace (10) | instance (6) | reserved (2), which
    some beacons omit: 18 or 20 bytes.
  - URL 0x10: tx power (i8) | scheme prefix (0 ``http://www.``, 1 ``https://www.``,
    2 ``http://``, 3 ``https://``) | encoded URL (0-17 bytes) in which bytes
    0x00-0x0D expand to ``.com/ .org/ .edu/ .net/ .info/ .biz/ .gov/`` and the same
    seven without the slash; other bytes are printable ASCII 0x21-0x7E.
  - TLM 0x20 version 0x00 (``eddystone-tlm/tlm-plain.md``): battery mV (u16,
    0 = unsupported) | temperature in degrees C (signed 8.8 fixed point,
    0x8000 = unsupported) | advertising PDU count (u32) | time since boot (u32,
    0.1 s units), 14 bytes. Version 0x01 is encrypted TLM, not read here.
  - EID 0x30: tx power (i8) | ephemeral id (8), 10 bytes.

  All multi-byte fields, in every format, are big-endian.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeAlias

from beacons.frames.base import (
    APPLE_COMPANY_ID,
    EDDYSTONE_LOSS_AT_1M_DB,
    EDDYSTONE_SERVICE_UUID,
    MalformedFrame,
    altbeacon_identity,
    eddystone_uid_identity,
    eid_beacon_identity,
    ibeacon_identity,
)
from beacons.frames.eddystone import (
    EddystoneEid,
    EddystoneFrame,
    EddystoneTlm,
    EddystoneUid,
    EddystoneUrl,
    is_readable_eddystone,
    parse_eddystone,
)
from beacons.frames.manufacturer import (
    ALTBEACON_PREFIX,
    IBEACON_PREFIX,
    AltBeacon,
    IBeacon,
    parse_altbeacon,
    parse_ibeacon,
)

__all__ = [
    "APPLE_COMPANY_ID",
    "EDDYSTONE_LOSS_AT_1M_DB",
    "EDDYSTONE_SERVICE_UUID",
    "AltBeacon",
    "BeaconFrame",
    "EddystoneEid",
    "EddystoneFrame",
    "EddystoneTlm",
    "EddystoneUid",
    "EddystoneUrl",
    "IBeacon",
    "MalformedFrame",
    "altbeacon_identity",
    "eddystone_uid_identity",
    "eid_beacon_identity",
    "ibeacon_identity",
    "parse_advertisement",
    "parse_altbeacon",
    "parse_eddystone",
    "parse_ibeacon",
]

BeaconFrame: TypeAlias = IBeacon | AltBeacon | EddystoneFrame


def parse_advertisement(
    manufacturer_data: Mapping[int, bytes], service_data: Mapping[str, bytes]
) -> list[BeaconFrame]:
    """Every beacon frame in one advertisement, in the shape bleak reports it.

    Data that is not a beacon format is skipped; a known prefix with a bad body raises.
    """
    frames: list[BeaconFrame] = []
    for company_id, payload in manufacturer_data.items():
        if company_id == APPLE_COMPANY_ID and payload.startswith(IBEACON_PREFIX):
            frames.append(parse_ibeacon(payload))
        elif payload.startswith(ALTBEACON_PREFIX):
            frames.append(parse_altbeacon(payload))
    for uuid, payload in service_data.items():
        if uuid.lower() == EDDYSTONE_SERVICE_UUID and is_readable_eddystone(payload):
            frames.append(parse_eddystone(payload))
    return frames
