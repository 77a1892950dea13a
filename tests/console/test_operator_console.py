"""The operator in the console, in a real browser: creates a store key (its secret shown
once), the store manager signs in with it in another browser, the operator revokes it, and
the manager's console session ends."""

from __future__ import annotations

from typing import cast

import httpx
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.orm import Session, sessionmaker

from kernel.principal import Role
from tests.console.conftest import screenshot, sign_in
from tests.factories import api_key, new_store


def test_an_operator_creates_then_revokes_a_key_and_its_session_ends(
    page: Page, browser: Browser, live: str, sessions: sessionmaker[Session]
) -> None:
    operator = api_key(sessions, Role.OPERATOR)
    with httpx.Client(base_url=live, timeout=10) as http:
        new_store(cast(TestClient, http), operator, "Maison Rivoli")
    sign_in(page, live, operator)
    expect(page.locator('dd[data-health="status"]')).to_have_text("ok")

    page.get_by_label("Who holds it").fill("Ana")
    page.get_by_role("checkbox", name="Maison Rivoli").check()
    page.get_by_role("button", name="Create the key").click()
    secret = page.locator("#new-secret").inner_text()
    assert secret.startswith("vk_")
    row = page.locator("tr", has_text="Ana")
    expect(row).to_contain_text("Maison Rivoli")
    screenshot(page, "operator-keys")

    manager = browser.new_context(viewport={"width": 1280, "height": 860})
    try:
        theirs = manager.new_page()
        sign_in(theirs, live, secret)
        expect(theirs.get_by_role("heading", name="Geofences")).to_be_visible()

        row.get_by_role("button", name="Revoke").click()
        expect(row).to_contain_text("revoked")
        theirs.get_by_role("link", name="Offers").click()
        expect(theirs.get_by_role("heading", name="Your session has ended")).to_be_visible()
        assert theirs.evaluate("sessionStorage.getItem('vicinity.key')") is None
    finally:
        manager.close()
