"""Beacon beat jobs on real services: fleet health and the EID table."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from shapely.geometry import Point
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from beacons.eid import EidRegistration, compute_eid
from beacons.models import Beacon
from beacons.sync import EidDirectory
from beacons.tasks import check_beacon_health, refresh_eids
from kernel.config import Settings
from kernel.db import unit_of_work
from server.celery import celery_app
from tests.beacons.factories import (
    TILL,
    ibeacon,
    new_beacon,
    new_shop,
    report,
    seconds_ago,
    sighting,
)
from tests.factories import PARIS, auth, new_shopper, set_consent


def _age(sessions: sessionmaker[Session], beacon_id: int, **values: Any) -> None:
    with unit_of_work(sessions) as session:
        session.execute(update(Beacon).where(Beacon.id == beacon_id).values(**values))


def _history(client: TestClient, key: str, beacon_id: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get(
        f"/v1/beacons/{beacon_id}/history", headers=auth(key)
    ).json()["items"]
    return items


def test_beat_schedule_runs_both_jobs() -> None:
    tasks = {entry["task"] for entry in celery_app.conf.beat_schedule.values()}
    assert {"beacons.refresh_eids", "beacons.check_health"} <= tasks


def test_silent_and_low_battery_beacons_need_a_visit_until_found_or_visited(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    shop = new_shop(client, sessions)
    fine = new_beacon(client, shop.tech, shop.store_id)
    silent = new_beacon(client, shop.tech, shop.store_id, zone=TILL, ibeacon=ibeacon(minor=2))
    weak = new_beacon(client, shop.tech, shop.store_id, zone="door", ibeacon=ibeacon(minor=3))
    long_ago = datetime.now(UTC) - timedelta(hours=settings.beacon_silent_hours + 6)
    _age(sessions, silent["id"], installed_at=long_ago, last_seen_at=long_ago)
    _age(sessions, weak["id"], battery_mv=settings.beacon_low_battery_mv - 100)

    first = check_beacon_health.delay().get()
    assert first == {"checked": 3, "needing_visit": 2, "newly_flagged": 2}
    assert check_beacon_health.delay().get()["newly_flagged"] == 0  # idempotent

    visits = client.get("/v1/beacons/visits", headers=auth(shop.tech)).json()["items"]
    reasons = {b["id"]: b["visit_reason"] for b in visits}
    assert set(reasons) == {silent["id"], weak["id"]}
    assert reasons[silent["id"]].startswith("silent since")
    assert reasons[weak["id"]] == f"battery low ({settings.beacon_low_battery_mv - 100} mV)"
    health = {
        b["id"]: (b["status"], b["health"])
        for b in client.get(f"/v1/stores/{shop.store_id}/beacons", headers=auth(shop.staff)).json()[
            "items"
        ]
    }
    assert health == {
        fine["id"]: ("active", "never_seen"),
        silent["id"]: ("missing", "needs_visit"),
        weak["id"]: ("active", "needs_visit"),
    }
    assert [e["change"] for e in _history(client, shop.tech, silent["id"])] == [
        "registered",
        "missing",
        "needs_visit",
    ]

    # The silent beacon is heard again: it is found, and no longer needs a visit.
    token = new_shopper(client, settings, consent=False)
    body = report(client, token, [sighting(-70, seconds_ago(2), ibeacon=ibeacon(minor=2))])
    assert body["ignored"] == {"no_consent": 1}
    found = client.get(f"/v1/beacons/{silent['id']}", headers=auth(shop.tech)).json()
    assert (found["status"], found["needs_visit"]) == ("active", False)
    assert _history(client, shop.tech, silent["id"])[-1]["change"] == "found"

    # A tech replaces the weak battery.
    r = client.post(
        f"/v1/beacons/{weak['id']}/visit",
        json={"note": "new CR2477", "battery_replaced": True},
        headers=auth(shop.tech),
    )
    assert r.status_code == 200
    assert check_beacon_health.delay().get()["needing_visit"] == 0
    assert client.get("/v1/beacons/visits", headers=auth(shop.tech)).json()["items"] == []
    visited = _history(client, shop.tech, weak["id"])[-1]
    assert visited["change"] == "visited"
    assert visited["details"]["note"] == "new CR2477"


def test_refresh_job_loads_eid_beacons_registered_elsewhere(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    shop = new_shop(client, sessions)
    key, exponent = os.urandom(16), 8
    epoch = int(time.time()) - 5000
    with unit_of_work(sessions) as session:
        # Written straight to the database, as another process would: this one's table
        # does not know the beacon until the job runs.
        session.add(
            Beacon(
                identity="eddystone-eid-key:test",
                format="eddystone-eid",
                store_id=shop.store_id,
                zone="door",
                point=Point(*PARIS),
                measured_power_1m=-61,
                eid_identity_key=key,
                eid_rotation_exponent=exponent,
                eid_epoch_s=epoch,
                spoofable=False,
                status="active",
                needs_visit=False,
            )
        )
    token = new_shopper(client, settings, consent=False)
    set_consent(client, settings, token, granted=True, purpose="beacon_proximity")
    now = int(time.time())
    eid = compute_eid(key, exponent, now - epoch).hex()
    heard = sighting(-60, datetime.fromtimestamp(now, UTC), eddystone_eid={"eid": eid})
    assert report(client, token, [heard])["ignored"] == {"unknown": 1}

    assert refresh_eids.delay().get() == 1

    again = sighting(-60, datetime.fromtimestamp(now + 0.5, UTC), eddystone_eid={"eid": eid})
    assert report(client, token, [again])["accepted"] == 1


def test_eid_table_follows_rotations_for_days(sessions: sessionmaker[Session]) -> None:
    key, exponent, epoch = os.urandom(16), 4, 1_000_000
    directory = EidDirectory(sessions, None, skew_periods=2)
    directory.install([EidRegistration("b1", key, exponent, epoch)], now_s=epoch + 100)
    for now in range(epoch + 100, epoch + 3 * 86_400, 997):
        assert directory.resolve(compute_eid(key, exponent, now - epoch), now) == "b1"
    stale = compute_eid(key, exponent, 50)
    assert directory.resolve(stale, epoch + 3 * 86_400) is None
    assert directory.resolve(os.urandom(8), epoch + 100) is None
