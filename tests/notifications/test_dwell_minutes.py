"""An offer asking for "dwell ≥ N minutes", walked through the location API: nothing at
the ENTER or the zone's DWELL, the push at the first checkpoint past N minutes, and the
event log keeps transitions only (no checkpoint reaches a webhook or the feed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from kernel.config import Settings
from kernel.principal import Role
from tests.factories import (
    PARIS,
    api_key,
    auth,
    fix,
    new_geofence,
    new_offer,
    new_shopper,
    new_store,
    square,
)


def test_the_offer_fires_once_the_shopper_has_stayed_long_enough(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    assert settings.dwell_step_s == 300.0
    operator = api_key(sessions, Role.OPERATOR)
    store_id = new_store(client, operator)
    staff = api_key(sessions, Role.STORE, [store_id])
    new_geofence(client, staff, store_id, square(*PARIS, 40.0), dwell_s=60)
    new_offer(client, staff, store_id, ["fashion"], trigger="dwell", dwell_minutes=10)
    token = new_shopper(client, settings, interests=["fashion"])
    start = datetime.now(UTC) - timedelta(seconds=800)

    def at(seconds: float) -> list[int]:
        body = {"fixes": [fix(*PARIS, start + timedelta(seconds=seconds))]}
        r = client.post("/v1/me/locations", json=body, headers=auth(token))
        assert r.status_code == 200, r.text
        return list(r.json()["notifications"])

    assert at(0) == []  # ENTER
    assert at(70) == []  # the zone's DWELL (60 s): the offer wants 10 minutes
    assert at(400) == []  # a checkpoint at 400 s: not yet (and not reported as an event)
    [pushed] = at(700)  # the first checkpoint past 600 s
    assert at(710) == []
    notes = client.get("/v1/me/notifications", headers=auth(token)).json()["items"]
    assert [n["id"] for n in notes] == [pushed]
    feed = client.get("/v1/events", headers=auth(staff)).json()["items"]
    assert [e["name"] for e in feed] == [
        "user.entered_geofence",
        "user.dwelled_in_geofence",
        "push.sent",
    ]


def test_dwell_minutes_need_the_dwell_trigger(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    operator = api_key(sessions, Role.OPERATOR)
    store_id = new_store(client, operator)
    staff = api_key(sessions, Role.STORE, [store_id])
    body = {"title": "t", "body": "b", "segments": ["fashion"], "dwell_minutes": 10}
    r = client.post(f"/v1/stores/{store_id}/offers", json=body, headers=auth(staff))
    assert r.status_code == 422
    assert "dwell_minutes needs trigger `dwell`" in r.text
    for bad in (0, 721, 2.5):
        body = {**body, "trigger": "dwell", "dwell_minutes": bad}
        r = client.post(f"/v1/stores/{store_id}/offers", json=body, headers=auth(staff))
        assert r.status_code == 422, bad
    body = {**body, "dwell_minutes": 15}
    r = client.post(f"/v1/stores/{store_id}/offers", json=body, headers=auth(staff))
    assert (r.status_code, r.json()["dwell_minutes"]) == (201, 15)
