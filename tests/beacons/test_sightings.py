"""Sightings on real services: from a phone's batches to zone events and one FCM push."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from beacons.eid import compute_eid
from beacons.frames import EDDYSTONE_SERVICE_UUID, AltBeacon, EddystoneEid, EddystoneUid
from kernel.config import Settings
from tests.beacons.factories import (
    SHOE_AISLE,
    TILL,
    Shop,
    ibeacon,
    ibeacon_advertisement,
    new_beacon,
    new_shop,
    report,
    seconds_ago,
    sighting,
    tlm_hex,
)
from tests.factories import (
    PARIS,
    auth,
    new_geofence,
    new_offer,
    new_shopper,
    offset,
    set_consent,
    square,
    walk_in,
)
from tests.fcm_standin import FcmStandIn

APPROACH = [-95, -90, -85, -80, -75, -70, -65, -60, -60, -60, -60, -60]


def _shopper(client: TestClient, settings: Settings, device: str = "phone-shoes") -> str:
    token = new_shopper(client, settings, consent=False, interests=["shoes"], device=device)
    set_consent(client, settings, token, granted=True, purpose="beacon_proximity")
    return token


def _shoe_shop(client: TestClient, sessions: sessionmaker[Session]) -> tuple[Shop, int]:
    shop = new_shop(client, sessions)
    new_beacon(client, shop.tech, shop.store_id)
    offer_id = new_offer(
        client, shop.staff, shop.store_id, ["shoes"], title="Boots -20%", zones=[SHOE_AISLE]
    )
    return shop, offer_id


def _walk(
    client: TestClient,
    token: str,
    rssis: list[int],
    every_s: float = 2.0,
    end: datetime | None = None,
) -> list[Any]:
    """One batch per reading, as a phone streaming what it hears; the last one at ``end``
    (now by default)."""
    end = end or datetime.now(UTC)
    start = end - timedelta(seconds=every_s * (len(rssis) - 1))
    return [
        report(client, token, [sighting(rssi, start + timedelta(seconds=every_s * i))])
        for i, rssi in enumerate(rssis)
    ]


def test_shopper_approaching_the_shoe_aisle_gets_its_offer_exactly_once(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings, fcm_standin: FcmStandIn
) -> None:
    shop, offer_id = _shoe_shop(client, sessions)
    token = _shopper(client, settings)
    zone = f"beacon:{shop.store_id}:{SHOE_AISLE}"

    # Walked 70 s ago, so what follows happens by now: the phone's clock is never ahead.
    later = datetime.now(UTC) - timedelta(seconds=70)
    reports = _walk(client, token, APPROACH, end=later)

    events = [(n, e["transition"]) for n, r in enumerate(reports) for e in r["events"]]
    assert [t for _, t in events] == ["enter"]
    entered_at = events[0][0]
    assert APPROACH[entered_at] == -60  # the smoothed RSSI lags the raw readings
    assert all(r["proximity"][zone] == "far" for r in reports[:entered_at])
    assert reports[entered_at]["proximity"][zone] in ("near", "immediate")
    assert reports[entered_at]["events"][0]["store_id"] == shop.store_id
    assert sum(len(r["notifications"]) for r in reports) == 1

    fcm_standin.wait_for(1, timeout=10)
    message = fcm_standin.messages[0]
    assert message["token"] == "phone-shoes"
    assert message["notification"]["title"] == "Boots -20%"
    assert message["data"]["offer_id"] == str(offer_id)
    inbox = client.get("/v1/me/notifications", headers=auth(token)).json()["items"]
    assert [n["zone"] for n in inbox] == [zone]

    # Staying in the aisle, stepping away and coming back: still one push today.
    report(client, token, [sighting(-58, later + timedelta(seconds=1))])
    gone = report(client, token, [sighting(-99, later + timedelta(seconds=60))])
    assert [e["transition"] for e in gone["events"]] == ["exit"]
    back = [sighting(-55, later + timedelta(seconds=61 + i)) for i in range(6)]
    assert [e["transition"] for e in report(client, token, back)["events"]] == ["enter"]
    assert fcm_standin.requests_count == 1


def test_far_sightings_alone_never_enter(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings, fcm_standin: FcmStandIn
) -> None:
    _shoe_shop(client, sessions)
    token = _shopper(client, settings)
    reports = _walk(client, token, [-90, -88, -91, -87, -89, -90, -86, -88], every_s=1.0)
    assert all(r["events"] == [] for r in reports)
    assert all(r["accepted"] == 1 for r in reports)
    assert fcm_standin.requests_count == 0


def test_far_reading_holds_the_zone_and_silence_exits_it(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    shop = new_shop(client, sessions)
    new_beacon(client, shop.tech, shop.store_id)
    new_beacon(client, shop.tech, shop.store_id, zone=TILL, ibeacon=ibeacon(minor=2))
    token = _shopper(client, settings)
    t0 = datetime.now(UTC) - timedelta(seconds=120)

    entered = report(client, token, [sighting(-55, t0 + timedelta(seconds=i)) for i in range(5)])
    assert [e["transition"] for e in entered["events"]] == ["enter"]
    # -72 dBm is about 4.5 m: once smoothed it is FAR, inside the 8 m band: the aisle is kept.
    backing_off = [sighting(-72, t0 + timedelta(seconds=s)) for s in range(6, 16)]
    held = report(client, token, backing_off)
    assert held["proximity"] == {f"beacon:{shop.store_id}:{SHOE_AISLE}": "far"}
    assert held["events"] == []
    # Only the till is heard: within 30 s the aisle is still held, after that it exits.
    till = {"ibeacon": ibeacon(minor=2)}
    soon = report(client, token, [sighting(-80, t0 + timedelta(seconds=30), **till)])
    assert soon["events"] == []
    late = report(client, token, [sighting(-80, t0 + timedelta(seconds=60), **till)])
    assert [(e["zone"], e["transition"]) for e in late["events"]] == [
        (f"beacon:{shop.store_id}:{SHOE_AISLE}", "exit")
    ]


def test_no_beacon_consent_keeps_nothing_about_the_user(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings, fcm_standin: FcmStandIn
) -> None:
    shop, _ = _shoe_shop(client, sessions)
    token = new_shopper(client, settings, interests=["shoes"])  # location consent only
    body = report(client, token, [sighting(-55, seconds_ago(i)) for i in range(5)])
    assert body["accepted"] == 0
    assert body["ignored"] == {"no_consent": 5}
    assert body["events"] == []
    # The fleet still learns the beacon is alive.
    beacons = client.get(f"/v1/stores/{shop.store_id}/beacons", headers=auth(shop.staff)).json()
    assert beacons["items"][0]["last_seen_at"] is not None
    assert fcm_standin.requests_count == 0


def test_rotating_eid_beacon_is_recognised_across_rotations_and_unknown_eid_is_not(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    shop = new_shop(client, sessions)
    key = os.urandom(16)
    exponent = 10  # rotates every 1024 s
    now = int(time.time())
    epoch = now - 3 * 1024 - 100  # 100 s into its fourth period
    eid = {"identity_key": key.hex(), "rotation_exponent": exponent, "epoch_s": epoch}
    beacon = new_beacon(client, shop.tech, shop.store_id, eddystone_eid=eid)
    token = _shopper(client, settings)

    def eid_sighting(rssi: int, at: float) -> dict[str, Any]:
        ephemeral = compute_eid(key, exponent, int(at) - epoch)
        when = datetime.fromtimestamp(at, UTC)
        return sighting(rssi, when, eddystone_eid={"eid": ephemeral.hex()})

    before, after = now - 200, now - 50  # either side of the last rotation
    assert compute_eid(key, exponent, before - epoch) != compute_eid(key, exponent, after - epoch)
    raw = EddystoneEid(-20, compute_eid(key, exponent, after + 1 - epoch)).to_service_data()
    body = report(
        client,
        token,
        [
            eid_sighting(-60, before),
            eid_sighting(-58, after),
            sighting(-57, datetime.fromtimestamp(after + 1, UTC),
                     advertisement={"service_data": {"feaa": raw.hex()}}),
            sighting(-57, datetime.fromtimestamp(after + 2, UTC),
                     eddystone_eid={"eid": os.urandom(8).hex()}),
        ],
    )  # fmt: skip
    assert body["ignored"] == {"unknown": 1}
    assert body["accepted"] == 3
    assert list(body["proximity"]) == [f"beacon:{shop.store_id}:{SHOE_AISLE}"]
    seen = client.get(f"/v1/beacons/{beacon['id']}", headers=auth(shop.tech)).json()
    assert seen["last_seen_at"] is not None


def test_raw_advertisements_resolve_and_forwarded_telemetry_updates_health(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    shop = new_shop(client, sessions)
    uid = EddystoneUid(-20, bytes(range(10)), bytes(range(6)))
    alt = AltBeacon(bytes(range(20)), -60)
    new_beacon(client, shop.tech, shop.store_id, eddystone_uid={
        "namespace": uid.namespace.hex(), "instance": uid.instance.hex()})  # fmt: skip
    new_beacon(client, shop.tech, shop.store_id, zone=TILL, altbeacon={"id": alt.beacon_id.hex()})
    token = _shopper(client, settings)
    at = seconds_ago(5)
    body = report(
        client,
        token,
        [
            sighting(-60, at, advertisement={"service_data": {
                EDDYSTONE_SERVICE_UUID: uid.to_service_data().hex()}}, tlm=tlm_hex(2750, 19.5)),
            sighting(-61, at, advertisement={"manufacturer_data": {
                "280": alt.to_manufacturer_payload().hex()}}),
        ],
    )  # fmt: skip
    assert body["accepted"] == 2
    assert body["ignored"] == {}
    rows = client.get(f"/v1/stores/{shop.store_id}/beacons", headers=auth(shop.staff)).json()
    by_zone = {b["zone"]: b for b in rows["items"]}
    assert (by_zone[SHOE_AISLE]["battery_mv"], by_zone[SHOE_AISLE]["temperature_c"]) == (2750, 19.5)
    assert by_zone[SHOE_AISLE]["health"] == "ok"
    assert by_zone[TILL]["last_seen_at"] is not None
    assert by_zone[TILL]["battery_mv"] is None


def test_unknown_beacons_are_counted_and_skipped(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    _shoe_shop(client, sessions)
    token = _shopper(client, settings)
    at = seconds_ago(1)
    body = report(
        client,
        token,
        [
            sighting(-60, at),
            sighting(-60, at, ibeacon=ibeacon(minor=404)),
            sighting(-60, at, advertisement=ibeacon_advertisement(minor=405)),
        ],
    )
    assert body["accepted"] == 1
    assert body["ignored"] == {"unknown": 2}


def test_malformed_raw_frame_fails_the_batch_with_a_message(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    _shoe_shop(client, sessions)
    token = _shopper(client, settings)
    at = seconds_ago(1)
    bad = {"service_data": {"feaa": "0014" + "00" * 5}}
    r = client.post(
        "/v1/me/sightings",
        json={"sightings": [sighting(-60, at), sighting(-60, at, advertisement=bad)]},
        headers=auth(token),
    )
    assert r.status_code == 422
    assert r.json()["detail"] == "sightings.1: Eddystone-UID frame is 7 bytes, expected 18 or 20"
    odd = {"manufacturer_data": {"76": "abc"}}
    r = client.post(
        "/v1/me/sightings",
        json={"sightings": [sighting(-60, at, advertisement=odd)]},
        headers=auth(token),
    )
    assert r.status_code == 422


def test_oversized_batch_is_413(client: TestClient, settings: Settings) -> None:
    token = _shopper(client, settings)
    at = seconds_ago(1)
    batch = [sighting(-60, at + timedelta(milliseconds=i)) for i in range(settings.max_batch + 1)]
    r = client.post("/v1/me/sightings", json={"sightings": batch}, headers=auth(token))
    assert r.status_code == 413
    assert r.json()["error"] == "too_large"


def test_sightings_from_the_future_are_refused(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    _shoe_shop(client, sessions)
    token = _shopper(client, settings)
    r = client.post(
        "/v1/me/sightings",
        json={"sightings": [sighting(-60, datetime.now(UTC) + timedelta(hours=1))]},
        headers=auth(token),
    )
    assert r.status_code == 422
    assert "future" in r.json()["detail"]


def test_a_clock_slightly_ahead_is_shifted_and_a_number_for_recorded_at_refused(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    _shoe_shop(client, sessions)
    token = _shopper(client, settings)
    ahead = report(client, token, [sighting(-55, datetime.now(UTC) + timedelta(seconds=20))])
    assert [e["transition"] for e in ahead["events"]] == ["enter"]
    assert datetime.fromisoformat(ahead["events"][0]["at"]) <= datetime.now(UTC)
    # The corrected clock's next sighting counts: it is not taken for out of order.
    now = report(client, token, [sighting(-56, datetime.now(UTC))])
    assert (now["accepted"], now["ignored"]) == (1, {})
    for number in (int(time.time()), time.time()):
        body = {"ibeacon": ibeacon(), "rssi": -60, "recorded_at": number}
        r = client.post("/v1/me/sightings", json={"sightings": [body]}, headers=auth(token))
        assert r.status_code == 422, number
        assert "recorded_at" in r.json()["detail"]


def test_replayed_batch_changes_nothing(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings, fcm_standin: FcmStandIn
) -> None:
    _shoe_shop(client, sessions)
    token = _shopper(client, settings)
    batch = [sighting(-55, seconds_ago(10 - i)) for i in range(6)]
    first = report(client, token, batch)
    assert [e["transition"] for e in first["events"]] == ["enter"]
    again = report(client, token, batch)
    assert again["accepted"] == 0
    assert again["ignored"] == {"replayed": 6}
    assert again["events"] == []
    fcm_standin.wait_for(1, timeout=10)
    assert fcm_standin.requests_count == 1


def test_sighting_far_from_the_users_geofence_is_flagged(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    here = new_shop(client, sessions, "Here")
    new_geofence(client, here.staff, here.store_id, square(*PARIS, 60.0))
    elsewhere = new_shop(client, sessions, "Elsewhere")
    far_away = offset(*PARIS, 5000.0, 0.0)
    new_beacon(client, elsewhere.tech, elsewhere.store_id, at=far_away)
    new_beacon(client, here.tech, here.store_id, zone=TILL, ibeacon=ibeacon(minor=2))
    token = _shopper(client, settings)
    set_consent(client, settings, token, granted=True)  # location too
    start = offset(*PARIS, -60.0, 0.0)
    walk = walk_in(start, 7, 10.0, datetime.now(UTC) - timedelta(seconds=30))
    r = client.post("/v1/me/locations", json={"fixes": walk}, headers=auth(token))
    assert [e["transition"] for e in r.json()["events"]] == ["enter"]

    at = seconds_ago(5)
    body = report(client, token, [sighting(-55, at), sighting(-55, at, ibeacon=ibeacon(minor=2))])
    assert body["ignored"] == {"far_from_location": 1}
    assert body["accepted"] == 1
    assert list(body["proximity"]) == [f"beacon:{here.store_id}:{TILL}"]


def test_retired_beacons_are_skipped(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    shop = new_shop(client, sessions)
    beacon = new_beacon(client, shop.tech, shop.store_id)
    client.post(f"/v1/beacons/{beacon['id']}/retire", headers=auth(shop.tech))
    token = _shopper(client, settings)
    body = report(client, token, [sighting(-55, seconds_ago(1))])
    assert body["ignored"] == {"retired": 1}


def test_clearing_a_user_removes_their_tracks_and_replay_guards(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    redis_client: redis.Redis,
) -> None:
    _shoe_shop(client, sessions)
    token = _shopper(client, settings)
    report(client, token, [sighting(-60, seconds_ago(2)), sighting(-61, seconds_ago(1))])
    [tracks] = redis_client.keys("vicinity:beacon-tracks:*")
    assert len(redis_client.keys("vicinity:sighting:*")) == 2
    user_id = int(tracks.decode().rsplit(":", 1)[1])
    assert redis_client.ttl(tracks) <= settings.beacon_track_ttl_s

    client.app.state.runtime.sightings.clear(user_id)

    assert redis_client.keys("vicinity:beacon-tracks:*") == []
    assert redis_client.keys("vicinity:sighting:*") == []


def test_each_sighting_of_a_batch_counts_at_its_own_time_so_a_batch_can_dwell(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    shop, _ = _shoe_shop(client, sessions)
    token = _shopper(client, settings)
    span = settings.beacon_dwell_s + 30
    start = datetime.now(UTC) - timedelta(seconds=span + 10)
    batch = [sighting(-55, start + timedelta(seconds=s)) for s in range(0, span + 1, 10)]
    body = report(client, token, batch)
    zone = f"beacon:{shop.store_id}:{SHOE_AISLE}"
    assert [(e["zone"], e["transition"]) for e in body["events"]] == [
        (zone, "enter"),
        (zone, "dwell"),
    ]
    entered, dwelled = (datetime.fromisoformat(e["at"]) for e in body["events"])
    assert entered == start
    assert dwelled - entered >= timedelta(seconds=settings.beacon_dwell_s)
    assert body["accepted"] == len(batch)
