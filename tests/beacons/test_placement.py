"""A beacon far from its store's geofences is refused: latitude and longitude swapped."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from kernel.config import Settings
from tests.beacons.factories import SHOE_AISLE, ibeacon, new_beacon, new_shop
from tests.factories import PARIS, auth, new_geofence, offset, square

SWAPPED = (PARIS[1], PARIS[0])  # lon 48.86, lat 2.347: off Somalia, ~6,800 km from Paris


def _placed(store_id: int, at: tuple[float, float], **identity: Any) -> dict[str, Any]:
    return {
        "store_id": store_id,
        "zone": SHOE_AISLE,
        "lon": at[0],
        "lat": at[1],
        **(identity or {"ibeacon": ibeacon()}),
        "measured_power_1m": -59,
    }


def test_a_beacon_with_latitude_and_longitude_swapped_is_refused(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    shop = new_shop(client, sessions)
    new_geofence(client, shop.staff, shop.store_id, square(*PARIS, 80))

    r = client.post("/v1/beacons", json=_placed(shop.store_id, SWAPPED), headers=auth(shop.tech))

    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert "swapped" in detail
    km = re.search(r"([\d,]+) km from the nearest", detail)
    assert km is not None
    assert int(km.group(1).replace(",", "")) > 5_000  # thousands of km off, not a typo nearby
    assert (
        client.get(f"/v1/stores/{shop.store_id}/beacons", headers=auth(shop.tech)).json()["items"]
        == []
    )
    assert settings.store_max_spread_km == 50


def test_a_beacon_moved_to_swapped_coordinates_is_refused_and_stays_put(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    shop = new_shop(client, sessions)
    new_geofence(client, shop.staff, shop.store_id, square(*PARIS, 80))
    beacon = new_beacon(client, shop.tech, shop.store_id)

    move = _placed(shop.store_id, SWAPPED)
    del move["ibeacon"], move["measured_power_1m"]
    r = client.post(f"/v1/beacons/{beacon['id']}/move", json=move, headers=auth(shop.tech))

    assert r.status_code == 422, r.text
    assert "swapped" in r.json()["detail"]
    after = client.get(f"/v1/beacons/{beacon['id']}", headers=auth(shop.tech)).json()
    assert (after["lon"], after["lat"], after["status"]) == (*PARIS, "active")


def test_a_beacon_near_the_store_or_in_a_store_without_geofences_is_accepted(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    shop = new_shop(client, sessions)
    # Nothing to compare with yet: accepted wherever it is, as a store's first geofence is.
    new_beacon(client, shop.tech, shop.store_id, at=SWAPPED)
    new_geofence(client, shop.staff, shop.store_id, square(*PARIS, 80))
    # 40 km out, within the default 50 km spread of a store (a mall, a warehouse).
    new_beacon(
        client, shop.tech, shop.store_id, at=offset(*PARIS, 40_000, 0), ibeacon=ibeacon(minor=2)
    )
