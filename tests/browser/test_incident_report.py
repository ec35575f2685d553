"""The incident journey in a real browser (issue 16, SPEC section 7), on the seed_demo data:
blueridge, revoked for late shipments, follows "Not your fault? Report an incident" from the
status banner, names the carrier service and the last seven days, previews the defect orders
the incident would cover and what an approval would change, picks two of them, reports it
and lands on the incident's page; the dashboard says it waits for review. The demo reviewer
finds it in the review queue beside sunsetpet's plan of action, opens it and approves it with
the metrics its kind preselects (it cannot reinstate blueridge: the 30 days still fail).
blueridge then finds it approved on its page and in its list, and the dashboard says what it
excuses and from which figures on: an approval counts as of the seller's date of the approval,
whose figures the daily run computes after that day ends, so the figures shown still count
its defects. Screenshots: var/screenshots/incident_report.png (the preview, orders picked),
incident_report_done.png (the incident's page), incident_report_review.png (the reviewer's
page), incident_report_approved.png (the seller's dashboard after the approval)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from django.utils.formats import date_format

from metrics.incidents import KIND_METRICS
from metrics.models import Incident, PlanOfAction
from metrics.selectors import seller_latest_day
from metrics.services import plan_submit
from sellers.demo import REVIEWER_USERNAME
from sellers.models import Seller, User
from tests.browser.support import playwright_sync_api
from tests.browser.test_seller_journey import assert_styled, click_and_load, login, logout, screenshot
from tests.factories import PLAN_ANSWERS

expect = playwright_sync_api().expect

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

MERCHANT_TOKEN = "BLUERIDGE02"
# blueridge's carrier service with the late shipments (seed_demo).
CARRIER = "FedEx Priority Overnight"
DESCRIPTION = (
    "FedEx Priority Overnight missed its pickups at our warehouse for days: the driver's route was cut, "
    "so parcels were first scanned a day or two late."
)
SELLER_NAME = "Blue Ridge Kitchenware"
# The demo seller failing the cancellation rate: its plan of action waits in the queue too.
PLAN_SELLER = "SUNSETPET03"
CARRIER_METRICS = ["On-time shipment rate", "On-time delivery rate", "Valid tracking rate"]


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

    # The menu's Incidents lists it, waiting for a decision; so does the dashboard, above its figures.
    click_and_load(page, page.locator("#portal-navbar").get_by_role("link", name="Incidents"))
    expect(page.locator(f'.portal-incident[data-incident="{incident.pk}"]')).to_contain_text("Submitted")
    click_and_load(page, page.locator("#portal-navbar").get_by_role("link", name="Performance"))
    notice = page.locator(f'.portal-incident-notice[data-incident="{incident.pk}"]')
    expect(notice).to_contain_text("Waiting for review by programme staff.")

    review_and_approve(page, incident)
    seller_sees_the_approval(page, incident)


def review_and_approve(page, incident: Incident) -> None:
    """The demo reviewer finds the incident in the queue beside a plan of action, reads what
    an approval would change and approves it with the metrics its kind preselects."""
    plan_seller = Seller.objects.get(merchant_token=PLAN_SELLER)
    plan_submit(
        seller=plan_seller,
        user=User.objects.get(seller=plan_seller),
        merchant_token=PLAN_SELLER,
        **PLAN_ANSWERS,
    )
    logout(page)
    login(page, REVIEWER_USERNAME)
    expect(page).to_have_url(re.compile(r"/review/$"))
    expect(page.get_by_role("heading", name="Plans of action and incidents to review")).to_be_visible()
    row = page.get_by_role("row").filter(has_text=SELLER_NAME)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Incident: Carrier breakdown or delay")
    expect(row).to_contain_text(CARRIER)
    expect(page.get_by_role("row").filter(has_text="Plan of action")).to_have_count(1)
    assert_styled(page)

    click_and_load(page, row.get_by_role("link", name="Review", exact=True))
    expect(page).to_have_url(re.compile(rf"/review/incidents/{incident.pk}/$"))
    expect(page.get_by_role("heading", name=f"Incident of {SELLER_NAME}")).to_be_visible()
    for order_id in incident.order_ids:
        expect(page.locator(f'tr[data-order="{order_id}"]')).to_contain_text("On-time shipment rate")
    today = date_format(incident.seller.local_date(timezone.now()), "DATE_FORMAT")
    expect(
        page.get_by_text(f"Approved now, it counts from the evaluation of {today} (the seller's date")
    ).to_be_visible()
    for label in CARRIER_METRICS:
        expect(page.get_by_role("checkbox", name=label, exact=True)).to_be_checked()
    expect(page.get_by_role("checkbox", name="Cancellation rate", exact=True)).not_to_be_checked()
    # Two orders cannot answer 87 late units of 30 days: no reinstatement at once is offered.
    expect(page.get_by_role("checkbox", name="Reinstate the seller now")).to_have_count(0)
    assert_styled(page)
    screenshot(page, "incident_report_review")

    click_and_load(page, page.get_by_role("button", name="Approve", exact=True))
    expect(
        page.get_by_role("alert").filter(has_text="Incident approved; the seller was told which metrics it excuses.")
    ).to_be_visible()
    expect(page.locator(".portal-incident-status")).to_have_text("Approved")
    expect(page.locator(".portal-incident-decision")).to_contain_text(f"from the evaluation of {today} on.")
    incident.refresh_from_db()
    assert incident.status == Incident.Status.APPROVED
    assert incident.excused_metrics == list(KIND_METRICS[Incident.Kind.CARRIER])
    assert PlanOfAction.objects.filter(seller__merchant_token=PLAN_SELLER, status="submitted").exists()


def seller_sees_the_approval(page, incident: Incident) -> None:
    """blueridge finds the incident approved on its page, in its list and on the dashboard,
    each saying what it excuses and that the figures count it from the next daily run on."""
    logout(page)
    login(page, "blueridge")
    day = seller_latest_day(seller=incident.seller)
    first = incident.seller.local_date(incident.decided_at)
    assert day is not None and day < first  # the figures shown are of a day before the approval
    excuses = (
        f"it excuses the defects of the orders it covers for {', '.join(CARRIER_METRICS)}, "
        f"from the figures of {date_format(first, 'DATE_FORMAT')} on."
    )
    not_yet = f"The daily run computes the figures of {date_format(first, 'DATE_FORMAT')} after that day ends"

    # The dashboard: above the figures, which do not count it yet.
    notice = page.locator(f'.portal-incident-notice[data-incident="{incident.pk}"]')
    expect(notice).to_contain_text("Approved")
    expect(notice).to_contain_text(excuses)
    expect(notice).to_contain_text(not_yet)
    expect(page.get_by_role("alert").filter(has_text="Not eligible for Prime")).to_contain_text(
        "until programme staff approve a plan of action, or an incident that excuses every item above."
    )
    assert_styled(page)
    screenshot(page, "incident_report_approved")

    click_and_load(page, notice.get_by_role("link", name=f"Incident #{incident.pk}"))
    expect(page).to_have_url(re.compile(rf"/performance/incidents/{incident.pk}/$"))
    expect(page.locator(".portal-incident-status")).to_have_text("Approved")
    decision = page.locator(".portal-incident-decision")
    expect(decision).to_contain_text(excuses)
    expect(decision).to_contain_text(not_yet)
    assert_styled(page)

    click_and_load(page, page.locator("#portal-navbar").get_by_role("link", name="Incidents"))
    listed = page.locator(f'.portal-incident[data-incident="{incident.pk}"]')
    expect(listed.locator(".portal-incident-status")).to_have_text("Approved")
    expect(listed).to_contain_text(excuses)
