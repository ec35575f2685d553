"""The webhooks settings page in a real browser (issue 15, SPEC section 8), as the demo seller
Northwind: an address the portal may not send to is refused with a sentence naming the field,
an endpoint is added and its secret shown once, and its delivery log lists a test event the
receiver did not answer. Screenshots land in var/screenshots/ (webhooks-*.png)."""

from __future__ import annotations

import re

import pytest

from tests.browser.support import playwright_sync_api
from tests.browser.test_glance import DESKTOP, open_page, shot
from tests.browser.test_seller_journey import assert_styled, login
from webhooks.models import WebhookEndpoint

expect = playwright_sync_api().expect

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_seller_adds_a_webhook_sees_its_secret_once_and_reads_its_delivery_log(browser, live_server, demo, settings):
    page = open_page(browser, live_server, DESKTOP)
    login(page, "northwind")
    page.goto("/settings/webhooks/")
    expect(page.get_by_role("heading", name="Webhooks")).to_be_visible()
    expect(page.get_by_text("No endpoints yet.")).to_be_visible()
    assert_styled(page)

    # The portal never sends to its own machine unless told to: refused, nothing saved.
    page.get_by_label("Endpoint URL").fill("https://127.0.0.1/prime")
    page.get_by_role("button", name="Add endpoint").click()
    expect(page.get_by_text(re.compile(r"127\.0\.0\.1 is a private, loopback, link-local"))).to_be_visible()
    assert not WebhookEndpoint.objects.exists()
    shot(page, "webhooks-refused")

    # With WEBHOOKS_ALLOW_PRIVATE (a test receiver on this machine) it is added, and its
    # secret is shown this once.
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    page.get_by_label("Endpoint URL").fill("http://127.0.0.1:9/prime")
    page.get_by_role("button", name="Add endpoint").click()
    secret = page.get_by_label("Signing secret")
    expect(secret).to_have_text(re.compile(r"^whsec_[A-Za-z0-9+/=]{32,}$"))
    expect(page.get_by_role("button", name="Copy")).to_be_visible()
    shot(page, "webhooks-secret")
    page.goto("/settings/webhooks/")
    expect(page.get_by_label("Signing secret")).to_have_count(0)
    assert WebhookEndpoint.objects.count() == 1
    expect(page.get_by_text("http://127.0.0.1:9/prime", exact=True)).to_be_visible()

    # The delivery log: a test event nobody answered (port 9 is closed).
    page.get_by_role("link", name="Delivery log").click()
    expect(page.get_by_text("Nothing has been sent to this endpoint yet.")).to_be_visible()
    page.get_by_role("button", name="Send test event").click()
    expect(page.locator("table tbody tr")).to_have_count(1)
    expect(page.get_by_text("No answer")).to_be_visible()
    assert_styled(page)
    shot(page, "webhooks-log")
    page.context.close()
