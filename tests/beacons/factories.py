"""Typed factories for beacon tests: a store with a field tech, beacons, frames, sightings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from beacons.frames import APPLE_COMPANY_ID, EddystoneTlm, IBeacon
from kernel.principal import Role
from tests.factories import PARIS, api_key, auth, new_store

SHOE_UUID = UUID("f7826da6-4fa2-4e98-8024-bc5b71e0893e")
SHOE_AISLE = "shoe aisle"
TILL = "till"


@dataclass(frozen=True, slots=True)
class Shop:
    operator: str
    store_id: int
    staff: str
    tech: str


def new_shop(client: TestClient, sessions: sessionmaker[Session], name: str = "Chausseur") -> Shop:
    operator = api_key(sessions, Role.OPERATOR)
    store_id = new_store(client, operator, name)
    return Shop(
        operator=operator,
        store_id=store_id,
        staff=api_key(sessions, Role.STORE, [store_id]),
        tech=api_key(sessions, Role.TECH),
    )


def ibeacon(minor: int = 1, major: int = 1) -> dict[str, Any]:
    return {"uuid": str(SHOE_UUID), "major": major, "minor": minor}


def ibeacon_identity(minor: int = 1, major: int = 1) -> str:
    return f"ibeacon:{SHOE_UUID}:{major}:{minor}"


def new_beacon(
    client: TestClient,
    tech: str,
    store_id: int,
    *,
    zone: str = SHOE_AISLE,
    at: tuple[float, float] = PARIS,
    measured_power_1m: int | None = -59,
    floor: int | None = None,
    **identity: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "store_id": store_id,
        "zone": zone,
        "lon": at[0],
        "lat": at[1],
        "floor": floor,
    }
    if measured_power_1m is not None:
        body["measured_power_1m"] = measured_power_1m
    body.update(identity or {"ibeacon": ibeacon()})
    r = client.post("/v1/beacons", json=body, headers=auth(tech))
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


def ibeacon_advertisement(minor: int = 1, measured_power: int = -59) -> dict[str, Any]:
    payload = IBeacon(SHOE_UUID, 1, minor, measured_power).to_manufacturer_payload()
    return {"manufacturer_data": {str(APPLE_COMPANY_ID): payload.hex()}}


def tlm_hex(battery_mv: int = 2900, temperature_c: float = 21.5) -> str:
    return EddystoneTlm(battery_mv, temperature_c, 1000, 36000).to_service_data().hex()


def sighting(rssi: int, at: datetime, **identity: Any) -> dict[str, Any]:
    return {**(identity or {"ibeacon": ibeacon()}), "rssi": rssi, "recorded_at": at.isoformat()}


def report(client: TestClient, token: str, sightings: list[dict[str, Any]]) -> dict[str, Any]:
    r = client.post("/v1/me/sightings", json={"sightings": sightings}, headers=auth(token))
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


def seconds_ago(seconds: float) -> datetime:
    return datetime.now(UTC) - timedelta(seconds=seconds)
