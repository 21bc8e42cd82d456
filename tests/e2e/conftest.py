"""Browser tests: a real uvicorn server on a free local port, driven by Debian's headless Chromium.

Run them with ``.venv/bin/pytest -q tests/e2e`` (on SQLite and PostgreSQL, like every database test).
Without ``/usr/bin/chromium`` they are skipped, unless ``CI=true``, which makes them mandatory.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright
from sqlalchemy import Engine

from tests.e2e.shop_site import ShopSite
from tests.live_server import LiveServer
from xuyen.config import Settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# How long a browser action or an expectation waits before failing. The machines that run the suite are shared
# and busy; a page that answers in 0.1 s alone has been seen to take over 5 s (Playwright's own default) there.
BROWSER_WAIT_MS = 15_000
expect.set_options(timeout=BROWSER_WAIT_MS)
MISSING_CHROMIUM = "CI=true makes the browser tests mandatory; install Debian's chromium (apt-get install chromium)."


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing. {MISSING_CHROMIUM}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    _require_chromium()
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def chromium(playwright_driver: Playwright) -> Iterator[Browser]:
    """Debian's Chromium, headless, shared by the browser tests of this run."""
    browser = playwright_driver.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def live_server(settings: Settings, engine: Engine) -> Iterator[str]:
    """The base URL of a real server running the app against this test's migrated database."""
    _require_chromium()
    server = LiveServer(settings, engine)
    server.start()
    yield server.url
    server.stop()


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    """A fresh browser tab with its own cookies, speaking Vietnamese like most of our users."""
    context = chromium.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh",
                                   viewport={"width": 1280, "height": 860})
    context.set_default_timeout(BROWSER_WAIT_MS)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def shop() -> Iterator[ShopSite]:
    """A shop's own website on another origin, to embed our scripts in (see ``shop_site``)."""
    site = ShopSite()
    site.start()
    yield site
    site.stop()
