"""A store manager in the console, in a real browser: signs in with a key, draws a polygon
geofence by clicking on the map, publishes an offer; a shopper's walk through the JSON
API enters the fence, and the activity view shows the push. A bad polygon shows the API's
message on the shape; a key without the role, or revoked, gets a clear page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import httpx
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect
from shapely.geometry import shape
from sqlalchemy.orm import Session, sessionmaker

from accounts.service import revoke_api_key
from geofence.shapes import area_m2
from kernel.config import Settings
from kernel.db import unit_of_work
from kernel.principal import Role
from tests.console.conftest import screenshot, sign_in
from tests.e2e.servers import wait_until
from tests.factories import (
    PARIS,
    api_key,
    auth,
    fix,
    new_geofence,
    new_shopper,
    new_store,
    offset,
)
from tests.fcm_standin import FcmStandIn

# Corners of the fence drawn, in pixels from the map's centre (east, south): at the
# map's zoom around a 15 m circle, about 50 to 110 m east of it.
SQUARE = [(130, -90), (290, -90), (290, 90), (130, 90)]
# Two corners swapped: the outline crosses itself.
BOWTIE = [(-300, -90), (-140, 90), (-140, -90), (-300, 90)]


@pytest.fixture
def http(live: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live, timeout=10) as client:
        yield client


def _shop(http: httpx.Client, sessions: sessionmaker[Session]) -> tuple[int, str]:
    """A store with a small circle at its door (the map centres on it) and a staff key."""
    api = cast(TestClient, http)  # the factories use only httpx.Client's methods
    store_id = new_store(api, api_key(sessions, Role.OPERATOR), "Maison Rivoli")
    staff = api_key(sessions, Role.STORE, [store_id])
    circle = {"type": "Point", "coordinates": list(PARIS)}
    new_geofence(api, staff, store_id, circle, name="Door", radius_m=15)
    return store_id, staff


def _map_centre(page: Page) -> tuple[float, float]:
    box = page.locator("#fence-map").bounding_box()
    assert box is not None
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def _draw(page: Page, corners: list[tuple[int, int]]) -> None:
    """Clicks each corner on the map, then the first again to close the polygon."""
    page.get_by_role("button", name="Draw a polygon").click()
    cx, cy = _map_centre(page)
    for dx, dy in [*corners, corners[0]]:
        page.mouse.click(cx + dx, cy + dy)


def _fence(http: httpx.Client, store_id: int, key: str, name: str) -> dict[str, Any]:
    r = http.get(f"/v1/stores/{store_id}/geofences", headers=auth(key))
    found: dict[str, Any] = next(f for f in r.json()["features"] if f["properties"]["name"] == name)
    return found


def _area_m2(fence: dict[str, Any]) -> float:
    return float(area_m2(shape(fence["geometry"])))


def _walk_into(http: httpx.Client, token: str, fence: dict[str, Any]) -> dict[str, Any]:
    """From 100 m south of the fence's centre to the centre, a fix every 10 m and 10 s."""
    centre = shape(fence["geometry"]).centroid
    now = datetime.now(UTC)
    steps = [(-100.0 + 10 * i, now - timedelta(seconds=100 - 10 * i)) for i in range(11)]
    fixes = [fix(*offset(centre.x, centre.y, 0.0, north), at) for north, at in steps]
    r = http.post("/v1/me/locations", json={"fixes": fixes}, headers=auth(token))
    assert r.status_code == 200, r.text
    report: dict[str, Any] = r.json()
    return report


def test_a_manager_draws_a_fence_publishes_an_offer_and_sees_the_push(
    page: Page,
    live: str,
    http: httpx.Client,
    sessions: sessionmaker[Session],
    settings: Settings,
    fcm_standin: FcmStandIn,
) -> None:
    store_id, staff = _shop(http, sessions)
    sign_in(page, live, staff)
    expect(page.get_by_role("heading", name="Geofences")).to_be_visible()

    _draw(page, SQUARE)
    drawn = page.locator('li.fence[data-fence="new"]')
    drawn.get_by_label("Name").fill("Front door")
    drawn.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").first).to_have_text("“Front door” saved.")
    screenshot(page, "store-map")
    front = _fence(http, store_id, staff, "Front door")
    assert front["geometry"]["type"] == "Polygon"
    assert 2_000 < _area_m2(front) < 20_000

    # A corner dragged outwards: the new outline is saved at once.
    page.locator(f'li.fence[data-fence="{front["id"]}"]').get_by_role(
        "button", name="Edit on the map"
    ).click()
    x, y = _map_centre(page)
    page.mouse.move(x + SQUARE[2][0], y + SQUARE[2][1])
    page.mouse.down()
    page.mouse.move(x + SQUARE[2][0] + 60, y + SQUARE[2][1] + 60, steps=5)
    page.mouse.up()
    before = _area_m2(front)
    wait_until(
        lambda: _area_m2(_fence(http, store_id, staff, "Front door")) > before * 1.1,
        10,
        "the dragged corner to be saved",
    )
    front = _fence(http, store_id, staff, "Front door")

    page.get_by_role("link", name="Offers").click()
    page.get_by_role("button", name="New offer").click()
    page.get_by_label("Push title").fill("Autumn coats -30%")
    page.get_by_label("Push text").fill("Show this at the till.")
    page.get_by_role("checkbox", name="Fashion", exact=True).check()
    page.get_by_role("checkbox", name="Front door").check()
    preview = page.locator("aside.preview")
    expect(preview.locator(".push-title")).to_have_text("Autumn coats -30%")
    expect(preview.locator(".why")).to_contain_text(
        "Sent because you entered Maison Rivoli (the area “Front door”), this offer targets "
        "Fashion, which you follow"
    )
    screenshot(page, "offer-form")
    # The API's refusal is shown beside the field that caused it.
    page.get_by_label("Comparison group (%)").fill("80")
    page.get_by_role("button", name="Publish").click()
    expect(page.locator("#offer-holdout-error")).to_contain_text("less than or equal to 50")
    expect(page.get_by_label("Comparison group (%)")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Comparison group (%)").fill("0")
    page.get_by_role("button", name="Publish").click()
    expect(page.locator("li.offer h3")).to_have_text("Autumn coats -30%")
    page.get_by_role("button", name="Edit").click()
    page.get_by_label("Most pushes per day").fill("50")
    page.get_by_label("Only when the shopper is surely there").select_option("medium")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("“Autumn coats -30%” saved.")
    offer = http.get(f"/v1/stores/{store_id}/offers", headers=auth(staff)).json()["items"][0]
    assert offer["segments"] == ["fashion"]
    assert offer["geofence_ids"] == [front["id"]]
    assert (offer["max_sends_per_day"], offer["holdout_pct"], offer["trigger"]) == (50, 0, "enter")
    assert offer["min_confidence"] == "medium"  # a 10 m fix in this fence is high: it fires

    shopper = new_shopper(cast(TestClient, http), settings, interests=["fashion"], device="phone")
    report = _walk_into(http, shopper, front)
    assert [e["transition"] for e in report["events"]] == ["enter"]
    assert len(report["notifications"]) == 1
    fcm_standin.wait_for(1, timeout=10)

    page.get_by_role("link", name="Activity").click()
    row = page.locator(f'tr[data-subject="offer-{offer["id"]}"]')
    expect(row.locator('td[data-metric="sent"]')).to_have_text("1")
    expect(row.locator('td[data-metric="eligible"]')).to_have_text("1")
    page.get_by_text("The same counts as a table").click()
    # One hour's row, or two when the push was sent in the hour after the one it was
    # decided in (a run across the hour): the "sent" column (the first) adds up to one.
    hours = page.locator("table.hours tbody tr")
    expect(hours.first).to_be_visible()
    assert hours.count() in (1, 2)
    assert sum(int(c) for c in hours.locator("td:nth-of-type(1)").all_inner_texts()) == 1
    screenshot(page, "activity")

    # "Stays a while" asks how long: out of range beside the field, then saved.
    page.get_by_role("link", name="Offers").click()
    page.get_by_role("button", name="Edit").click()
    page.get_by_label("Sent when the shopper…").select_option("dwell")
    page.get_by_label("Minutes inside before it is sent (optional)").fill("0")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#offer-dwell-error")).to_contain_text("greater than or equal to 1")
    page.get_by_label("Minutes inside before it is sent (optional)").fill("10")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("“Autumn coats -30%” saved.")
    offer = http.get(f"/v1/offers/{offer['id']}", headers=auth(staff)).json()
    assert (offer["trigger"], offer["dwell_minutes"]) == ("dwell", 10)


def test_a_self_intersecting_polygon_shows_the_apis_message_on_the_shape(
    page: Page, live: str, http: httpx.Client, sessions: sessionmaker[Session]
) -> None:
    store_id, staff = _shop(http, sessions)
    sign_in(page, live, staff)

    _draw(page, BOWTIE)
    page.locator('li.fence[data-fence="new"]').get_by_role("button", name="Save").click()

    on_shape = page.locator(".leaflet-tooltip.fence-error")
    expect(on_shape).to_contain_text("the polygon is not valid: Self-intersection")
    beside = page.locator('li.fence[data-fence="new"] .shape-error')
    expect(beside).to_have_text(on_shape.inner_text())
    screenshot(page, "store-map-refused")
    fences = http.get(f"/v1/stores/{store_id}/geofences", headers=auth(staff)).json()["features"]
    assert [f["properties"]["name"] for f in fences] == ["Door"]

    # Discarded; a circle drawn instead (centre, then a click on its edge) is accepted.
    page.locator('li.fence[data-fence="new"]').get_by_role("button", name="Discard").click()
    expect(on_shape).to_have_count(0)
    page.get_by_role("button", name="Draw a circle").click()
    x, y = _map_centre(page)
    page.mouse.click(x - 200, y + 100)
    page.mouse.click(x - 140, y + 100)
    page.locator('li.fence[data-fence="new"]').get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").first).to_have_text("“Circle 2” saved.")
    circle = _fence(http, store_id, staff, "Circle 2")
    assert circle["geometry"]["type"] == "Point"
    assert 15 < circle["properties"]["radius_m"] < 35  # 60 px at the map's zoom

    # Without a pointer: a circle placed at the centre, sized by its radius field.
    page.get_by_role("button", name="Circle at the map's centre").click()
    placed = page.locator('li.fence[data-fence="new"]')
    placed.get_by_label("Name").fill("Till")
    placed.get_by_label("Radius (metres)").fill("5")
    placed.get_by_label("Radius (metres)").press("Enter")
    expect(placed.get_by_label("Radius (metres)")).to_have_attribute("aria-invalid", "true")
    expect(placed.locator('[id$="-radius-error"]')).to_have_text(
        "radius_m must be between 10 and 5000 metres"
    )
    placed.get_by_label("Radius (metres)").fill("12")
    placed.get_by_label("Radius (metres)").press("Enter")
    expect(page.get_by_role("status").first).to_have_text("“Till” saved.")
    assert _fence(http, store_id, staff, "Till")["properties"]["radius_m"] == 12


def test_a_key_without_the_role_or_revoked_gets_a_clear_page(
    page: Page, live: str, http: httpx.Client, sessions: sessionmaker[Session]
) -> None:
    _, staff = _shop(http, sessions)
    page.set_viewport_size({"width": 360, "height": 740})
    sign_in(page, live, "vk_not-a-key")
    expect(page.locator("#api-key-error")).to_have_text("This key is unknown or has been revoked.")
    screenshot(page, "signin")
    page.get_by_label("Language").select_option("fr")
    expect(page.get_by_role("heading", name="Connexion")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    page.get_by_label("Langue").select_option("en")

    # A valid key the API refuses (403) for what the page asked: a store key calling an
    # operator's endpoint through the console's own client.
    sign_in(page, live, staff)
    expect(page.get_by_role("heading", name="Geofences")).to_be_visible()
    page.evaluate("import('/console/static/js/api.js').then((m) => { m.api('GET', '/v1/keys'); })")
    expect(page.get_by_role("heading", name="This key may not use this page")).to_be_visible()
    expect(page.locator(".stopped .detail")).to_have_text("this endpoint is for the operator")
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, live, staff)
    expect(page.get_by_role("heading", name="Geofences")).to_be_visible()
    # Nothing is wider than a 360 px phone screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    key_id = http.get("/v1/keys/me", headers=auth(staff)).json()["id"]
    with unit_of_work(sessions) as session:
        revoke_api_key(session, key_id=key_id)
    page.get_by_role("link", name="Offers").click()
    expect(page.get_by_role("heading", name="Your session has ended")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('vicinity.key')") is None
