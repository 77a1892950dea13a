"""Typed factories for NFC tests: tags registered through the API, and taps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.factories import auth

COUNTER = "04:A2:2B:1C:5D:80:4D"  # a 7-byte UID as phones print it
COUNTER_HEX = "04A22B1C5D804D"
ENTRANCE = "08 1A 2B 3C"  # a 4-byte one


def new_tag(
    client: TestClient, key: str, store_id: int, uid: str = COUNTER, placement: str = "counter"
) -> dict[str, Any]:
    r = client.post(
        f"/v1/stores/{store_id}/nfc-tags",
        json={"uid": uid, "placement": placement},
        headers=auth(key),
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def seconds_ago(s: float) -> datetime:
    return datetime.now(UTC) - timedelta(seconds=s)


def tap_body(uid: str, at: datetime, **more: Any) -> dict[str, Any]:
    return {"uid": uid, "tapped_at": at.isoformat(), **more}


def tap(client: TestClient, token: str, uid: str, at: datetime, **more: Any) -> dict[str, Any]:
    """A tap the server accepts the request for (200); its body."""
    r = client.post("/v1/me/taps", json=tap_body(uid, at, **more), headers=auth(token))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body
