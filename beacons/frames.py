"""Beacon frames: iBeacon, AltBeacon and Eddystone parsed from advertisements.

Pure: no I/O and no clock reads.

Frames are read from the payloads bleak reports: manufacturer data without its
2-byte company id, service data without its service UUID.

- iBeacon (Apple, company id 0x004C): ``02 15 | proximity UUID (16) | major (u16) |
  minor (u16) | measured power (i8, RSSI at 1 m)``, 23 bytes.
- AltBeacon (AltBeacon/spec v1.0, any company id): ``BE AC | beacon id (20) |
  reference RSSI (i8, at 1 m) | manufacturer reserved (1)``, 24 bytes.
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

import hashlib
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeAlias
from uuid import UUID

APPLE_COMPANY_ID = 0x004C
EDDYSTONE_SERVICE_UUID = "0000feaa-0000-1000-8000-00805f9b34fb"
EDDYSTONE_LOSS_AT_1M_DB = 41


class MalformedFrame(ValueError):
    """A beacon frame that cannot be parsed or built; the message names the problem."""


# Validation shared by parsing and building


def _check_range(what: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise MalformedFrame(f"{what} is {value}, expected {low}..{high}")


def _check_int8(what: str, value: int) -> None:
    _check_range(what, value, -128, 127)


def _check_size(what: str, value: bytes, size: int) -> None:
    if len(value) != size:
        raise MalformedFrame(f"{what} is {len(value)} bytes, expected {size}")


def _check_prefix(what: str, payload: bytes, prefix: bytes) -> None:
    if not payload.startswith(prefix):
        got = payload[: len(prefix)].hex() or "nothing"
        raise MalformedFrame(f"{what} must start with {prefix.hex()}, got {got}")


# Identities: the registry's key for a beacon, one string per format


def ibeacon_identity(uuid: UUID, major: int, minor: int) -> str:
    return f"ibeacon:{uuid}:{major}:{minor}"


def altbeacon_identity(beacon_id: bytes) -> str:
    return f"altbeacon:{beacon_id.hex()}"


def eddystone_uid_identity(namespace: bytes, instance: bytes) -> str:
    return f"eddystone-uid:{namespace.hex()}:{instance.hex()}"


def eid_beacon_identity(identity_key: bytes) -> str:
    """An EID beacon's lasting name: its ephemeral ids rotate, its identity key does not.

    A truncated SHA-256 of the key names it without revealing the key.
    """
    return f"eddystone-eid-key:{hashlib.sha256(identity_key).hexdigest()[:16]}"


# iBeacon and AltBeacon (manufacturer data)

_IBEACON_PREFIX = b"\x02\x15"
_IBEACON = struct.Struct(">2s16sHHb")
_ALTBEACON_PREFIX = b"\xbe\xac"
_ALTBEACON = struct.Struct(">2s20sbB")


@dataclass(frozen=True, slots=True)
class IBeacon:
    """Apple iBeacon; ``measured_power`` is the RSSI at 1 m."""

    uuid: UUID
    major: int
    minor: int
    measured_power: int

    def __post_init__(self) -> None:
        _check_range("iBeacon major", self.major, 0, 0xFFFF)
        _check_range("iBeacon minor", self.minor, 0, 0xFFFF)
        _check_int8("iBeacon measured power", self.measured_power)

    @property
    def identity(self) -> str:
        return ibeacon_identity(self.uuid, self.major, self.minor)

    @property
    def measured_power_1m(self) -> int:
        return self.measured_power

    def to_manufacturer_payload(self) -> bytes:
        """Payload for company id ``APPLE_COMPANY_ID``."""
        return _IBEACON.pack(
            _IBEACON_PREFIX, self.uuid.bytes, self.major, self.minor, self.measured_power
        )


def parse_ibeacon(payload: bytes) -> IBeacon:
    """Read an iBeacon from Apple manufacturer data."""
    _check_prefix("iBeacon frame", payload, _IBEACON_PREFIX)
    _check_size("iBeacon frame", payload, _IBEACON.size)
    _, uuid, major, minor, power = _IBEACON.unpack(payload)
    return IBeacon(UUID(bytes=uuid), major, minor, power)


@dataclass(frozen=True, slots=True)
class AltBeacon:
    """AltBeacon; ``reference_rssi`` is the RSSI at 1 m, ``mfg_reserved`` is vendor-defined."""

    beacon_id: bytes
    reference_rssi: int
    mfg_reserved: int = 0

    def __post_init__(self) -> None:
        _check_size("AltBeacon id", self.beacon_id, 20)
        _check_int8("AltBeacon reference RSSI", self.reference_rssi)
        _check_range("AltBeacon reserved byte", self.mfg_reserved, 0, 0xFF)

    @property
    def identity(self) -> str:
        return altbeacon_identity(self.beacon_id)

    @property
    def measured_power_1m(self) -> int:
        return self.reference_rssi

    def to_manufacturer_payload(self) -> bytes:
        """Payload for the beacon maker's company id."""
        return _ALTBEACON.pack(
            _ALTBEACON_PREFIX, self.beacon_id, self.reference_rssi, self.mfg_reserved
        )


def parse_altbeacon(payload: bytes) -> AltBeacon:
    """Read an AltBeacon from manufacturer data of any company id."""
    _check_prefix("AltBeacon frame", payload, _ALTBEACON_PREFIX)
    _check_size("AltBeacon frame", payload, _ALTBEACON.size)
    _, beacon_id, rssi, reserved = _ALTBEACON.unpack(payload)
    return AltBeacon(beacon_id, rssi, reserved)


# Eddystone (service data of 0xFEAA)

_UID, _URL, _TLM, _EID = 0x00, 0x10, 0x20, 0x30
_UID_FRAME = struct.Struct(">Bb10s6s")
_URL_HEADER = struct.Struct(">BbB")
_TLM_FRAME = struct.Struct(">BBHhII")
_EID_FRAME = struct.Struct(">Bb8s")
_UID_RESERVED = b"\x00\x00"
_TLM_PLAIN = 0x00
_TEMPERATURE_UNSUPPORTED = -0x8000
_URL_MAX_ENCODED = 17
_URL_SCHEMES = ("http://www.", "https://www.", "http://", "https://")
_URL_EXPANSIONS = (
    ".com/", ".org/", ".edu/", ".net/", ".info/", ".biz/", ".gov/",
    ".com", ".org", ".edu", ".net", ".info", ".biz", ".gov",
)  # fmt: skip
# Longest first, so "https://www." wins over "https://" and ".com/" over ".com".
_SCHEMES_BY_LENGTH = sorted(enumerate(_URL_SCHEMES), key=lambda item: -len(item[1]))
_EXPANSIONS_BY_LENGTH = sorted(enumerate(_URL_EXPANSIONS), key=lambda item: -len(item[1]))


def _eddystone_power_1m(tx_power_0m: int) -> int:
    return tx_power_0m - EDDYSTONE_LOSS_AT_1M_DB


@dataclass(frozen=True, slots=True)
class EddystoneUid:
    tx_power_0m: int
    namespace: bytes
    instance: bytes

    def __post_init__(self) -> None:
        _check_int8("Eddystone-UID tx power", self.tx_power_0m)
        _check_size("Eddystone-UID namespace", self.namespace, 10)
        _check_size("Eddystone-UID instance", self.instance, 6)

    @property
    def identity(self) -> str:
        return eddystone_uid_identity(self.namespace, self.instance)

    @property
    def measured_power_1m(self) -> int:
        return _eddystone_power_1m(self.tx_power_0m)

    def to_service_data(self) -> bytes:
        frame = _UID_FRAME.pack(_UID, self.tx_power_0m, self.namespace, self.instance)
        return frame + _UID_RESERVED


@dataclass(frozen=True, slots=True)
class EddystoneUrl:
    """A URL beacon; it names no beacon, so it has no identity."""

    tx_power_0m: int
    url: str

    def __post_init__(self) -> None:
        _check_int8("Eddystone-URL tx power", self.tx_power_0m)

    @property
    def identity(self) -> None:
        return None

    @property
    def measured_power_1m(self) -> int:
        return _eddystone_power_1m(self.tx_power_0m)

    def to_service_data(self) -> bytes:
        scheme, encoded = _encode_url(self.url)
        return _URL_HEADER.pack(_URL, self.tx_power_0m, scheme) + encoded


@dataclass(frozen=True, slots=True)
class EddystoneTlm:
    """Unencrypted telemetry; ``None`` where the beacon reports a field as unsupported."""

    battery_mv: int | None
    temperature_c: float | None
    advertising_pdu_count: int
    time_since_boot_ds: int

    def __post_init__(self) -> None:
        if self.battery_mv is not None:
            _check_range("Eddystone-TLM battery mV", self.battery_mv, 1, 0xFFFF)
        if self.temperature_c is not None:
            # -128.0 would encode as 0x8000, the "unsupported" marker.
            raw = _temperature_raw(self.temperature_c)
            _check_range("Eddystone-TLM temperature (1/256 degC)", raw, -0x7FFF, 0x7FFF)
        _check_range("Eddystone-TLM PDU count", self.advertising_pdu_count, 0, 0xFFFFFFFF)
        _check_range("Eddystone-TLM time since boot", self.time_since_boot_ds, 0, 0xFFFFFFFF)

    @property
    def time_since_boot_s(self) -> float:
        return self.time_since_boot_ds / 10

    @property
    def identity(self) -> None:
        return None

    @property
    def measured_power_1m(self) -> None:
        return None

    def to_service_data(self) -> bytes:
        temperature = (
            _TEMPERATURE_UNSUPPORTED
            if self.temperature_c is None
            else _temperature_raw(self.temperature_c)
        )
        return _TLM_FRAME.pack(
            _TLM,
            _TLM_PLAIN,
            self.battery_mv or 0,
            temperature,
            self.advertising_pdu_count,
            self.time_since_boot_ds,
        )


def _temperature_raw(temperature_c: float) -> int:
    return round(temperature_c * 256)


@dataclass(frozen=True, slots=True)
class EddystoneEid:
    tx_power_0m: int
    eid: bytes

    def __post_init__(self) -> None:
        _check_int8("Eddystone-EID tx power", self.tx_power_0m)
        _check_size("Eddystone-EID ephemeral id", self.eid, 8)

    @property
    def identity(self) -> str:
        return f"eddystone-eid:{self.eid.hex()}"

    @property
    def measured_power_1m(self) -> int:
        return _eddystone_power_1m(self.tx_power_0m)

    def to_service_data(self) -> bytes:
        return _EID_FRAME.pack(_EID, self.tx_power_0m, self.eid)


EddystoneFrame: TypeAlias = EddystoneUid | EddystoneUrl | EddystoneTlm | EddystoneEid
BeaconFrame: TypeAlias = IBeacon | AltBeacon | EddystoneFrame


def _parse_uid(payload: bytes) -> EddystoneUid:
    if len(payload) not in (_UID_FRAME.size, _UID_FRAME.size + len(_UID_RESERVED)):
        expected = f"{_UID_FRAME.size} or {_UID_FRAME.size + len(_UID_RESERVED)}"
        raise MalformedFrame(f"Eddystone-UID frame is {len(payload)} bytes, expected {expected}")
    _, power, namespace, instance = _UID_FRAME.unpack_from(payload)
    return EddystoneUid(power, namespace, instance)


def _parse_url(payload: bytes) -> EddystoneUrl:
    longest = _URL_HEADER.size + _URL_MAX_ENCODED
    if not _URL_HEADER.size <= len(payload) <= longest:
        raise MalformedFrame(
            f"Eddystone-URL frame is {len(payload)} bytes, expected {_URL_HEADER.size}..{longest}"
        )
    _, power, scheme = _URL_HEADER.unpack_from(payload)
    return EddystoneUrl(power, _decode_url(scheme, payload[_URL_HEADER.size :]))


def _parse_tlm(payload: bytes) -> EddystoneTlm:
    if len(payload) < 2:
        raise MalformedFrame("Eddystone-TLM frame has no version byte")
    if payload[1] != _TLM_PLAIN:
        raise MalformedFrame(f"Eddystone-TLM version 0x{payload[1]:02x} is not supported")
    _check_size("Eddystone-TLM frame", payload, _TLM_FRAME.size)
    _, _, battery, temperature, count, uptime = _TLM_FRAME.unpack(payload)
    return EddystoneTlm(
        battery_mv=battery or None,
        temperature_c=None if temperature == _TEMPERATURE_UNSUPPORTED else temperature / 256,
        advertising_pdu_count=count,
        time_since_boot_ds=uptime,
    )


def _parse_eid(payload: bytes) -> EddystoneEid:
    _check_size("Eddystone-EID frame", payload, _EID_FRAME.size)
    _, power, eid = _EID_FRAME.unpack(payload)
    return EddystoneEid(power, eid)


_EDDYSTONE_PARSERS: dict[int, Callable[[bytes], EddystoneFrame]] = {
    _UID: _parse_uid,
    _URL: _parse_url,
    _TLM: _parse_tlm,
    _EID: _parse_eid,
}


def parse_eddystone(payload: bytes) -> EddystoneFrame:
    """Read an Eddystone frame from the 0xFEAA service data."""
    if not payload:
        raise MalformedFrame("Eddystone frame is empty")
    parser = _EDDYSTONE_PARSERS.get(payload[0])
    if parser is None:
        raise MalformedFrame(f"Eddystone frame type 0x{payload[0]:02x} is not supported")
    return parser(payload)


def _decode_url(scheme: int, encoded: bytes) -> str:
    if scheme >= len(_URL_SCHEMES):
        raise MalformedFrame(f"Eddystone-URL scheme prefix 0x{scheme:02x} is reserved")
    parts = [_URL_SCHEMES[scheme]]
    for byte in encoded:
        if byte < len(_URL_EXPANSIONS):
            parts.append(_URL_EXPANSIONS[byte])
        elif 0x20 < byte < 0x7F:
            parts.append(chr(byte))
        else:
            raise MalformedFrame(f"Eddystone-URL byte 0x{byte:02x} is reserved")
    return "".join(parts)


def _encode_url(url: str) -> tuple[int, bytes]:
    scheme = next((code for code, prefix in _SCHEMES_BY_LENGTH if url.startswith(prefix)), None)
    if scheme is None:
        raise MalformedFrame(f"URL {url!r} does not start with http:// or https://")
    at, encoded = len(_URL_SCHEMES[scheme]), bytearray()
    while at < len(url):
        code = next((c for c, text in _EXPANSIONS_BY_LENGTH if url.startswith(text, at)), None)
        if code is not None:
            encoded.append(code)
            at += len(_URL_EXPANSIONS[code])
        elif "\x21" <= url[at] <= "\x7e":
            encoded.append(ord(url[at]))
            at += 1
        else:
            raise MalformedFrame(f"URL {url!r} has {url[at]!r}, not printable ASCII")
    if len(encoded) > _URL_MAX_ENCODED:
        raise MalformedFrame(
            f"URL {url!r} encodes to {len(encoded)} bytes, at most {_URL_MAX_ENCODED} fit"
        )
    return scheme, bytes(encoded)


# One advertisement


def _is_readable_eddystone(payload: bytes) -> bool:
    """Reserved frame types and encrypted or future TLM versions are valid Eddystone
    that we cannot read: skip them rather than fail the whole advertisement."""
    if not payload:
        return True
    if payload[0] == _TLM and len(payload) > 1:
        return payload[1] == _TLM_PLAIN
    return payload[0] in _EDDYSTONE_PARSERS


def parse_advertisement(
    manufacturer_data: Mapping[int, bytes], service_data: Mapping[str, bytes]
) -> list[BeaconFrame]:
    """Every beacon frame in one advertisement, in the shape bleak reports it.

    Data that is not a beacon format is skipped; a known prefix with a bad body raises.
    """
    frames: list[BeaconFrame] = []
    for company_id, payload in manufacturer_data.items():
        if company_id == APPLE_COMPANY_ID and payload.startswith(_IBEACON_PREFIX):
            frames.append(parse_ibeacon(payload))
        elif payload.startswith(_ALTBEACON_PREFIX):
            frames.append(parse_altbeacon(payload))
    for uuid, payload in service_data.items():
        if uuid.lower() == EDDYSTONE_SERVICE_UUID and _is_readable_eddystone(payload):
            frames.append(parse_eddystone(payload))
    return frames
