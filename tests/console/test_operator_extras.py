"""The operator's other views in a real browser: a webhook delivery that failed for a day
is listed as a dead letter and replayed once its receiver is fixed; a segment is added to
the taxonomy (a bad identifier refused beside its field), relabelled, and a segment in use
cannot be deleted; a new policy version is published, and the consent it changes is no
longer in force."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import cast

import httpx
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from events.delivery import attempt, sweep
from events.models import WebhookDelivery
from kernel.config import Settings
from kernel.db import unit_of_work
from kernel.principal import Role
from tests.console.conftest import screenshot, sign_in
from tests.events.receiver import Receiver
from tests.factories import api_key, auth, clock, new_shopper, open_shop, visit


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The webhook's receiver runs on this machine."""
    return settings.model_copy(update={"webhook_allow_private": True})


@pytest.fixture
def http(live: str) -> Iterator[TestClient]:
    # The factories use only httpx.Client's methods.
    with httpx.Client(base_url=live, timeout=10) as client:
        yield cast(TestClient, client)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def _kill(sessions: sessionmaker[Session], delivery_id: int) -> None:
    """Drives the delivery's retries, each at its due time, until it is a dead letter."""
    with unit_of_work(sessions) as session:
        now = session.get_one(WebhookDelivery, delivery_id).next_attempt_at
    with httpx.Client() as client:
        for _ in range(1000):
            with unit_of_work(sessions) as session:
                sweep(session, now=now, grace_s=0.0, enqueue=lambda _id: None)
            with unit_of_work(sessions) as session:
                done = attempt(session, delivery_id=delivery_id, client=client, now=now)
            if done.status == "dead":
                return
            assert done.retry_in_s is not None
            now += timedelta(seconds=done.retry_in_s)
    raise AssertionError("the delivery never died")


def test_an_operator_replays_a_dead_letter_edits_the_taxonomy_and_publishes_a_policy(
    page: Page,
    live: str,
    http: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    receiver: Receiver,
) -> None:
    operator = api_key(sessions, Role.OPERATOR)
    shop = open_shop(http, sessions, name="Maison Rivoli", east_m=0.0, segments=["fashion"])
    hook = http.post(
        "/v1/webhooks",
        json={"url": receiver.url, "events": ["user.entered_geofence"]},
        headers=auth(operator),
    )
    assert hook.status_code == 201, hook.text
    receiver.always = 500
    shopper = new_shopper(http, settings, interests=["fashion"])
    visit(http, shopper, shop, next(clock()))
    with unit_of_work(sessions) as session:
        [delivery_id] = session.scalars(select(WebhookDelivery.id)).all()
    _kill(sessions, delivery_id)
    failed = len(receiver.received)

    sign_in(page, live, operator)
    page.get_by_role("link", name="Deliveries").click()
    letter = page.locator(f'tr[data-delivery="{delivery_id}"]')
    expect(letter).to_contain_text("HTTP 500")
    receiver.always = None
    letter.get_by_role("button", name="Replay").click()
    expect(page.get_by_role("status").first).to_have_text(
        f"Delivery {delivery_id} replayed: the receiver took it."
    )
    expect(letter).to_have_count(0)
    assert len(receiver.received) == failed + 1

    page.get_by_role("link", name="Interests").click()
    page.get_by_label("Identifier").fill("Sneakers!")
    page.get_by_label("Under").select_option(label="· Shoes")
    page.get_by_label("English label").fill("Sneakers")
    page.get_by_label("French label").fill("Baskets")
    page.get_by_role("button", name="Add the interest").click()
    expect(page.get_by_label("Identifier")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#seg-slug-error")).not_to_be_empty()
    page.get_by_label("Identifier").fill("sneakers")
    page.get_by_role("button", name="Add the interest").click()
    expect(page.get_by_role("status")).to_have_text("“Sneakers” added.")
    added = {s["slug"]: s for s in http.get("/v1/segments").json()}["sneakers"]
    assert (added["parent"], added["label_fr"]) == ("shoes", "Baskets")

    page.get_by_role("button", name="Edit Sneakers").click()
    expect(page.locator("#edit-label-en")).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type("Trainers")
    page.get_by_role("button", name="Save").click()
    expect(page.locator('tr[data-segment="sneakers"] th')).to_have_text("Trainers")
    page.get_by_role("button", name="Delete Fashion").click()
    expect(page.locator("#seg-fashion-error")).to_contain_text("child segments")
    screenshot(page, "operator-taxonomy")

    page.get_by_role("link", name="Privacy policy").click()
    page.get_by_role("textbox", name="Version").fill("2027-01")
    page.get_by_role("textbox", name="Summary").fill("Offers also use opening hours.")
    page.get_by_role("textbox", name="Full text").fill("Vicinity uses where you are…")
    page.get_by_role("checkbox", name="offers where the shopper is").check()
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_role("status")).to_have_text(
        "Version 2027-01 published: it is in force now."
    )
    expect(page.locator('li[data-policy="2027-01"]')).to_contain_text("offers where the shopper is")
    assert http.get("/v1/policies/current").json()["version"] == "2027-01"
    consent = http.get("/v1/me/consent", headers=auth(shopper)).json()["purposes"]
    assert {c["purpose"]: c["in_force"] for c in consent}["location_offers"] is False

    # Each view fits a 360 px phone screen (wide tables scroll inside their box).
    page.set_viewport_size({"width": 360, "height": 740})
    for view in ("Privacy policy", "Interests", "Deliveries"):
        page.get_by_role("link", name=view).click()
        expect(page.get_by_role("link", name=view)).to_have_attribute("aria-current", "page")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, view
