"""The broadcasts' world: stores east of PARIS, each with a 40 m geofence, and shoppers
made present in them through the real location API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from kernel.principal import Role
from tests.factories import PARIS, api_key, auth, fix, new_geofence, new_store, offset, square


def shop(
    client: TestClient, sessions: sessionmaker[Session], name: str, east_m: float
) -> tuple[int, str, int]:
    """A store ``east_m`` east of PARIS with a 40 m square geofence (no offer): its id, a
    staff key, the geofence's id."""
    store_id = new_store(client, api_key(sessions, Role.OPERATOR), name)
    staff = api_key(sessions, Role.STORE, [store_id])
    fence = new_geofence(client, staff, store_id, square(*offset(*PARIS, east_m, 0.0), 40.0))
    return store_id, staff, fence


def be_there(client: TestClient, token: str, east_m: float) -> None:
    """One fresh fix ``east_m`` east of PARIS: the user's presence now holds that spot's fence."""
    at = datetime.now(UTC) - timedelta(seconds=5)
    body = {"fixes": [fix(*offset(*PARIS, east_m, 0.0), at)]}
    r = client.post("/v1/me/locations", json=body, headers=auth(token))
    assert r.status_code == 200, r.text


def flash(client: TestClient, staff: str, store_id: int, **fields: Any) -> dict[str, Any]:
    body = {
        "title": "Flash: -30% for two hours",
        "body": "Show this at the till.",
        "segments": ["fashion"],
        "radius_m": 500,
        **fields,
    }
    r = client.post(f"/v1/stores/{store_id}/broadcasts", json=body, headers=auth(staff))
    assert r.status_code == 202, r.text
    out: dict[str, Any] = r.json()
    return out


def progress(client: TestClient, staff: str, store_id: int, broadcast_id: int) -> dict[str, Any]:
    r = client.get(f"/v1/stores/{store_id}/broadcasts/{broadcast_id}", headers=auth(staff))
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out
