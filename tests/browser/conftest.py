"""Real-browser tests: Debian's Chromium, driven by Playwright, against pytest-django's live_server.

They need Debian's Chromium (/usr/bin/chromium), the playwright package from
requirements-dev.txt and the vendored Bootstrap (`make vendor`, which `make test` runs).
Outside CI a test that lacks one skips and says how to install it; under CI=true it fails.
"""

from __future__ import annotations

import io
import os

import pytest
from django.core.management import call_command

from tests.browser.support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    INSTALL_BOOTSTRAP,
    INSTALL_CHROMIUM,
    TIMEOUT_MS,
    VIEWPORT,
    bootstrap_vendored,
    playwright_sync_api,
    prerequisite_missing,
)


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the whole module."""
    if not CHROMIUM.exists():
        prerequisite_missing(INSTALL_CHROMIUM)
    sync_api = playwright_sync_api()
    if not bootstrap_vendored():
        prerequisite_missing(INSTALL_BOOTSTRAP)

    # Playwright's sync API keeps an asyncio loop in this thread, so Django's guard would
    # refuse the ORM calls the tests and their database teardown make here. Only while
    # this module runs; the live server's own thread has no loop and is checked as usual.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_api.sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            try:
                yield chromium
            finally:
                chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser, live_server):
    """A fresh browser context (no cookies) on the live server, in English.

    ``page.broken`` lists every request that failed or answered 4xx/5xx, so a test can
    tell that a page's stylesheets and scripts really loaded.
    """
    context = browser.new_context(base_url=live_server.url, viewport=VIEWPORT, locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.broken = []
    page.on("requestfailed", lambda request: page.broken.append(f"{request.url} ({request.failure})"))
    page.on(
        "response",
        lambda response: response.status >= 400 and page.broken.append(f"{response.url} ({response.status})"),
    )
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def demo(transactional_db):
    """The seed_demo data, committed so the live server's thread sees it.

    Function-scoped: transactional_db empties the database after each test, so a test
    walks a whole journey rather than sharing the demo with the next one.
    """
    call_command("seed_demo", stdout=io.StringIO(), stderr=io.StringIO())
