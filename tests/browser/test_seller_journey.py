"""A demo seller's journey through the portal in a real browser (headless Chromium).

One test walks the whole journey on the seed_demo data, saving full-page screenshots to
var/screenshots/ for a person to look at. Later steps (the 7/30-day window, the defect
CSV, a Friday cutoff refused) go in as their pages land, with the helpers below.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from sellers.demo import DEMO_PASSWORD
from tests.browser.support import SCREENSHOTS, VIEWPORT, playwright_sync_api

if TYPE_CHECKING:
    from playwright.sync_api import Page

expect = playwright_sync_api().expect

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Bootstrap 5's root custom property for its primary blue: only there once its CSS applied.
BOOTSTRAP_BLUE = "#0d6efd"


def login(page: Page, username: str, password: str = DEMO_PASSWORD) -> None:
    """Log in through the login form, as a person would, and wait for the page it leads to."""
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()


def assert_styled(page: Page) -> None:
    """Every request the page made answered, and Bootstrap's CSS is in force."""
    page.wait_for_load_state("load")
    assert page.broken == [], f"requests that failed on {page.url}: {page.broken}"
    blue = page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--bs-blue').trim()")
    assert blue == BOOTSTRAP_BLUE, f"Bootstrap's CSS is not applied on {page.url} (--bs-blue is {blue!r})"


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as var/screenshots/NAME.png and check it is a real picture."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    path.unlink(missing_ok=True)
    page.screenshot(path=path, full_page=True)
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    # The IHDR chunk comes first: its width and height follow the signature, length and type.
    width, height = struct.unpack(">II", data[16:24])
    assert width == VIEWPORT["width"] and height >= 300, f"{path} is {width}x{height}"
    assert len(data) > 10_000, f"{path} is only {len(data)} bytes: a blank page?"
    return path


def test_failing_seller_logs_in_and_sees_they_are_not_eligible(page, demo):
    login(page, "blueridge")

    expect(page).to_have_url(re.compile(r"/performance/$"))
    body = page.locator("body")
    expect(body).to_contain_text("BLUERIDGE02")
    expect(body).to_contain_text(re.compile(r"not eligible", re.IGNORECASE))
    assert_styled(page)
    screenshot(page, "dashboard")
