"""Sighting bodies: what a phone reports it heard, and what it is answered.

Identities are given as in the registry (:mod:`beacons.schemas`), or as the raw
advertisement.
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from beacons.frames import EddystoneTlm, MalformedFrame, parse_eddystone
from beacons.schemas import (
    AdvertisementIn,
    AltBeaconIn,
    EddystoneEidIn,
    EddystoneUidIn,
    IBeaconIn,
    Rssi,
    TlmHex,
    one_identity,
    static_identity,
)
from beacons.zones import Sighting, sighting_from_frames
from geofence.schemas import ZoneEventOut
from kernel.errors import Invalid
from kernel.limits import refuse_oversized_batch
from kernel.times import Timestamp

_IDENTITY_FIELDS = ("ibeacon", "eddystone_uid", "eddystone_eid", "altbeacon", "advertisement")


class SightingIn(BaseModel):
    """One beacon heard: an identity (one of the formats) or the raw advertisement."""

    model_config = ConfigDict(extra="forbid")
    ibeacon: IBeaconIn | None = None
    eddystone_uid: EddystoneUidIn | None = None
    eddystone_eid: EddystoneEidIn | None = None
    altbeacon: AltBeaconIn | None = None
    advertisement: AdvertisementIn | None = None
    tlm: TlmHex | None = None
    rssi: Rssi
    recorded_at: Timestamp

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        one_identity(self, _IDENTITY_FIELDS)
        return self

    def to_sighting(self) -> Sighting:
        """Raises :class:`MalformedFrame` for a raw frame that cannot be read."""
        at = self.recorded_at.timestamp()
        tlm = None
        if self.tlm is not None:
            frame = parse_eddystone(bytes.fromhex(self.tlm))
            if not isinstance(frame, EddystoneTlm):
                raise MalformedFrame("tlm is not an Eddystone-TLM frame")
            tlm = frame
        if self.advertisement is not None:
            sighting = sighting_from_frames(self.advertisement.frames(), self.rssi, at)
            return sighting if tlm is None else _with_tlm(sighting, tlm)
        if self.eddystone_eid is not None:
            return Sighting(None, bytes.fromhex(self.eddystone_eid.eid), self.rssi, at, tlm)
        return Sighting(static_identity(self), None, self.rssi, at, tlm)


def _with_tlm(sighting: Sighting, tlm: EddystoneTlm) -> Sighting:
    return Sighting(sighting.identity, sighting.eid, sighting.rssi, sighting.at_s, tlm)


def to_sightings(items: list[SightingIn]) -> list[Sighting]:
    """Every sighting of a batch; the first malformed frame fails the batch with a 422."""
    sightings = []
    for n, item in enumerate(items):
        try:
            sightings.append(item.to_sighting())
        except MalformedFrame as exc:
            raise Invalid(f"sightings.{n}: {exc}") from exc
    return sightings


class SightingBatch(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "sightings": [
                        {
                            "ibeacon": {
                                "uuid": "f7826da6-4fa2-4e98-8024-bc5b71e0893e",
                                "major": 1,
                                "minor": 7,
                            },
                            "rssi": -62,
                            "recorded_at": "2026-11-23T10:00:00Z",
                        },
                        {
                            "advertisement": {
                                "service_data": {"feaa": "00e50102030405060708090a0b0c0d0e0f10"}
                            },
                            "rssi": -80,
                            "recorded_at": "2026-11-23T10:00:01Z",
                        },
                    ]
                }
            ]
        },
    )
    sightings: list[SightingIn] = Field(
        min_length=1, description="What the phone heard (at most `VICINITY_MAX_BATCH`)."
    )

    @model_validator(mode="before")
    @classmethod
    def _bounded(cls, data: Any) -> Any:
        return refuse_oversized_batch(data, "sightings", "sightings")


class SightingReport(BaseModel):
    accepted: int = Field(description="Sightings that fed presence.")
    ignored: dict[str, int] = Field(
        description="Sightings skipped by reason: unknown, retired, replayed, stale, "
        "no_consent, out_of_order, far_from_location."
    )
    proximity: dict[str, str] = Field(
        description="Beacon zones heard in this batch: immediate, near or far."
    )
    events: list[ZoneEventOut]
    notifications: list[int] = Field(description="Ids of notifications this batch triggered.")
