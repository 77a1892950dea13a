"""Typed factories: keys, stores, geofences, offers and shoppers, built through the API,
and the usual world: a shop (store, staff key, geofence, offer) for shoppers to visit."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from accounts.models import User
from accounts.service import create_api_key, register_user
from kernel.config import Settings
from kernel.db import unit_of_work
from kernel.principal import Role
from preferences.core import Purpose
from preferences.service import record_consent, set_interests

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


def consenting_user(
    session: Session, settings: Settings, *, timezone: str, interests: list[str]
) -> tuple[User, str]:
    """A user who consented to location offers and follows ``interests``, built through
    the services (for tests that drive the decision below the API)."""
    user, token = register_user(session, locale="en", timezone=timezone)
    record_consent(
        session,
        user=user,
        choices={Purpose.LOCATION_OFFERS: True},
        policy_version=settings.policy_version,
        default_policy=settings.policy_version,
        source="test",
        app_version=None,
    )
    set_interests(session, user=user, slugs=interests)
    return user, token


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


# The usual world.


@dataclass(frozen=True, slots=True)
class Shop:
    store_id: int
    staff: str
    center: tuple[float, float]
    offer_id: int
    geofence_id: int


def open_shop(
    client: TestClient,
    sessions: sessionmaker[Session],
    *,
    name: str,
    east_m: float,
    segments: list[str],
    fence_name: str = "Shop",
    **offer: Any,
) -> Shop:
    """A store ``east_m`` east of PARIS with a 40 m geofence and one offer."""
    operator = api_key(sessions, Role.OPERATOR)
    store_id = new_store(client, operator, name)
    staff = api_key(sessions, Role.STORE, [store_id])
    center = offset(*PARIS, east_m, 0.0)
    fence = new_geofence(client, staff, store_id, square(*center, 40.0), name=fence_name)
    offer_id = new_offer(client, staff, store_id, segments, **offer)
    return Shop(store_id, staff, center, offer_id, fence)


def clock(start_s_ago: float = 600.0, step_s: float = 10.0) -> Iterator[datetime]:
    """Strictly increasing fix times in the recent past, so every fix is fresh and newer."""
    at = datetime.now(UTC) - timedelta(seconds=start_s_ago)
    while True:
        yield at
        at += timedelta(seconds=step_s)


def visit(client: TestClient, token: str, shop: Shop, at: datetime) -> dict[str, Any]:
    """One fix in the middle of the shop: an ENTER unless the user is already inside."""
    r = client.post(
        "/v1/me/locations", json={"fixes": [fix(*shop.center, at)]}, headers=auth(token)
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body
