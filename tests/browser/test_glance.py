"""The dashboard's first screen in a real browser (issue 15, SPEC section 8), on the seed_demo
data: an at-risk seller sees the amber verdict, the tightest headroom and the seven-metric
table without scrolling at 1366x900, and within two screens on a 390x844 phone; a revoked
seller that has since fixed its settings sees its revocation reasons as a checklist, the
fixed ones marked "Fixed now", each with the page that fixes it. Screenshots land in
var/screenshots/ (glance-*.png)."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING

import pytest

from sellers.models import Seller
from sellers.selectors import seller_operating_days
from sellers.services import fulfilment_update
from tests.browser.support import SCREENSHOTS, TIMEOUT_MS, playwright_sync_api
from tests.browser.test_seller_journey import assert_styled, login

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

expect = playwright_sync_api().expect

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


def open_page(browser: Browser, live_server, viewport: dict) -> Page:
    context = browser.new_context(base_url=live_server.url, viewport=viewport, locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.broken = []
    page.on("requestfailed", lambda request: page.broken.append(f"{request.url} ({request.failure})"))
    page.on("response", lambda r: r.status >= 400 and page.broken.append(f"{r.url} ({r.status})"))
    return page


def bottom(page: Page, selector: str) -> float:
    """How far from the top of the page (not scrolled) the element's bottom edge is, in CSS pixels."""
    return page.locator(selector).first.evaluate("element => element.getBoundingClientRect().bottom + window.scrollY")


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png")


def test_at_risk_first_screen_on_desktop_and_phone_and_the_checklist_after_a_fix(browser, live_server, demo):
    # Northwind: eligible, close to its thresholds.
    page = open_page(browser, live_server, DESKTOP)
    login(page, "northwind")
    expect(page).to_have_url(re.compile(r"/performance/$"))
    verdict = page.get_by_role("status").filter(has_text="Eligible for Prime, but at risk")
    expect(verdict).to_be_visible()
    expect(verdict).to_have_class(re.compile(r"\balert-warning\b"))
    expect(verdict.locator(".portal-tightest")).to_contain_text(
        re.compile(r"^Closest to its threshold: \d+ more .+ window and you lose Prime\.$")
    )
    rows = page.locator(".portal-glance-row")
    expect(rows).to_have_count(7)
    expect(page.locator('.portal-glance-row[data-state="at_risk"] .badge.text-bg-warning').first).to_be_visible()
    # The verdict, the tightest headroom and the whole table without scrolling.
    assert bottom(page, ".portal-glance-table") <= DESKTOP["height"]
    assert_styled(page)
    shot(page, "glance-at-risk-1366x900")
    # The window switch still switches the cards below the table.
    page.get_by_role("navigation", name="Window").get_by_role("link", name="7 days", exact=True).click()
    expect(page.get_by_role("heading", name="Performance over the last 7 days")).to_be_visible()
    page.context.close()

    # The same on a phone: the verdict and the table within two screens.
    phone = open_page(browser, live_server, PHONE)
    login(phone, "northwind")
    expect(phone.get_by_role("status").filter(has_text="at risk")).to_be_visible()
    assert bottom(phone, ".portal-glance-table") <= 2 * PHONE["height"]
    phone.screenshot(path=SCREENSHOTS / "glance-at-risk-phone.png", full_page=True)
    phone.context.close()

    # Lakeside, revoked for its 12:00 Friday cutoff and no weekend operations, fixes both.
    lakeside = Seller.objects.get(merchant_token="LAKESIDE04")
    days = {day: (o.operated, o.cutoff) for day, o in seller_operating_days(seller=lakeside).items()}
    days[4], days[5] = (True, dt.time(15, 0)), (True, dt.time(11, 0))
    fulfilment_update(seller=lakeside, actor=None, days=days, weekend_delivery=lakeside.weekend_delivery)
    page = open_page(browser, live_server, DESKTOP)
    login(page, "lakeside")
    banner = page.get_by_role("alert").filter(has_text="Not eligible for Prime")
    items = banner.locator(".portal-checklist-item")
    expect(items.filter(has_text="Weekday cutoff")).to_contain_text("Fixed now")
    expect(items.filter(has_text="Weekend operations")).to_contain_text("Fixed now")
    expect(banner.get_by_text("Still failing")).to_have_count(0)
    expect(items.first.get_by_role("link", name="Open the setting")).to_have_attribute("href", "/settings/fulfilment/")
    expect(banner.get_by_role("link", name="Create POA", exact=True)).to_be_visible()
    assert_styled(page)
    shot(page, "glance-checklist-after-fix")
    page.context.close()
