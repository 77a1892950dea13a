"""The beacon registry over HTTP: who may do what, identities, moves, history, offers by zone."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from beacons.frames import EddystoneEid, EddystoneUid
from kernel.config import Settings
from kernel.principal import Role
from tests.beacons.factories import (
    SHOE_AISLE,
    ibeacon,
    ibeacon_advertisement,
    ibeacon_identity,
    new_beacon,
    new_shop,
)
from tests.factories import PARIS, api_key, auth, new_offer, new_shopper, new_store


def test_tech_registers_an_ibeacon_flagged_spoofable_and_never_seen(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    shop = new_shop(client, sessions)
    body = new_beacon(client, shop.tech, shop.store_id, floor=1)

    assert body["identity"] == ibeacon_identity()
    assert body["format"] == "ibeacon"
    assert body["spoofable"] is True
    assert body["status"] == "active"
    assert body["health"] == "never_seen"
    assert (body["zone"], body["lon"], body["lat"]) == (SHOE_AISLE, *PARIS)
    assert body["measured_power_1m"] == -59


def test_raw_advertisement_gives_identity_and_measured_power(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    shop = new_shop(client, sessions)
    body = new_beacon(
        client,
        shop.tech,
        shop.store_id,
        measured_power_1m=None,
        advertisement=ibeacon_advertisement(minor=9, measured_power=-63),
    )
    assert body["identity"] == ibeacon_identity(minor=9)
    assert body["measured_power_1m"] == -63


def test_eddystone_uid_from_service_data_takes_tx_power_minus_41(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    shop = new_shop(client, sessions)
    frame = EddystoneUid(-20, bytes(range(10)), bytes(range(6)))
    body = new_beacon(
        client,
        shop.tech,
        shop.store_id,
        measured_power_1m=None,
        advertisement={"service_data": {"feaa": frame.to_service_data().hex()}},
    )
    assert body["identity"] == frame.identity
    assert body["format"] == "eddystone-uid"
    assert body["measured_power_1m"] == -61


def test_duplicate_identity_is_refused_with_409(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    shop = new_shop(client, sessions)
    first = new_beacon(client, shop.tech, shop.store_id)
    body = {
        "store_id": shop.store_id,
        "zone": "till",
        "lon": PARIS[0],
        "lat": PARIS[1],
        "advertisement": ibeacon_advertisement(minor=1),
    }
    r = client.post("/v1/beacons", json=body, headers=auth(shop.tech))
    assert r.status_code == 409
    assert r.json()["error"] == "conflict"
    assert f"beacon {first['id']}" in r.json()["detail"]


def test_only_field_techs_and_the_operator_register(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    shop = new_shop(client, sessions)
    body = {"store_id": shop.store_id, "zone": "x", "lon": 2.0, "lat": 48.0, "ibeacon": ibeacon()}
    body["measured_power_1m"] = -59
    r = client.post("/v1/beacons", json=body, headers=auth(shop.staff))
    assert r.status_code == 403
    assert "field tech" in r.json()["detail"]
    shopper = new_shopper(client, settings)
    assert client.post("/v1/beacons", json=body, headers=auth(shopper)).status_code == 403
    assert client.post("/v1/beacons", json=body, headers=auth(shop.operator)).status_code == 201


def test_tech_bound_to_a_store_cannot_touch_another(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    shop = new_shop(client, sessions)
    other = new_store(client, shop.operator, "Other")
    local_tech = api_key(sessions, Role.TECH, [other])
    body = {"store_id": shop.store_id, "zone": "x", "lon": 2.0, "lat": 48.0, "ibeacon": ibeacon()}
    body["measured_power_1m"] = -59
    # Outside its scope answers like a missing store or beacon: 404, no owner named.
    r = client.post("/v1/beacons", json=body, headers=auth(local_tech))
    assert r.status_code == 404
    assert r.json() == {"error": "not_found", "detail": f"no store {shop.store_id}"}
    beacon = new_beacon(client, shop.tech, shop.store_id)
    move = {"store_id": shop.store_id, "zone": "till", "lon": 2.0, "lat": 48.0}
    r = client.post(f"/v1/beacons/{beacon['id']}/move", json=move, headers=auth(local_tech))
    assert r.status_code == 404
    assert r.json() == {"error": "not_found", "detail": f"no beacon {beacon['id']}"}


def test_store_staff_read_their_own_beacons_only(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    shop = new_shop(client, sessions)
    other = new_shop(client, sessions, "Other")
    beacon = new_beacon(client, shop.tech, shop.store_id)

    mine = client.get(f"/v1/stores/{shop.store_id}/beacons", headers=auth(shop.staff))
    assert mine.status_code == 200
    assert [b["id"] for b in mine.json()["items"]] == [beacon["id"]]
    assert mine.json()["items"][0]["health"] == "never_seen"

    theirs = client.get(f"/v1/stores/{shop.store_id}/beacons", headers=auth(other.staff))
    assert theirs.status_code == 404
    assert theirs.json() == {"error": "not_found", "detail": f"no store {shop.store_id}"}
    r = client.get(f"/v1/beacons/{beacon['id']}", headers=auth(other.staff))
    missing = client.get("/v1/beacons/2000000000", headers=auth(other.staff))
    assert r.status_code == missing.status_code == 404
    assert r.json() == {"error": "not_found", "detail": f"no beacon {beacon['id']}"}
    r = client.get(f"/v1/beacons/{beacon['id']}/history", headers=auth(other.staff))
    assert r.status_code == 404
    for key in (shop.tech, shop.operator):
        r = client.get(f"/v1/stores/{shop.store_id}/beacons", headers=auth(key))
        assert r.status_code == 200
    assert client.get("/v1/stores/999999/beacons", headers=auth(shop.tech)).status_code == 404


def test_move_then_calibrate_is_kept_in_history(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    shop = new_shop(client, sessions)
    beacon = new_beacon(client, shop.tech, shop.store_id)
    move = {"store_id": shop.store_id, "zone": "till", "lon": 2.3476, "lat": 48.8601, "floor": 0}
    moved = client.post(f"/v1/beacons/{beacon['id']}/move", json=move, headers=auth(shop.tech))
    assert moved.status_code == 200, moved.text
    assert (moved.json()["zone"], moved.json()["status"]) == ("till", "moved")

    calibrated = client.patch(
        f"/v1/beacons/{beacon['id']}", json={"measured_power_1m": -62}, headers=auth(shop.tech)
    )
    assert calibrated.json()["status"] == "active"
    assert calibrated.json()["measured_power_1m"] == -62

    history = client.get(f"/v1/beacons/{beacon['id']}/history", headers=auth(shop.staff)).json()
    changes = [e["change"] for e in history["items"]]
    assert changes == ["registered", "moved", "calibrated"]
    moved_event = history["items"][1]
    assert moved_event["details"]["from"]["zone"] == SHOE_AISLE
    assert moved_event["details"]["to"]["zone"] == "till"
    assert history["items"][2]["details"] == {"from": -59, "to": -62}
    assert {e["by_key_id"] for e in history["items"]} == {beacon["installed_by"]}


def test_retired_beacon_cannot_be_moved(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    shop = new_shop(client, sessions)
    beacon = new_beacon(client, shop.tech, shop.store_id)
    r = client.post(f"/v1/beacons/{beacon['id']}/retire", headers=auth(shop.tech))
    assert (r.status_code, r.json()["status"], r.json()["health"]) == (200, "retired", "retired")
    move = {"store_id": shop.store_id, "zone": "till", "lon": 2.0, "lat": 48.0}
    r = client.post(f"/v1/beacons/{beacon['id']}/move", json=move, headers=auth(shop.tech))
    assert r.status_code == 409


def test_malformed_advertisement_is_a_422_naming_the_problem(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    shop = new_shop(client, sessions)
    body = {
        "store_id": shop.store_id,
        "zone": "x",
        "lon": 2.0,
        "lat": 48.0,
        "advertisement": {"manufacturer_data": {"76": "0215" + "00" * 10}},
    }
    r = client.post("/v1/beacons", json=body, headers=auth(shop.tech))
    assert r.status_code == 422
    assert "iBeacon frame is 12 bytes, expected 23" in r.json()["detail"]


def test_two_identities_or_none_is_a_422(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    shop = new_shop(client, sessions)
    body = {"store_id": shop.store_id, "zone": "x", "lon": 2.0, "lat": 48.0}
    r = client.post("/v1/beacons", json=body, headers=auth(shop.tech))
    assert r.status_code == 422
    both = {**body, "ibeacon": ibeacon(), "altbeacon": {"id": "00" * 20}}
    assert client.post("/v1/beacons", json=both, headers=auth(shop.tech)).status_code == 422


def test_eid_beacon_is_registered_by_key_and_not_spoofable(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    shop = new_shop(client, sessions)
    eid = {"identity_key": "00" * 16, "rotation_exponent": 10, "epoch_s": 1_700_000_000}
    body = new_beacon(client, shop.tech, shop.store_id, eddystone_eid=eid)
    assert body["format"] == "eddystone-eid"
    assert body["spoofable"] is False
    assert body["identity"].startswith("eddystone-eid-key:")
    assert "identity_key" not in body

    adv = {"service_data": {"feaa": EddystoneEid(-20, bytes(8)).to_service_data().hex()}}
    r = client.post(
        "/v1/beacons",
        json={"store_id": shop.store_id, "zone": "x", "lon": 2, "lat": 48, "advertisement": adv},
        headers=auth(shop.tech),
    )
    assert r.status_code == 422
    assert "identity key" in r.json()["detail"]


def test_lookup_tells_the_scanner_what_is_registered(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    shop = new_shop(client, sessions)
    beacon = new_beacon(client, shop.tech, shop.store_id)
    unknown = ibeacon_identity(minor=77)
    r = client.post(
        "/v1/beacons/lookup",
        json={"identities": [beacon["identity"], unknown]},
        headers=auth(shop.tech),
    )
    assert r.status_code == 200
    assert list(r.json()["found"]) == [beacon["identity"]]
    assert r.json()["found"][beacon["identity"]]["zone"] == SHOE_AISLE
    r = client.post("/v1/beacons/lookup", json={"identities": [unknown]}, headers=auth(shop.staff))
    assert r.status_code == 403


def test_visits_are_for_field_techs(client: TestClient, sessions: sessionmaker[Session]) -> None:
    shop = new_shop(client, sessions)
    assert client.get("/v1/beacons/visits", headers=auth(shop.staff)).status_code == 403
    r = client.get("/v1/beacons/visits", headers=auth(shop.tech))
    assert r.status_code == 200
    assert r.json()["items"] == []


def test_offers_can_target_beacon_zones(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    shop = new_shop(client, sessions)
    new_beacon(client, shop.tech, shop.store_id)
    new_beacon(client, shop.tech, shop.store_id, zone="till", ibeacon=ibeacon(minor=2))
    offer_id = new_offer(client, shop.staff, shop.store_id, ["shoes"], zones=[" shoe aisle "])
    offer = client.get(f"/v1/offers/{offer_id}", headers=auth(shop.staff)).json()
    assert offer["zones"] == [SHOE_AISLE]
    r = client.patch(f"/v1/offers/{offer_id}", json={"zones": ["till"]}, headers=auth(shop.staff))
    assert r.json()["zones"] == ["till"]
