"""The store page's other views in a real browser: the catalogue's CSV import with its
per-line report, an NFC tag, the geofences' GeoJSON upload (a bad feature named, nothing
imported; then a good file) and download; a webhook (its secret shown once) whose failing
delivery dies, is listed and replayed, fed by an offer code redeemed at the till."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from events.delivery import attempt
from events.models import WebhookDelivery
from kernel.config import Settings
from kernel.db import unit_of_work
from kernel.principal import Role
from tests.console.conftest import screenshot, sign_in
from tests.e2e.servers import wait_until
from tests.events.receiver import Receiver
from tests.factories import PARIS, api_key, auth, feature, new_store, offset, square
from tests.redemptions.factories import offer_code, till

BAD_CSV = "sku,name,price,currency\nBOOT-42,Boots,59.90,EUR\nSOCK-7,Socks,cheap,EUR\n"
GOOD_CSV = "sku,name,price,currency\nBOOT-42,Boots,59.90,EUR\nSOCK-7,Socks,4.50,EUR\n"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The webhook receiver is on this machine (the live server reads this too).
    return settings.model_copy(update={"webhook_allow_private": True})


@pytest.fixture
def http(live: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live, timeout=10) as client:
        yield client


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def _upload(page: Page, label: str, name: str, content: str, button: str) -> None:
    page.get_by_label(label, exact=True).set_input_files(
        {"name": name, "mimeType": "text/plain", "buffer": content.encode()}
    )
    page.get_by_role("button", name=button, exact=True).click()


def _collection(*features: dict[str, Any]) -> str:
    return json.dumps({"type": "FeatureCollection", "features": list(features)})


def _bowtie(lon: float, lat: float) -> dict[str, Any]:
    ring = [offset(lon, lat, e, n) for e, n in ((0, 0), (40, 40), (40, 0), (0, 40), (0, 0))]
    return {"type": "Polygon", "coordinates": [[list(c) for c in ring]]}


def test_catalogue_csv_nfc_tag_and_geojson_files(
    page: Page, live: str, http: httpx.Client, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    store_id = new_store(cast(TestClient, http), api_key(sessions, Role.OPERATOR), "Maison")
    staff = api_key(sessions, Role.STORE, [store_id])
    sign_in(page, live, staff)
    expect(page.get_by_role("heading", name="Geofences")).to_be_visible()

    # GeoJSON: a self-crossing feature is named with its index, and nothing is imported.
    door = feature(square(*PARIS, 60), external_id="door", name="Door")
    street = feature(square(*offset(*PARIS, 80, 0), 40), external_id="street", name="Street")
    crossed = feature(_bowtie(*PARIS), external_id="crossed", name="Crossed")
    _upload(page, "GeoJSON FeatureCollection", "bad.geojson", _collection(door, crossed), "Import")
    refused = page.get_by_role("list", name="Features refused")
    expect(refused).to_contain_text("Feature 1 (crossed)")
    expect(page.locator("#geojson-file-error")).to_contain_text("nothing was imported")
    listed = http.get(f"/v1/stores/{store_id}/geofences", headers=auth(staff)).json()
    assert listed["features"] == []
    _upload(page, "GeoJSON FeatureCollection", "good.geojson", _collection(door, street), "Import")
    expect(page.locator(".geojson [role=status]")).to_have_text(
        "Imported: 2 created, 0 updated, 0 unchanged."
    )
    expect(page.locator("li.fence")).to_have_count(2)  # the map drawn afresh
    with page.expect_download() as download:
        page.get_by_role("button", name="Download all as GeoJSON").click()
    saved = tmp_path / "export.geojson"
    download.value.save_as(saved)
    exported = json.loads(saved.read_text())
    assert sorted(f["properties"]["external_id"] for f in exported["features"]) == [
        "door",
        "street",
    ]

    # CSV: the bad line is reported with its line number, the good one imported.
    page.get_by_role("link", name="Catalogue").click()
    expect(page.get_by_text("No item yet")).to_be_visible()
    _upload(page, "CSV file", "items.csv", BAD_CSV, "Import")
    report = page.locator(".import-report")
    expect(report).to_contain_text("1 created, 0 updated, 0 unchanged.")
    expect(report.get_by_role("row", name="3 SOCK-7")).to_contain_text("price")
    screenshot(page, "store-catalogue")
    _upload(page, "CSV file", "items.csv", GOOD_CSV, "Import")
    expect(report).to_contain_text("1 created, 0 updated, 1 unchanged.")
    expect(report.get_by_role("table")).to_have_count(0)
    expect(page.locator("tr[data-item]")).to_have_count(2)
    expect(page.locator('tr[data-item="SOCK-7"]')).to_contain_text("4.50 EUR")

    # An item by hand: the price checked here, the image by the API, each beside its field.
    page.get_by_role("button", name="New item").click()
    page.get_by_label("SKU", exact=True).fill("HAT-1")
    page.get_by_label("Name", exact=True).fill("Hat")
    page.get_by_label("Price", exact=True).fill("12.345")
    page.get_by_label("Image (optional)").fill("http://cdn.example.com/hat.jpg")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#item-price-error")).to_contain_text("at most 2 decimals")
    page.get_by_label("Price", exact=True).fill("12.50")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#item-image-error")).to_contain_text("https://")
    expect(page.locator("#item-price-error")).to_be_empty()
    page.get_by_label("Image (optional)").fill("")
    page.get_by_role("button", name="Save").click()
    expect(page.locator('tr[data-item="HAT-1"]')).to_contain_text("12.50 EUR")
    page.get_by_role("button", name="Delete “Hat”").click()
    expect(page.locator('tr[data-item="HAT-1"]')).to_have_count(0)

    # NFC: a bad UID is refused beside its field, a good one registered.
    page.get_by_role("link", name="NFC tags").click()
    page.get_by_label("Tag UID").fill("04:A2")
    page.get_by_label("Where it is").fill("counter")
    page.get_by_role("button", name="Register").click()
    expect(page.locator("#nfc-uid-error")).not_to_be_empty()
    page.get_by_label("Tag UID").fill("04:A2:2B:1C:5D:80:4D")
    page.get_by_role("button", name="Register").click()
    expect(page.locator("#nfc-title ~ [role=status]")).to_have_text("Tag “counter” registered.")
    expect(page.locator("li[data-tag]")).to_contain_text("04A22B1C5D804D")


def _delivery(sessions: sessionmaker[Session]) -> WebhookDelivery | None:
    with unit_of_work(sessions) as session:
        found = session.scalars(select(WebhookDelivery)).one_or_none()
        session.expunge_all()
    return found


def _kill(sessions: sessionmaker[Session], delivery: WebhookDelivery) -> None:
    """Retries at each next try, as the beat sweep would make them, until the delivery dies."""
    now = delivery.next_attempt_at
    with httpx.Client() as client:
        for _ in range(100):
            with unit_of_work(sessions) as session:
                done = attempt(session, delivery_id=delivery.id, client=client, now=now)
            if done.status == "dead":
                return
            assert done.retry_in_s is not None
            now += timedelta(seconds=done.retry_in_s)
    pytest.fail("the delivery never died")


def test_webhook_secret_once_dead_letter_replayed_and_the_till(
    page: Page,
    live: str,
    http: httpx.Client,
    sessions: sessionmaker[Session],
    settings: Settings,
    receiver: Receiver,
) -> None:
    shop = till(cast(TestClient, http), sessions, settings, name="Maison")
    item = {"sku": "BOOT-42", "name": "Boots", "price_minor": 5990, "currency": "EUR"}
    r = http.post(f"/v1/stores/{shop.store_id}/items", json=item, headers=auth(shop.staff))
    assert r.status_code == 201, r.text
    code = offer_code(sessions, shop)
    sign_in(page, live, shop.staff)
    page.get_by_role("link", name="Webhooks").click()
    page.get_by_label("Endpoint URL").fill(receiver.url)
    page.get_by_role("checkbox", name="offer.redeemed").check()
    page.get_by_role("button", name="Subscribe").click()
    secret = page.locator(".secret code")
    expect(secret).to_have_text(re.compile(r"^whsec_"))
    page.get_by_role("button", name="I have copied it").click()
    expect(secret).to_have_count(0)
    expect(page.locator("li.hook")).to_contain_text(receiver.url)

    # At the till: the code is redeemed once; again, the refusal is beside the field.
    receiver.always = 500
    page.get_by_role("link", name="Till").click()
    page.get_by_label("Offer code", exact=True).fill(code.lower())
    page.get_by_role("button", name="Redeem", exact=True).click()
    expect(page.locator("#redeem-title ~ .answer")).to_contain_text(f"{code} redeemed")
    page.get_by_label("Offer code", exact=True).fill(code)
    page.get_by_role("button", name="Redeem", exact=True).click()
    expect(page.locator("#redeem-code-error")).to_contain_text("already redeemed")
    page.locator("#lookup-id").fill("till-1")
    page.get_by_role("button", name="Find").click()
    expect(page.locator("#lookup-id-error")).to_contain_text("no purchase 'till-1'")
    # The purchase made with that code: an item not in the catalogue is the items' problem.
    page.get_by_label("Code or purchase token").fill(code)
    page.locator("#purchase-id").fill("till-1")
    page.get_by_label("Amount").fill("59.90")
    page.get_by_label("Items (SKUs)").fill("NOPE-1")
    page.get_by_role("button", name="Record").click()
    expect(page.locator("#purchase-items-error")).to_contain_text("in its catalogue")
    page.get_by_label("Items (SKUs)").fill("BOOT-42")
    page.get_by_role("button", name="Record").click()
    expect(page.locator("#purchase-items-error")).to_be_empty()
    expect(page.locator('dl[data-purchase="till-1"]')).to_contain_text("59.90 EUR")
    page.get_by_role("button", name="Refund").click()
    expect(page.locator("#purchase-title ~ .answer")).to_have_text("Purchase till-1 refunded.")
    page.get_by_role("button", name="Find").click()
    expect(page.locator("#lookup-title ~ dl")).to_contain_text("Refunded")

    # The redemption's event failed its first delivery; it dies after a day of retries.
    wait_until(lambda: (d := _delivery(sessions)) is not None and d.attempts >= 1, 10, "a try")
    first = _delivery(sessions)
    assert first is not None
    assert first.last_error == "HTTP 500"
    _kill(sessions, first)
    page.get_by_role("link", name="Webhooks").click()
    letter = page.locator(f'tr[data-letter="{first.id}"]')
    expect(letter).to_contain_text("HTTP 500")
    screenshot(page, "store-webhooks")

    receiver.always = None
    tried = len(receiver.received)
    letter.get_by_role("button", name="Replay").click()
    expect(page.get_by_text("No failed delivery.")).to_be_visible()
    expect(page.locator(".dead-letters .status")).to_have_text(
        f"Event #{first.event_id} sent again."
    )
    wait_until(lambda: len(receiver.received) == tried + 1, 10, "the replayed delivery")
    replayed = _delivery(sessions)
    assert replayed is not None
    assert replayed.status == "delivered"
    # The delivery log shows it delivered.
    page.get_by_role("button", name="Show").click()
    expect(page.locator(f'tr[data-delivery="{first.id}"]')).to_contain_text("delivered")
