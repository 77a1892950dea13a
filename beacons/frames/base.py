"""What every frame format shares: the malformed-frame error, field checks, identities."""

from __future__ import annotations

import hashlib
from uuid import UUID

APPLE_COMPANY_ID = 0x004C
EDDYSTONE_SERVICE_UUID = "0000feaa-0000-1000-8000-00805f9b34fb"
EDDYSTONE_LOSS_AT_1M_DB = 41


class MalformedFrame(ValueError):
    """A beacon frame that cannot be parsed or built; the message names the problem."""


# Validation shared by parsing and building, in every format


def check_range(what: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise MalformedFrame(f"{what} is {value}, expected {low}..{high}")


def check_int8(what: str, value: int) -> None:
    check_range(what, value, -128, 127)


def check_size(what: str, value: bytes, size: int) -> None:
    if len(value) != size:
        raise MalformedFrame(f"{what} is {len(value)} bytes, expected {size}")


def check_prefix(what: str, payload: bytes, prefix: bytes) -> None:
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
