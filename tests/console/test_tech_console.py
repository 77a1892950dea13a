"""A field technician in the console, in a real browser: places a beacon by clicking on
the store's map, then records a visit to it."""

from __future__ import annotations

from typing import cast

import httpx
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session, sessionmaker

from kernel.principal import Role
from tests.console.conftest import screenshot, sign_in
from tests.factories import PARIS, api_key, auth, new_geofence, square

UUID = "f7826da6-4fa2-4e98-8024-bc5b71e0893e"


def test_a_technician_places_a_beacon_on_the_map_and_records_a_visit(
    page: Page, live: str, sessions: sessionmaker[Session]
) -> None:
    with httpx.Client(base_url=live, timeout=10) as http:
        api = cast(TestClient, http)  # the factories use only httpx.Client's methods
        operator = api_key(sessions, Role.OPERATOR)
        where = {"lon": PARIS[0], "lat": PARIS[1]}
        r = http.post(
            "/v1/stores", json={"name": "Maison Rivoli", "location": where}, headers=auth(operator)
        )
        assert r.status_code == 201, r.text
        store_id = int(r.json()["id"])
        staff = api_key(sessions, Role.STORE, [store_id])
        new_geofence(api, staff, store_id, square(*PARIS, 60.0), name="Shop")
        tech = api_key(sessions, Role.TECH, [store_id])

        sign_in(page, live, tech)
        expect(page.get_by_role("heading", name="Beacons")).to_be_visible()

        page.get_by_role("button", name="Register a beacon").click()
        box = page.locator("#beacon-map").bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + box["width"] / 2 + 40, box["y"] + box["height"] / 2)
        expect(page.locator("#beacon-place")).to_contain_text("Placed at 48.86")
        page.get_by_label("Zone", exact=True).fill("shoe aisle")
        page.get_by_label("UUID").fill(UUID)
        page.get_by_label("Major").fill("1")
        page.get_by_label("Minor").fill("7")
        page.locator("section.fence-list").get_by_role(
            "button", name="Register", exact=True
        ).click()
        power = page.get_by_label("RSSI at 1 m (dBm; from the pasted frame when empty)")
        expect(power).to_have_attribute("aria-invalid", "true")
        expect(page.locator("#beacon-power-error")).to_contain_text("measured_power_1m is needed")
        power.fill("-59")
        page.locator("section.fence-list").get_by_role(
            "button", name="Register", exact=True
        ).click()
        expect(page.locator("#beacon-map + [role=status]")).to_have_text(
            "Beacon “shoe aisle” registered."
        )
        expect(page.locator("li.beacon h3")).to_have_text("shoe aisle")
        expect(page.locator(".beacon-pin")).to_have_count(1)
        screenshot(page, "tech-beacons")

        beacons = http.get(f"/v1/stores/{store_id}/beacons", headers=auth(tech)).json()["items"]
        assert len(beacons) == 1
        beacon = beacons[0]
        assert beacon["zone"] == "shoe aisle"
        assert beacon["health"] == "never_seen"
        # Clicked 40 px east of the map's centre (the store's point), on the shop.
        assert beacon["lon"] > PARIS[0]
        assert abs(beacon["lat"] - PARIS[1]) < 0.0002

        page.get_by_role("button", name="Mark visited").click()
        expect(page.locator("#beacon-map + [role=status]")).to_have_text(
            "Visit of “shoe aisle” recorded."
        )
        history = http.get(f"/v1/beacons/{beacon['id']}/history", headers=auth(tech)).json()
        assert history["items"][-1]["change"] == "visited"

        # The store's NFC tags, from the same page.
        tags = page.locator("form", has=page.locator("#nfc-new-title"))
        tags.get_by_label("Tag UID").fill("04:A2:2B:1C:5D:80:4D")
        tags.get_by_label("Where it is").fill("counter")
        tags.get_by_role("button", name="Register").click()
        expect(page.locator("#nfc-title ~ [role=status]")).to_have_text("Tag “counter” registered.")
        listed = http.get(f"/v1/stores/{store_id}/nfc-tags", headers=auth(tech)).json()["items"]
        assert [t["placement"] for t in listed] == ["counter"]
