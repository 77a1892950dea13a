"""A shopper's own data in the console, in a real browser: they sign in with their user
token, see what they agreed to and the push a first walk earned (with its "why"), withdraw
location consent on the page, and their next walk through the JSON API gets no push. The
export downloads as a JSON file; erasure asks once more, then the token stops working."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import httpx
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session, sessionmaker

from kernel.config import Settings
from tests.console.conftest import screenshot, sign_in
from tests.factories import auth, clock, new_shopper, open_shop, visit
from tests.fcm_standin import FcmStandIn


@pytest.fixture
def http(live: str) -> Iterator[TestClient]:
    # The factories use only httpx.Client's methods.
    with httpx.Client(base_url=live, timeout=10) as client:
        yield cast(TestClient, client)


def test_a_shopper_withdraws_location_consent_and_the_next_walk_gets_nothing(
    page: Page,
    live: str,
    http: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    fcm_standin: FcmStandIn,
) -> None:
    first = open_shop(http, sessions, name="Maison Rivoli", east_m=0.0, segments=["fashion"])
    second = open_shop(http, sessions, name="Atelier Marais", east_m=500.0, segments=["fashion"])
    token = new_shopper(http, settings, interests=["fashion"], device="phone")
    times = clock(start_s_ago=600.0, step_s=300.0)  # 500 m in 5 minutes: a walk
    assert len(visit(http, token, first, next(times))["notifications"]) == 1
    fcm_standin.wait_for(1, timeout=10)

    sign_in(page, live, token)
    expect(page.get_by_role("heading", name="Your data at Vicinity")).to_be_visible()
    location = page.get_by_role("checkbox", name="use where you are to send you offers")
    expect(location).to_be_checked()
    consent = page.locator('[data-purpose="location_offers"] .consent-state')
    expect(consent).to_have_text(f"Agreed under policy {settings.policy_version}.")
    note = page.locator("li.note")
    expect(note.locator("h3")).to_have_text("-20% today")
    expect(note.locator(".why")).to_contain_text("you entered Maison Rivoli")
    expect(page.get_by_role("checkbox", name="Fashion", exact=True)).to_be_checked()
    page.set_viewport_size({"width": 1280, "height": 2200})  # the README shows it whole
    screenshot(page, "shopper")
    page.set_viewport_size({"width": 1280, "height": 860})

    location.uncheck()
    page.get_by_role("button", name="Save my choices").click()
    expect(page.locator("#me-consent [role=status]")).to_have_text(
        "Saved. Your choices apply from now on."
    )
    expect(consent).to_have_text("Not agreed: nothing is done for this.")
    states = http.get("/v1/me/consent", headers=auth(token)).json()["purposes"]
    assert {s["purpose"]: s["granted"] for s in states}["location_offers"] is False

    # The next walk, into the other store's fence: no push is chosen, none is sent.
    assert visit(http, token, second, next(times))["notifications"] == []
    inbox = http.get("/v1/me/notifications", headers=auth(token)).json()["items"]
    assert [n["store_id"] for n in inbox] == [first.store_id]
    assert len(fcm_standin.messages) == 1

    with page.expect_download() as download:
        page.get_by_role("button", name="Download my data (JSON)").click()
    assert download.value.suggested_filename.startswith("vicinity-my-data-")
    exported = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    rows = [row for table in exported["tables"].values() for row in table]
    assert any(
        row.get("purpose") == "location_offers" and row.get("granted") is False for row in rows
    )

    # 360 px wide, and in French.
    page.set_viewport_size({"width": 360, "height": 740})
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.get_by_label("Language").select_option("fr")
    expect(page.get_by_role("heading", name="Vos données chez Vicinity")).to_be_visible()
    page.get_by_label("Langue").select_option("en")


def test_erasure_asks_once_more_then_the_token_stops_working(
    page: Page, live: str, http: TestClient, settings: Settings
) -> None:
    token = new_shopper(http, settings, interests=[], device=None)
    sign_in(page, live, token)
    expect(page.get_by_text("No push has been chosen for you.")).to_be_visible()
    page.get_by_role("button", name="Erase my data…").click()
    sure = page.get_by_label("I understand this cannot be undone.")
    expect(sure).to_be_focused()  # the question replaced the button: the focus follows
    page.get_by_role("button", name="Erase everything now").click()
    expect(page.locator("#erase-error")).to_have_text("Tick the box to confirm.")
    assert http.get("/v1/me/consent", headers=auth(token)).status_code == 200

    sure.check()
    page.get_by_role("button", name="Erase everything now").click()
    expect(page.locator(".notice")).to_have_text(
        "Your data has been erased and this token no longer works."
    )
    expect(page.get_by_label("API key")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('vicinity.key')") is None
    assert http.get("/v1/me/consent", headers=auth(token)).status_code == 401
