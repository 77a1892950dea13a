"""Geofence PATCH and PUT, one paging convention, and an export people can read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from beacons.models import Beacon
from kernel.config import Settings
from kernel.db import unit_of_work
from kernel.principal import Role
from tests.beacons.factories import ibeacon, new_beacon, new_shop, report, sighting
from tests.factories import (
    PARIS,
    api_key,
    auth,
    clock,
    feature,
    new_geofence,
    new_offer,
    new_shopper,
    new_store,
    open_shop,
    set_consent,
    square,
    visit,
)
from tests.fcm_standin import FcmStandIn


@pytest.fixture
def store(client: TestClient, sessions: sessionmaker[Session]) -> tuple[int, str]:
    operator = api_key(sessions, Role.OPERATOR)
    store_id = new_store(client, operator)
    return store_id, api_key(sessions, Role.STORE, [store_id])


def test_patch_changes_only_what_is_sent(client: TestClient, store: tuple[int, str]) -> None:
    store_id, key = store
    fence = new_geofence(client, key, store_id, square(*PARIS, 40.0), dwell_s=45)
    before = client.get(f"/v1/geofences/{fence}", headers=auth(key)).json()

    r = client.patch(
        f"/v1/geofences/{fence}", json={"properties": {"name": "Door"}}, headers=auth(key)
    )
    assert r.status_code == 200, r.text
    after = r.json()
    assert after["properties"]["name"] == "Door"
    assert after["properties"]["dwell_s"] == 45
    assert after["geometry"] == before["geometry"]

    r = client.patch(
        f"/v1/geofences/{fence}",
        json={"geometry": square(*PARIS, 60.0), "properties": {"dwell_s": 10}},
        headers=auth(key),
    )
    assert r.status_code == 200, r.text
    assert r.json()["properties"] == {**r.json()["properties"], "name": "Door", "dwell_s": 10}
    assert r.json()["geometry"] != before["geometry"]

    bad = client.patch(
        f"/v1/geofences/{fence}", json={"properties": {"dwell_s": -1}}, headers=auth(key)
    )
    assert bad.status_code == 422
    assert (
        client.get(f"/v1/geofences/{fence}", headers=auth(key)).json()["properties"]["dwell_s"]
        == 10
    )


def test_put_keeps_an_omitted_dwell(client: TestClient, store: tuple[int, str]) -> None:
    store_id, key = store
    fence = new_geofence(client, key, store_id, square(*PARIS, 40.0), dwell_s=45)
    r = client.put(f"/v1/geofences/{fence}", json=feature(square(*PARIS, 50.0)), headers=auth(key))
    assert r.status_code == 200, r.text
    assert r.json()["properties"]["dwell_s"] == 45
    r = client.put(
        f"/v1/geofences/{fence}",
        json=feature(square(*PARIS, 50.0), dwell_s=0),
        headers=auth(key),
    )
    assert r.json()["properties"]["dwell_s"] == 0


def test_notifications_page_like_every_list(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    fcm_standin: FcmStandIn,
) -> None:
    shop = open_shop(client, sessions, name="Rivoli", east_m=0.0, segments=["fashion"])
    for title in ("second", "third"):
        new_offer(client, shop.staff, shop.store_id, ["fashion"], title=title)
    token = new_shopper(client, settings, interests=["fashion"])
    assert len(visit(client, token, shop, next(clock()))["notifications"]) == 3

    first = client.get("/v1/me/notifications?limit=2", headers=auth(token)).json()
    assert set(first) == {"items", "next_after"}
    ids = [n["id"] for n in first["items"]]
    assert ids == sorted(ids, reverse=True)  # newest first
    assert first["next_after"] == ids[-1]
    rest = client.get(
        f"/v1/me/notifications?limit=2&after={first['next_after']}", headers=auth(token)
    ).json()
    assert [n["id"] for n in rest["items"]] == [min(ids) - 1]
    assert rest["next_after"] is None
    fcm_standin.wait_for(3, timeout=10)


def _iso_utc(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() == timedelta(0), value
    return parsed


def test_the_export_has_readable_times_and_beacon_tracks(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    shop = new_shop(client, sessions)
    beacon = new_beacon(client, shop.tech, shop.store_id)
    new_geofence(client, shop.staff, shop.store_id, square(*PARIS, 200.0))
    token = new_shopper(client, settings)
    set_consent(client, settings, token, granted=True, purpose="beacon_proximity")
    now = datetime.now(UTC)
    report(client, token, [sighting(-60, now - timedelta(seconds=1))])
    visit_body = {"fixes": [{"lat": PARIS[1], "lon": PARIS[0], "accuracy_m": 10,
                             "recorded_at": now.isoformat()}]}  # fmt: skip
    assert client.post("/v1/me/locations", json=visit_body, headers=auth(token)).status_code == 200

    export = client.get("/v1/me/export", headers=auth(token)).json()
    (track,) = export["beacon_tracks"]
    assert track["beacon_id"] == beacon["id"]
    assert track["zone"] == f"beacon:{shop.store_id}:{beacon['zone']}"
    assert -100 < track["rssi_dbm"] < 0
    assert abs((_iso_utc(track["heard_at"]) - now).total_seconds()) < 5
    zones = export["presence"]["zones"]
    assert zones
    assert all(isinstance(_iso_utc(z["entered_at"]), datetime) for z in zones)
    assert {_iso_utc(at) for at in export["presence"]["last_seen"].values()}


def test_the_visit_list_pages_without_skipping(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    first_store, second_store = new_shop(client, sessions, "A"), new_shop(client, sessions, "B")
    # The later store's beacon gets the lower id: ordered by store, a page would skip it.
    low = new_beacon(client, second_store.tech, second_store.store_id, ibeacon=ibeacon(minor=1))
    high = new_beacon(client, first_store.tech, first_store.store_id, ibeacon=ibeacon(minor=2))
    with unit_of_work(sessions) as session:
        session.execute(update(Beacon).values(needs_visit=True, visit_reason="silent"))
    seen, after = [], 0
    for _ in range(3):
        page = client.get(
            f"/v1/beacons/visits?limit=1&after={after}", headers=auth(first_store.operator)
        ).json()
        seen += [b["id"] for b in page["items"]]
        if page["next_after"] is None:
            break
        after = page["next_after"]
    assert seen == [low["id"], high["id"]]
