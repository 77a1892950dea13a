"""A shopper walks into a store: from a consented phone to one FCM push, on real services."""

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
    offset,
    set_consent,
    square,
    walk_in,
)
from tests.fcm_standin import FcmStandIn


def _fashion_store(client: TestClient, sessions: sessionmaker[Session]) -> tuple[int, int]:
    operator = api_key(sessions, Role.OPERATOR)
    store_id = new_store(client, operator, "Maison Rivoli")
    staff = api_key(sessions, Role.STORE, [store_id])
    new_geofence(client, staff, store_id, square(*PARIS, 40.0), dwell_s=300)
    offer_id = new_offer(client, staff, store_id, ["fashion"], title="Autumn coats -30%")
    return store_id, offer_id


def _walk(client: TestClient, token: str, now: datetime | None = None) -> dict[str, object]:
    # From 100 m west of the shop's centre to its middle, in 10 m steps.
    start = offset(*PARIS, -100.0, 0.0)
    r = client.post(
        "/v1/me/locations", json={"fixes": walk_in(start, 11, 10.0, now)}, headers=auth(token)
    )
    assert r.status_code == 200, r.text
    body: dict[str, object] = r.json()
    return body


def test_consented_fashion_shopper_gets_exactly_one_push(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings, fcm_standin: FcmStandIn
) -> None:
    _, offer_id = _fashion_store(client, sessions)
    token = new_shopper(client, settings, interests=["fashion"], device="phone-fashion")

    report = _walk(client, token)

    assert [e["transition"] for e in report["events"]] == ["enter"]  # type: ignore[attr-defined]
    fcm_standin.wait_for(1, timeout=10)
    assert len(fcm_standin.messages) == 1
    message = fcm_standin.messages[0]
    assert message["token"] == "phone-fashion"
    assert message["notification"]["title"] == "Autumn coats -30%"
    assert message["data"]["offer_id"] == str(offer_id)

    inbox = client.get("/v1/me/notifications", headers=auth(token)).json()["items"]
    assert len(inbox) == 1
    assert inbox[0]["status"] == "sent"
    assert inbox[0]["reason"]["segments"] == ["fashion"]
    assert "Maison Rivoli" in inbox[0]["why"]

    # Walking out and back in the same day: the cap holds, no second push.
    out = offset(*PARIS, 300.0, 0.0)
    later = datetime.now(UTC) + timedelta(seconds=1)
    client.post(
        "/v1/me/locations",
        json={"fixes": [fix(*out, later), fix(*PARIS, later + timedelta(seconds=20))]},
        headers=auth(token),
    )
    assert fcm_standin.requests_count == 1


def test_child_segment_interest_matches_parent_offer_not_vice_versa(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings, fcm_standin: FcmStandIn
) -> None:
    operator = api_key(sessions, Role.OPERATOR)
    store_id = new_store(client, operator)
    staff = api_key(sessions, Role.STORE, [store_id])
    new_geofence(client, staff, store_id, square(*PARIS, 40.0))
    new_offer(client, staff, store_id, ["shoes"])
    token = new_shopper(client, settings, interests=["fashion"])  # parent covers shoes
    _walk(client, token)
    fcm_standin.wait_for(1, timeout=10)
    assert len(fcm_standin.messages) == 1


def test_no_consent_means_no_push(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings, fcm_standin: FcmStandIn
) -> None:
    _fashion_store(client, sessions)
    token = new_shopper(client, settings, consent=False, interests=["fashion"])
    report = _walk(client, token)
    assert report["notifications"] == []
    assert fcm_standin.requests_count == 0


def test_other_segment_means_no_push(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings, fcm_standin: FcmStandIn
) -> None:
    _fashion_store(client, sessions)
    token = new_shopper(client, settings, interests=["sport"])
    report = _walk(client, token)
    assert report["events"]  # presence still works…
    assert report["notifications"] == []  # …but nothing is pushed
    assert fcm_standin.requests_count == 0


def test_withdrawn_consent_stops_pushes_at_once(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings, fcm_standin: FcmStandIn
) -> None:
    operator = api_key(sessions, Role.OPERATOR)
    first = new_store(client, operator, "First")
    second = new_store(client, operator, "Second")
    for store_id, east in ((first, 0.0), (second, 500.0)):
        staff = api_key(sessions, Role.STORE, [store_id])
        new_geofence(client, staff, store_id, square(*offset(*PARIS, east, 0.0), 40.0))
        new_offer(client, staff, store_id, ["fashion"])
    token = new_shopper(client, settings, interests=["fashion"])
    now = datetime.now(UTC)
    client.post(
        "/v1/me/locations",
        json={"fixes": [fix(*PARIS, now - timedelta(seconds=60))]},
        headers=auth(token),
    )
    fcm_standin.wait_for(1, timeout=10)

    set_consent(client, settings, token, granted=False)
    r = client.post(
        "/v1/me/locations",
        json={"fixes": [fix(*offset(*PARIS, 500.0, 0.0), now - timedelta(seconds=30))]},
        headers=auth(token),
    )
    assert r.json()["events"][-1]["transition"] == "enter"
    assert r.json()["notifications"] == []
    assert fcm_standin.requests_count == 1


def test_dwell_offer_fires_only_after_the_dwell_time(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings, fcm_standin: FcmStandIn
) -> None:
    operator = api_key(sessions, Role.OPERATOR)
    store_id = new_store(client, operator)
    staff = api_key(sessions, Role.STORE, [store_id])
    new_geofence(client, staff, store_id, square(*PARIS, 40.0), dwell_s=120)
    new_offer(client, staff, store_id, ["fashion"], trigger="dwell", title="Stay for coffee")
    token = new_shopper(client, settings, interests=["fashion"])
    start = datetime.now(UTC) - timedelta(seconds=300)

    def at(seconds: int) -> list[str]:
        r = client.post(
            "/v1/me/locations",
            json={"fixes": [fix(*PARIS, start + timedelta(seconds=seconds))]},
            headers=auth(token),
        )
        return [e["transition"] for e in r.json()["events"]]

    assert at(0) == ["enter"]
    assert at(60) == []
    assert fcm_standin.requests_count == 0
    assert at(130) == ["dwell"]
    fcm_standin.wait_for(1, timeout=10)
    assert fcm_standin.messages[0]["notification"]["title"] == "Stay for coffee"
    assert at(200) == []
