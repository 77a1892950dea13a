"""Eddystone-EID: ephemeral ids computed and resolved to registered beacons.

Pure: no I/O and no clock reads; every time is an argument in seconds.

Eddystone-EID (``eddystone-eid/eid-computation.md``, reference ``tools/eidtools.py``):
temporary key = AES-128(identity key, ``00 x 11 | FF | 00 00 | top 16 bits of the
beacon time``); EID = first 8 bytes of AES-128(temporary key, ``00 x 11 | K |
beacon time with its K low bits cleared, u32``), K the rotation exponent (0-15).
The beacon time counts seconds since provisioning; a registration stores the unix
time at which it read 0 (``epoch_s``) and the resolver accepts EIDs of the
current period +- ``skew_periods`` periods to absorb clock drift.
"""

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Self

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

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
