"""A revoked seller reports an incident from the dashboard in a real browser (issue 16, SPEC
section 7), on the seed_demo data: blueridge, revoked for late shipments, follows "Not your
fault? Report an incident" from the status banner, names the carrier service and the last
seven days, previews the defect orders the incident would cover and what an approval would
change, picks two of them, reports it and lands on the incident's page. Screenshots:
var/screenshots/incident_report.png (the preview, orders picked) and
incident_report_done.png (the incident's page)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from metrics.models import Incident
from metrics.selectors import seller_latest_day
from sellers.models import Seller
from tests.browser.support import playwright_sync_api
from tests.browser.test_seller_journey import assert_styled, click_and_load, login, screenshot

expect = playwright_sync_api().expect

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

MERCHANT_TOKEN = "BLUERIDGE02"
# blueridge's carrier service with the late shipments (seed_demo).
CARRIER = "FedEx Priority Overnight"
DESCRIPTION = (
    "FedEx Priority Overnight missed its pickups at our warehouse for days: the driver's route was cut, "
    "so parcels were first scanned a day or two late."
)


def test_a_revoked_seller_reports_an_incident_from_the_dashboard(page, demo):
    seller = Seller.objects.get(merchant_token=MERCHANT_TOKEN)
    day = seller_latest_day(seller=seller)
    assert day is not None
    login(page, "blueridge")
    expect(page).to_have_url(re.compile(r"/performance/$"))

    # The banner of a revoked seller offers it beside Create POA.
    banner = page.get_by_role("alert").filter(has_text="Not eligible for Prime")
    click_and_load(page, banner.get_by_role("link", name="Not your fault? Report an incident"))
    expect(page).to_have_url(re.compile(r"/performance/incidents/new/\?metric=on_time_shipment_rate&window=\d+$"))
    expect(page.locator(".portal-came-from")).to_contain_text("You came from On-time shipment rate")
    expect(page.get_by_label("Carrier breakdown or delay")).to_be_checked()
    expect(page.get_by_role("button", name="Report incident")).to_have_count(0)
    assert_styled(page)

    # Step 1: what happened, then Preview.
    page.get_by_label("Carrier service").select_option(CARRIER)
    page.get_by_label("First day").fill((day - dt.timedelta(days=6)).isoformat())
    page.get_by_label("Last day").fill(day.isoformat())
    page.get_by_label("What happened").fill(DESCRIPTION)
    click_and_load(page, page.get_by_role("button", name="Preview", exact=True))

    # Step 2: the defect orders it would cover, and what an approval would change.
    orders = page.locator(".portal-incident-order")
    expect(orders.first).to_be_visible()
    assert orders.count() >= 2
    expect(page.locator(".portal-incident-order .portal-flag").first).to_be_visible()
    shipment = page.locator('.portal-effect-row[data-metric="on_time_shipment_rate"][data-window="7"]')
    expect(shipment.locator(".portal-effect-units")).not_to_have_text("0")
    expect(shipment.locator(".portal-effect-status")).to_contain_text("Passing")
    assert Incident.objects.count() == 0  # nothing is sent by a preview
    picked = [orders.nth(index).get_attribute("data-order") for index in (0, 1)]
    for order_id in picked:
        page.get_by_label(f"Pick order {order_id}").check()
    screenshot(page, "incident_report")

    click_and_load(page, page.get_by_role("button", name="Report incident"))
    incident = Incident.objects.get(seller=seller)
    expect(page).to_have_url(re.compile(rf"/performance/incidents/{incident.pk}/$"))
    expect(page.get_by_role("alert").filter(has_text=f"Incident #{incident.pk} reported.")).to_be_visible()
    expect(page.get_by_role("heading", name=f"Incident #{incident.pk}")).to_be_visible()
    for order_id in picked:
        expect(page.locator(f'.portal-incident-order[data-order="{order_id}"]')).to_be_visible()
    assert (incident.kind, incident.carrier, incident.order_ids) == ("carrier", CARRIER, picked)
    assert (incident.start_date, incident.end_date) == (day - dt.timedelta(days=6), day)
    assert_styled(page)
    screenshot(page, "incident_report_done")

    # The menu's Incidents lists it, waiting for a decision.
    click_and_load(page, page.locator("#portal-navbar").get_by_role("link", name="Incidents"))
    expect(page.locator(f'.portal-incident[data-incident="{incident.pk}"]')).to_contain_text("Submitted")
