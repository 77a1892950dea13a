"""Typed factories: keys, stores, geofences, offers and shoppers, built through the API."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from accounts.service import create_api_key
from kernel.config import Settings
from kernel.db import unit_of_work
from kernel.principal import Role

PARIS = (2.3470, 48.8600)  # lon, lat
M_PER_DEG_LAT = 111_195.0


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def api_key(sessions: sessionmaker[Session], role: Role, store_ids: list[int] | None = None) -> str:
    """A key's secret; a tech key given no stores is a fleet-wide one (``all_stores``)."""
    with unit_of_work(sessions) as session:
        _, secret = create_api_key(
            session,
            name=f"test {role}",
            role=role,
            store_ids=store_ids or [],
            all_stores=role is Role.TECH and not store_ids,
        )
    return secret


def offset(lon: float, lat: float, east_m: float, north_m: float) -> tuple[float, float]:
    """A point ``east_m`` east and ``north_m`` north of (lon, lat)."""
    dlat = north_m / M_PER_DEG_LAT
    dlon = east_m / (M_PER_DEG_LAT * math.cos(math.radians(lat)))
    return lon + dlon, lat + dlat


def square(lon: float, lat: float, side_m: float) -> dict[str, Any]:
    """A GeoJSON square polygon of ``side_m`` centred on (lon, lat)."""
    h = side_m / 2
    corners = [offset(lon, lat, e, n) for e, n in ((-h, -h), (h, -h), (h, h), (-h, h), (-h, -h))]
    return {"type": "Polygon", "coordinates": [[list(c) for c in corners]]}


def feature(geometry: dict[str, Any], **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": {"name": "Shop", **properties}}


def new_store(client: TestClient, operator: str, name: str = "Boutique") -> int:
    r = client.post("/v1/stores", json={"name": name}, headers=auth(operator))
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def new_geofence(
    client: TestClient, key: str, store_id: int, geometry: dict[str, Any], **props: Any
) -> int:
    r = client.post(
        f"/v1/stores/{store_id}/geofences", json=feature(geometry, **props), headers=auth(key)
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def new_offer(
    client: TestClient, key: str, store_id: int, segments: list[str], **fields: Any
) -> int:
    body = {"title": "-20% today", "body": "Show this at the till.", "segments": segments, **fields}
    r = client.post(f"/v1/stores/{store_id}/offers", json=body, headers=auth(key))
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def new_shopper(
    client: TestClient,
    settings: Settings,
    *,
    consent: bool = True,
    interests: list[str] | None = None,
    device: str | None = "device-token-1",
) -> str:
    r = client.post("/v1/users", json={"locale": "en", "timezone": "Europe/Paris"})
    assert r.status_code == 201, r.text
    token = str(r.json()["token"])
    if consent:
        set_consent(client, settings, token, granted=True)
    if interests is not None:
        r = client.put("/v1/me/interests", json={"segments": interests}, headers=auth(token))
        assert r.status_code == 200, r.text
    if device is not None:
        r = client.post(
            "/v1/me/devices", json={"token": device, "platform": "android"}, headers=auth(token)
        )
        assert r.status_code == 201, r.text
    return token


def set_consent(
    client: TestClient,
    settings: Settings,
    token: str,
    *,
    granted: bool,
    purpose: str = "location_offers",
) -> None:
    body = {"purposes": {purpose: granted}, "policy_version": settings.policy_version}
    r = client.put("/v1/me/consent", json=body, headers=auth(token))
    assert r.status_code == 200, r.text


def fix(lon: float, lat: float, at: datetime, accuracy_m: float = 10.0) -> dict[str, Any]:
    return {"lat": lat, "lon": lon, "accuracy_m": accuracy_m, "recorded_at": at.isoformat()}


def walk_in(
    start: tuple[float, float], steps: int, step_m: float, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Fixes heading east from ``start``, ``step_m`` apart, 10 s apart, ending near now."""
    now = now or datetime.now(UTC)
    first = now - timedelta(seconds=10 * (steps - 1))
    return [
        fix(*offset(start[0], start[1], i * step_m, 0.0), first + timedelta(seconds=10 * i))
        for i in range(steps)
    ]
