"""Beacon registry bodies, and the identity formats sightings share with them.

Binary fields travel as hex strings. A raw advertisement is given as bleak reports it:
manufacturer data by company id (decimal, e.g. ``76`` for Apple) without the id
bytes, service data by UUID (``feaa`` or the full 128-bit form) without the UUID bytes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Protocol, Self
from uuid import UUID

import shapely
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from beacons.frames import (
    BeaconFrame,
    MalformedFrame,
    altbeacon_identity,
    eddystone_uid_identity,
    ibeacon_identity,
    parse_advertisement,
)
from beacons.models import ZONE_MAX, Beacon, BeaconEvent
from beacons.proximity import MEASURED_POWER_MAX_DBM, MEASURED_POWER_MIN_DBM, calibration
from kernel.ids import DbId
from kernel.text import Body, no_control_chars

ZoneName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=ZONE_MAX),
    AfterValidator(no_control_chars),
]
Int8 = Annotated[int, Field(ge=-128, le=127)]
MeasuredPower = Annotated[
    int,
    Field(
        ge=MEASURED_POWER_MIN_DBM,
        le=MEASURED_POWER_MAX_DBM,
        description="RSSI at 1 m in dBm; -100..+20 (BLE transmits at most +20 dBm).",
    ),
]
Rssi = Annotated[int, Field(ge=-127, le=20, description="dBm as the phone measured it.")]
Hex = Annotated[str, StringConstraints(pattern=r"^([0-9a-fA-F]{2})*$", max_length=124)]


def _hex_of(size: int) -> StringConstraints:
    return StringConstraints(pattern=rf"^[0-9a-fA-F]{{{2 * size}}}$")


NamespaceHex = Annotated[str, _hex_of(10), Field(description="10 bytes as 20 hex digits.")]
InstanceHex = Annotated[str, _hex_of(6), Field(description="6 bytes as 12 hex digits.")]
EidHex = Annotated[str, _hex_of(8), Field(description="8 bytes as 16 hex digits.")]
AltBeaconIdHex = Annotated[str, _hex_of(20), Field(description="20 bytes as 40 hex digits.")]
KeyHex = Annotated[str, _hex_of(16), Field(description="16 bytes as 32 hex digits.")]
TlmHex = Annotated[
    str,
    _hex_of(14),
    Field(description="An Eddystone-TLM frame (14 bytes) heard from the same beacon."),
]


BLUETOOTH_BASE_UUID = "0000{}-0000-1000-8000-00805f9b34fb"


def full_service_uuid(uuid: str) -> str:
    """bleak reports 128-bit UUIDs; a 16-bit one like ``feaa`` is expanded to that form."""
    uuid = uuid.lower()
    return BLUETOOTH_BASE_UUID.format(uuid) if len(uuid) == 4 else uuid


class IBeaconIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    uuid: UUID
    major: int = Field(ge=0, le=0xFFFF)
    minor: int = Field(ge=0, le=0xFFFF)


class EddystoneUidIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    namespace: NamespaceHex
    instance: InstanceHex


class EddystoneEidIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    eid: EidHex


class AltBeaconIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: AltBeaconIdHex


class AdvertisementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    manufacturer_data: dict[Annotated[int, Field(ge=0, le=0xFFFF)], Hex] = Field(
        default_factory=dict, max_length=8, description="Company id (decimal) → payload hex."
    )
    service_data: dict[Annotated[str, Field(max_length=36)], Hex] = Field(
        default_factory=dict, max_length=8, description="Service UUID → payload hex."
    )

    def frames(self) -> list[BeaconFrame]:
        return parse_advertisement(
            {cid: bytes.fromhex(p) for cid, p in self.manufacturer_data.items()},
            {full_service_uuid(uuid): bytes.fromhex(p) for uuid, p in self.service_data.items()},
        )


def one_identity(model: BaseModel, allowed: tuple[str, ...]) -> None:
    given = [name for name in allowed if getattr(model, name) is not None]
    if len(given) != 1:
        raise ValueError(f"give exactly one of {', '.join(allowed)}; got {len(given)}")


class StaticIds(Protocol):
    """A body that names a beacon by one of the static identity formats."""

    ibeacon: IBeaconIn | None
    eddystone_uid: EddystoneUidIn | None
    altbeacon: AltBeaconIn | None


def static_identity(body: StaticIds) -> str:
    """The registry's identity of an iBeacon, Eddystone-UID or AltBeacon given by its fields."""
    if body.ibeacon is not None:
        return ibeacon_identity(body.ibeacon.uuid, body.ibeacon.major, body.ibeacon.minor)
    if body.eddystone_uid is not None:
        uid = body.eddystone_uid
        return eddystone_uid_identity(bytes.fromhex(uid.namespace), bytes.fromhex(uid.instance))
    if body.altbeacon is not None:
        return altbeacon_identity(bytes.fromhex(body.altbeacon.id))
    raise MalformedFrame("no static identity given")


# Registry


class EidProvisioningIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    identity_key: KeyHex
    rotation_exponent: int = Field(ge=0, le=15, description="K: the EID rotates every 2^K s.")
    epoch_s: int = Field(ge=0, description="Unix time at which the beacon's clock read 0.")


class BeaconPlacement(BaseModel):
    model_config = ConfigDict(extra="forbid")
    store_id: DbId
    zone: ZoneName
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    floor: int | None = Field(default=None, ge=-20, le=300)


_REGISTER_FIELDS = ("ibeacon", "eddystone_uid", "altbeacon", "eddystone_eid", "advertisement")


class BeaconCreate(BeaconPlacement):
    """A beacon to register: its placement and one identity."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "store_id": 1,
                    "zone": "shoe aisle",
                    "lon": 2.3475,
                    "lat": 48.8603,
                    "floor": 0,
                    "ibeacon": {
                        "uuid": "f7826da6-4fa2-4e98-8024-bc5b71e0893e",
                        "major": 1,
                        "minor": 7,
                    },
                    "measured_power_1m": -59,
                }
            ]
        },
    )
    ibeacon: IBeaconIn | None = None
    eddystone_uid: EddystoneUidIn | None = None
    altbeacon: AltBeaconIn | None = None
    eddystone_eid: EidProvisioningIn | None = None
    advertisement: AdvertisementIn | None = None
    measured_power_1m: MeasuredPower | None = Field(
        default=None,
        description="RSSI at 1 m, -100..+20 dBm; taken from the advertisement when omitted. "
        "An advertised value outside that range is impossible: the beacon is registered "
        "with `calibration_required` true until calibrated.",
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        one_identity(self, _REGISTER_FIELDS)
        return self

    def static_identity(self) -> str:
        return static_identity(self)


class BeaconMove(BeaconPlacement):
    pass


class BeaconUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    measured_power_1m: MeasuredPower | None = Field(
        default=None, description="RSSI at 1 m, e.g. the median of a calibration; -100..+20 dBm."
    )
    floor: int | None = Field(default=None, ge=-20, le=300)


class VisitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: Body | None = Field(default=None, max_length=500)
    battery_replaced: bool = False


ScannedIdentity = Annotated[str, Field(max_length=100), AfterValidator(no_control_chars)]


class LookupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    identities: list[ScannedIdentity] = Field(
        min_length=1,
        max_length=200,
        description="Identities as the scanner names them; `eddystone-eid:<eid>` is resolved.",
    )


class BeaconOut(BaseModel):
    id: int
    identity: str
    format: str
    store_id: int
    zone: str
    lon: float
    lat: float
    floor: int | None
    measured_power_1m: int | None = Field(
        description="RSSI at 1 m in dBm; null when the registered value is impossible "
        "(outside -100..+20 dBm): see `calibration_required`."
    )
    calibration_required: bool = Field(
        description="No usable calibration: distances assume -59 dBm at 1 m until a "
        "calibration (PATCH measured_power_1m, or `vicinity beacons calibrate`)."
    )
    spoofable: bool
    eid_rotation_exponent: int | None
    status: str
    installed_at: datetime
    installed_by: int | None
    last_seen_at: datetime | None
    battery_mv: int | None
    temperature_c: float | None
    needs_visit: bool
    visit_reason: str | None
    health: str = Field(description="ok, never_seen, needs_visit or retired.")

    @classmethod
    def of(cls, b: Beacon) -> BeaconOut:
        if b.status == "retired":
            health = "retired"
        elif b.needs_visit:
            health = "needs_visit"
        elif b.last_seen_at is None:
            health = "never_seen"
        else:
            health = "ok"
        calibrated = calibration(b.measured_power_1m)
        return cls(
            id=b.id,
            identity=b.identity,
            format=b.format,
            store_id=b.store_id,
            zone=b.zone,
            lon=shapely.get_x(b.point),
            lat=shapely.get_y(b.point),
            floor=b.floor,
            measured_power_1m=calibrated,
            calibration_required=calibrated is None,
            spoofable=b.spoofable,
            eid_rotation_exponent=b.eid_rotation_exponent,
            status=b.status,
            installed_at=b.installed_at,
            installed_by=b.installed_by,
            last_seen_at=b.last_seen_at,
            battery_mv=b.battery_mv,
            temperature_c=b.temperature_c,
            needs_visit=b.needs_visit,
            visit_reason=b.visit_reason,
            health=health,
        )


class LookupOut(BaseModel):
    found: dict[str, BeaconOut] = Field(description="Asked identity → registered beacon.")


class BeaconEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    change: str
    details: dict[str, Any]
    at: datetime
    by_key_id: int | None

    @classmethod
    def of(cls, e: BeaconEvent) -> BeaconEventOut:
        return cls.model_validate(e)
