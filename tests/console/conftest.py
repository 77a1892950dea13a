"""The console in a real browser: Debian's Chromium driven by Playwright, against a real
uvicorn process of the app on the test database and Redis.

Chromium comes from the system (``scripts/test.sh`` installs the ``chromium`` package):
Playwright's own browser downloads are never used. The map gets no tiles
(``VICINITY_TILE_URL`` empty): shapes over a blank background, and no request leaves the
machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from kernel.config import Settings
from tests.e2e.servers import ROOT, free_port, wait_until

CHROMIUM = "/usr/bin/chromium"
# Where the tests leave screenshots of the main pages (the README shows them), when set.
SCREENSHOTS = os.environ.get("VICINITY_CONSOLE_SCREENSHOTS")


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture
def live(settings: Settings, tmp_path: Path) -> Iterator[str]:
    """The app served by uvicorn on a free port, on this test's clean database and Redis;
    its base URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VICINITY_")}
    env.update(
        VICINITY_DATABASE_URL=settings.database_url,
        VICINITY_REDIS_URL=settings.redis_url or "",
        VICINITY_VAR_DIR=str(tmp_path),
        VICINITY_FCM_URL=settings.fcm_url or "",
        VICINITY_FCM_PROJECT_ID=settings.fcm_project_id or "",
        VICINITY_FCM_HTTP_RETRIES="0",
        VICINITY_CELERY_EAGER="true",
        VICINITY_TILE_URL="",
        VICINITY_LOG_LEVEL="WARNING",
    )
    if settings.webhook_allow_private is not None:  # a test's webhook receiver on this machine
        env["VICINITY_WEBHOOK_ALLOW_PRIVATE"] = str(settings.webhook_allow_private).lower()
    log = tmp_path / "uvicorn.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "server.app:create_app", "--factory",
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: server.poll() is not None or _answers(f"{base}/health"), 30, "uvicorn")
        assert server.poll() is None, log.read_text()
        yield base
    finally:
        server.terminate()
        server.wait(10)


# Module scope: while Playwright's sync API runs, its event loop passes for the thread's
# running loop (asyncio.run() would refuse to start); it stops after each browser module.
@pytest.fixture(scope="module")
def _playwright() -> Iterator[Playwright]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: scripts/test.sh installs Debian's chromium package")
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="module")
def browser(_playwright: Playwright) -> Iterator[Browser]:
    chromium = _playwright.chromium.launch(
        executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
    )
    yield chromium
    chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh tab (its own session storage) that fails the test on a script error or a
    refusal by the Content-Security-Policy."""
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-GB")
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    tab.on(
        "console",
        lambda m: (
            problems.append(m.text)
            if m.type == "error" and "Content Security Policy" in m.text
            else None
        ),
    )
    yield tab
    # What the test saw; closing the tab aborts its requests in flight (a page's refresh),
    # and a fetch aborted by the closing is no error of the console's.
    seen = list(problems)
    context.close()
    assert seen == []


def sign_in(page: Page, live: str, key: str) -> None:
    page.goto(f"{live}/console")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()


def screenshot(page: Page, name: str) -> None:
    """``docs/console-<name>.png`` when screenshots are asked for."""
    if SCREENSHOTS:
        page.screenshot(path=str(Path(SCREENSHOTS) / f"console-{name}.png"))
