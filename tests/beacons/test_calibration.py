"""Measured power (RSSI at 1 m) outside -100..+20 dBm counts as no calibration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from kernel.config import Settings
from tests.beacons.factories import (
    SHOE_AISLE,
    ibeacon,
    ibeacon_advertisement,
    new_beacon,
    new_shop,
    report,
    sighting,
)
from tests.factories import PARIS, auth, new_shopper, set_consent

# An iBeacon power byte of 0x74 reads +116 dBm at 1 m: no BLE radio sends more than +20.
IMPOSSIBLE = 0x74


def test_an_advertised_impossible_power_registers_the_beacon_as_calibration_required(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    shop = new_shop(client, sessions)
    body = new_beacon(
        client,
        shop.tech,
        shop.store_id,
        measured_power_1m=None,
        advertisement=ibeacon_advertisement(measured_power=IMPOSSIBLE),
    )
    assert body["calibration_required"] is True
    assert body["measured_power_1m"] is None
    history = client.get(f"/v1/beacons/{body['id']}/history", headers=auth(shop.tech)).json()
    [registered] = history["items"]
    assert registered["details"]["measured_power_1m"] == IMPOSSIBLE
    assert registered["details"]["calibration_required"] is True

    r = client.patch(
        f"/v1/beacons/{body['id']}", json={"measured_power_1m": -61}, headers=auth(shop.tech)
    )
    assert r.status_code == 200, r.text
    assert (r.json()["measured_power_1m"], r.json()["calibration_required"]) == (-61, False)


def test_a_possible_power_needs_no_calibration(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    shop = new_shop(client, sessions)
    body = new_beacon(client, shop.tech, shop.store_id, measured_power_1m=20)
    assert (body["measured_power_1m"], body["calibration_required"]) == (20, False)


@pytest.mark.parametrize("power", [IMPOSSIBLE, 21, -101])
def test_an_impossible_power_given_explicitly_is_refused(
    client: TestClient, sessions: sessionmaker[Session], power: int
) -> None:
    shop = new_shop(client, sessions)
    body = {
        "store_id": shop.store_id,
        "zone": SHOE_AISLE,
        "lon": PARIS[0],
        "lat": PARIS[1],
        "ibeacon": ibeacon(),
        "measured_power_1m": power,
    }
    r = client.post("/v1/beacons", json=body, headers=auth(shop.tech))
    assert r.status_code == 422, r.text
    assert "measured_power_1m" in r.text

    beacon = new_beacon(client, shop.tech, shop.store_id, ibeacon=ibeacon(minor=2))
    r = client.patch(
        f"/v1/beacons/{beacon['id']}", json={"measured_power_1m": power}, headers=auth(shop.tech)
    )
    assert r.status_code == 422, r.text
    assert "measured_power_1m" in r.text


def test_a_beacon_advertising_an_impossible_power_can_be_entered(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    shop = new_shop(client, sessions)
    new_beacon(
        client,
        shop.tech,
        shop.store_id,
        measured_power_1m=None,
        advertisement=ibeacon_advertisement(measured_power=IMPOSSIBLE),
    )
    token = new_shopper(client, settings, consent=False)
    set_consent(client, settings, token, granted=True, purpose="beacon_proximity")
    # Heard at -60 dBm: about 1 m with the default -59 dBm, ~3 km with +116 taken as true.
    start = datetime.now(UTC) - timedelta(seconds=10)
    readings = [sighting(-60, start + timedelta(seconds=2 * i)) for i in range(6)]

    result = report(client, token, readings)

    zone = f"beacon:{shop.store_id}:{SHOE_AISLE}"
    assert [(e["zone"], e["transition"]) for e in result["events"]] == [(zone, "enter")]
    assert result["proximity"][zone] in ("near", "immediate")
