"""Beacon core: frames, Eddystone-EID resolution, RSSI smoothing and proximity.

Pure: no I/O and no clock reads; every time is an argument in seconds.

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

Eddystone-EID (``eddystone-eid/eid-computation.md``, reference ``tools/eidtools.py``):
temporary key = AES-128(identity key, ``00 x 11 | FF | 00 00 | top 16 bits of the
beacon time``); EID = first 8 bytes of AES-128(temporary key, ``00 x 11 | K |
beacon time with its K low bits cleared, u32``), K the rotation exponent (0-15).
The beacon time counts seconds since provisioning; a registration stores the unix
time at which it read 0 (``epoch_s``) and the resolver accepts EIDs of the
current period +- ``skew_periods`` periods to absorb clock drift.

Proximity uses log-distance path loss, d = 10^((A - RSSI) / (10 n)), with A the
RSSI at 1 m and n the path-loss exponent (about 2 in the open, 2-4 indoors).
Single RSSI readings scatter by about +-10 dB, so they are smoothed by a 1-D Kalman
filter before classifying: IMMEDIATE below 0.5 m, NEAR below 3 m, FAR beyond.

Beacon zones feed the one presence machine (``presence.core``) as source ``beacon``,
zone ``beacon:<store id>:<zone name>``; several beacons may share a zone, and the
zone is as near as its nearest beacon. A phone reports a batch of sightings; each
reading updates that user's Kalman track of the beacon, then the batch yields one
observation at its newest reading, counting only beacons last heard within
``exit_after_s`` of it:

- inside: zones heard IMMEDIATE or NEAR (smoothed) in this batch. FAR never enters.
- holding: zones the user is in whose nearest recent beacon is within
  ``exit_distance_m`` (a FAR reading keeps the zone: the hysteresis band), or that went
  unheard in this batch for less than ``exit_after_s`` (BLE scans miss packets).
- EXIT: a zone the user is in that is neither, i.e. silent for longer than
  ``exit_after_s`` or heard only beyond ``exit_distance_m``.
"""

import hashlib
import math
import statistics
import struct
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Self, TypeAlias
from uuid import UUID

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from presence.core import Observation, zone_key

__all__ = [
    "APPLE_COMPANY_ID",
    "DEFAULT_MEASUREMENT_NOISE",
    "DEFAULT_PROCESS_NOISE",
    "EDDYSTONE_LOSS_AT_1M_DB",
    "EDDYSTONE_SERVICE_UUID",
    "IMMEDIATE_BELOW_M",
    "NEAR_BELOW_M",
    "SOURCE",
    "AltBeacon",
    "BeaconFrame",
    "BeaconTrack",
    "EddystoneEid",
    "EddystoneFrame",
    "EddystoneTlm",
    "EddystoneUid",
    "EddystoneUrl",
    "EidRegistration",
    "EidResolver",
    "IBeacon",
    "MalformedFrame",
    "Proximity",
    "Reading",
    "Sighting",
    "SmoothedRssi",
    "ZoneReport",
    "ZoneRules",
    "altbeacon_identity",
    "build_eid_table",
    "classify",
    "compute_eid",
    "distance_m",
    "eddystone_uid_identity",
    "eid_beacon_identity",
    "ibeacon_identity",
    "median_measured_power",
    "observe_zones",
    "parse_advertisement",
    "parse_altbeacon",
    "parse_eddystone",
    "parse_ibeacon",
    "sighting_from_frames",
    "store_of_zone",
    "update",
    "zone_of",
]

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


# Eddystone-EID

_TEMPORARY_KEY_SALT = bytes(11) + b"\xff" + bytes(2)
_MAX_BEACON_TIME = 0xFFFFFFFF
_MAX_ROTATION_EXPONENT = 15


def _aes_block(key: bytes, block: bytes) -> bytes:
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return encryptor.update(block) + encryptor.finalize()


def _check_eid_inputs(identity_key: bytes, rotation_exponent: int) -> None:
    if len(identity_key) != 16:
        raise ValueError(f"identity key is {len(identity_key)} bytes, expected 16")
    if not 0 <= rotation_exponent <= _MAX_ROTATION_EXPONENT:
        raise ValueError(f"rotation exponent is {rotation_exponent}, expected 0..15")


def _temporary_key(identity_key: bytes, beacon_time_s: int) -> bytes:
    return _aes_block(identity_key, _TEMPORARY_KEY_SALT + (beacon_time_s >> 16).to_bytes(2, "big"))


def _eid(temporary_key: bytes, rotation_exponent: int, beacon_time_s: int) -> bytes:
    period_start = beacon_time_s >> rotation_exponent << rotation_exponent
    block = bytes(11) + bytes((rotation_exponent,)) + period_start.to_bytes(4, "big")
    return _aes_block(temporary_key, block)[:8]


def compute_eid(identity_key: bytes, rotation_exponent: int, beacon_time_s: int) -> bytes:
    """The 8-byte ephemeral id a beacon broadcasts at ``beacon_time_s`` on its own clock."""
    _check_eid_inputs(identity_key, rotation_exponent)
    if not 0 <= beacon_time_s <= _MAX_BEACON_TIME:
        raise ValueError(f"beacon time is {beacon_time_s}, expected a 32-bit counter")
    return _eid(_temporary_key(identity_key, beacon_time_s), rotation_exponent, beacon_time_s)


@dataclass(frozen=True, slots=True)
class EidRegistration:
    """An EID beacon as the resolver knows it; ``epoch_s`` is the unix time its clock read 0."""

    beacon_id: str
    identity_key: bytes = field(repr=False)
    rotation_exponent: int
    epoch_s: int

    def __post_init__(self) -> None:
        _check_eid_inputs(self.identity_key, self.rotation_exponent)


def _eids_near(registration: EidRegistration, now_s: float, skew_periods: int) -> Iterator[bytes]:
    exponent = registration.rotation_exponent
    current = (math.floor(now_s) - registration.epoch_s) >> exponent
    # The temporary key changes every 65536 s, so neighbouring periods usually share it.
    temporary_keys: dict[int, bytes] = {}
    for period in range(current - skew_periods, current + skew_periods + 1):
        beacon_time = period << exponent
        if not 0 <= beacon_time <= _MAX_BEACON_TIME:
            continue
        key_epoch = beacon_time >> 16
        if key_epoch not in temporary_keys:
            temporary_keys[key_epoch] = _temporary_key(registration.identity_key, beacon_time)
        yield _eid(temporary_keys[key_epoch], exponent, beacon_time)


def build_eid_table(
    registrations: Iterable[EidRegistration], now_s: float, skew_periods: int = 2
) -> dict[bytes, str]:
    """EID -> beacon id for every beacon's period at ``now_s`` +- ``skew_periods`` periods."""
    if skew_periods < 0:
        raise ValueError(f"skew_periods is {skew_periods}, expected >= 0")
    return {
        eid: registration.beacon_id
        for registration in registrations
        for eid in _eids_near(registration, now_s, skew_periods)
    }


@dataclass(frozen=True, slots=True)
class EidResolver:
    """O(1) EID lookup, valid near ``built_at_s``.

    Rebuild with ``refreshed`` at least every ``skew_periods`` periods of the
    fastest-rotating beacon, or its newest EIDs fall outside the table.
    """

    registrations: tuple[EidRegistration, ...]
    built_at_s: float
    skew_periods: int
    table: Mapping[bytes, str] = field(repr=False, compare=False)

    @classmethod
    def build(
        cls, registrations: Iterable[EidRegistration], now_s: float, skew_periods: int = 2
    ) -> Self:
        frozen = tuple(registrations)
        return cls(frozen, now_s, skew_periods, build_eid_table(frozen, now_s, skew_periods))

    def resolve(self, eid: bytes) -> str | None:
        return self.table.get(eid)

    def refreshed(self, now_s: float) -> Self:
        return self.build(self.registrations, now_s, self.skew_periods)


# RSSI smoothing and proximity

# Random-walk model: the true RSSI drifts by about 1 dB per sqrt(second) as people
# move, and a reading scatters with a standard deviation of 5 dB (+-10 dB at 2 sigma).
DEFAULT_PROCESS_NOISE = 1.0
DEFAULT_MEASUREMENT_NOISE = 25.0


@dataclass(frozen=True, slots=True)
class SmoothedRssi:
    """1-D Kalman estimate of one beacon's RSSI as seen by one device.

    ``rssi`` (dBm) is the estimate and ``variance`` (dB^2) its uncertainty at
    ``at_s``; ``q`` is the process noise in dB^2 per second of elapsed time, ``r``
    the variance of a single reading in dB^2.
    """

    rssi: float
    variance: float
    at_s: float
    q: float = DEFAULT_PROCESS_NOISE
    r: float = DEFAULT_MEASUREMENT_NOISE

    @classmethod
    def start(
        cls,
        rssi: float,
        at_s: float,
        *,
        q: float = DEFAULT_PROCESS_NOISE,
        r: float = DEFAULT_MEASUREMENT_NOISE,
    ) -> Self:
        """The estimate after one reading, which is as uncertain as the reading itself."""
        return cls(rssi=rssi, variance=r, at_s=at_s, q=q, r=r)


def update(state: SmoothedRssi, rssi: float, at_s: float) -> SmoothedRssi:
    """Fold one reading into the estimate."""
    # A reading older than the estimate still informs it, but must not rewind time.
    elapsed = max(0.0, at_s - state.at_s)
    predicted = state.variance + state.q * elapsed
    gain = predicted / (predicted + state.r)
    return SmoothedRssi(
        rssi=state.rssi + gain * (rssi - state.rssi),
        variance=(1 - gain) * predicted,
        at_s=max(at_s, state.at_s),
        q=state.q,
        r=state.r,
    )


def distance_m(rssi: float, measured_power_1m: float, path_loss_exponent: float = 2.0) -> float:
    """Log-distance path-loss estimate of the distance to the beacon."""
    if path_loss_exponent <= 0:
        raise ValueError(f"path-loss exponent is {path_loss_exponent}, expected > 0")
    return math.pow(10, (measured_power_1m - rssi) / (10 * path_loss_exponent))


class Proximity(StrEnum):
    IMMEDIATE = "immediate"
    NEAR = "near"
    FAR = "far"


IMMEDIATE_BELOW_M = 0.5
NEAR_BELOW_M = 3.0


def classify(distance_m: float) -> Proximity:
    if distance_m < IMMEDIATE_BELOW_M:
        return Proximity.IMMEDIATE
    if distance_m < NEAR_BELOW_M:
        return Proximity.NEAR
    return Proximity.FAR


def median_measured_power(samples: Iterable[float]) -> int:
    """Measured power (RSSI at 1 m) from readings taken at 1 m, as the int8 frames carry it.

    The median, because single readings have outliers of 10 dB and more.
    """
    readings = list(samples)
    if not readings:
        raise ValueError("no RSSI samples to calibrate from")
    return round(statistics.median(readings))


# Sightings: from what a phone heard to the zones it is in

SOURCE = "beacon"


def zone_of(store_id: int, zone: str) -> str:
    """The presence zone of a store's beacon zone, ``beacon:<store id>:<zone name>``."""
    return zone_key(SOURCE, f"{store_id}:{zone}")


def store_of_zone(zone: str) -> int | None:
    """The store id in a beacon zone key; ``None`` for any other zone."""
    source, _, rest = zone.partition(":")
    store, sep, _ = rest.partition(":")
    if source != SOURCE or not sep or not store.isdigit():
        return None
    return int(store)


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
    prefix = SOURCE + ":"
    holding = frozenset(
        z
        for z in entered
        if z.startswith(prefix)
        and z not in inside
        and nearest_recent.get(z, math.inf) < rules.exit_distance_m
    )
    return ZoneReport(updated, Observation(SOURCE, at, inside, holding), proximity)
