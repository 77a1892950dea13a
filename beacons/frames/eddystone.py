"""Eddystone: service data of 0xFEAA (see the package docstring for the frames)."""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias

from beacons.frames.base import (
    EDDYSTONE_LOSS_AT_1M_DB,
    MalformedFrame,
    check_int8,
    check_range,
    check_size,
    eddystone_uid_identity,
)

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
        check_int8("Eddystone-UID tx power", self.tx_power_0m)
        check_size("Eddystone-UID namespace", self.namespace, 10)
        check_size("Eddystone-UID instance", self.instance, 6)

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
        check_int8("Eddystone-URL tx power", self.tx_power_0m)

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
            check_range("Eddystone-TLM battery mV", self.battery_mv, 1, 0xFFFF)
        if self.temperature_c is not None:
            # -128.0 would encode as 0x8000, the "unsupported" marker.
            raw = _temperature_raw(self.temperature_c)
            check_range("Eddystone-TLM temperature (1/256 degC)", raw, -0x7FFF, 0x7FFF)
        check_range("Eddystone-TLM PDU count", self.advertising_pdu_count, 0, 0xFFFFFFFF)
        check_range("Eddystone-TLM time since boot", self.time_since_boot_ds, 0, 0xFFFFFFFF)

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
        check_int8("Eddystone-EID tx power", self.tx_power_0m)
        check_size("Eddystone-EID ephemeral id", self.eid, 8)

    @property
    def identity(self) -> str:
        return f"eddystone-eid:{self.eid.hex()}"

    @property
    def measured_power_1m(self) -> int:
        return _eddystone_power_1m(self.tx_power_0m)

    def to_service_data(self) -> bytes:
        return _EID_FRAME.pack(_EID, self.tx_power_0m, self.eid)


EddystoneFrame: TypeAlias = EddystoneUid | EddystoneUrl | EddystoneTlm | EddystoneEid


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
    check_size("Eddystone-TLM frame", payload, _TLM_FRAME.size)
    _, _, battery, temperature, count, uptime = _TLM_FRAME.unpack(payload)
    return EddystoneTlm(
        battery_mv=battery or None,
        temperature_c=None if temperature == _TEMPERATURE_UNSUPPORTED else temperature / 256,
        advertising_pdu_count=count,
        time_since_boot_ds=uptime,
    )


def _parse_eid(payload: bytes) -> EddystoneEid:
    check_size("Eddystone-EID frame", payload, _EID_FRAME.size)
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


def is_readable_eddystone(payload: bytes) -> bool:
    """Reserved frame types and encrypted or future TLM versions are valid Eddystone
    that we cannot read: skip them rather than fail the whole advertisement."""
    if not payload:
        return True
    if payload[0] == _TLM and len(payload) > 1:
        return payload[1] == _TLM_PLAIN
    return payload[0] in _EDDYSTONE_PARSERS
