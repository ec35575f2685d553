"""A reviewer decides an incident in a real browser (issue 16, SPEC section 7): the review
queue lists it beside plans, its page shows the orders it covers, the effect of an approval
and the offer to reinstate the seller at once; the reviewer approves it with the metrics
preselected by its kind and reinstates the seller. The page before the decision is
var/screenshots/incident_review.png, after it incident_review-decided.png."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from metrics.incidents import KIND_METRICS
from metrics.models import Incident
from metrics.reasons import IncidentReason
from metrics.services import daily_run
from sellers.choices import ProgrammeStatus
from sellers.factories import OrderFactory, orders_save
from sellers.models import Seller, SellerEvent, User
from sellers.services import seller_create, seller_user_create
from tests.browser.support import playwright_sync_api
from tests.browser.test_seller_journey import assert_styled, click_and_load, login, screenshot

expect = playwright_sync_api().expect

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PASSWORD = "incident review 2026"
SELLER_NAME = "Stormy Goods"
DESCRIPTION = "A storm closed the UPS Ground hub for two days; parcels handed over were scanned late."
CARRIER_METRICS = ["On-time shipment rate", "On-time delivery rate", "Valid tracking rate"]


@pytest.fixture
def submitted_incident(transactional_db) -> Incident:
    """A seller revoked yesterday for one late shipment of ten on UPS Ground, its report of
    the carrier's breakdown on those days, and a reviewer."""
    day = timezone.localdate() - dt.timedelta(days=1)
    seller = seller_create(merchant_token="STORMY01", name=SELLER_NAME, enrolled_on=day - dt.timedelta(days=90))
    user = seller_user_create(seller=seller, username="stormy", password=PASSWORD, email="ops@stormy.example")
    reviewer = User.objects.create_user(username="reviewer", password=PASSWORD, is_staff=True)
    reviewer.user_permissions.add(Permission.objects.get(codename="review_plan", content_type__app_label="metrics"))
    orders_save(
        *(OrderFactory.build(seller=seller, purchased_on=day - dt.timedelta(days=5)) for _ in range(9)),
        OrderFactory.build(seller=seller, late=True, purchased_on=day - dt.timedelta(days=3), order_id="STORM-1"),
    )
    daily_run(day=day)
    seller.refresh_from_db()
    assert seller.status == ProgrammeStatus.NOT_ELIGIBLE
    return Incident.objects.create(
        seller=seller,
        kind=Incident.Kind.CARRIER,
        carrier="UPS Ground",
        start_date=day - dt.timedelta(days=4),
        end_date=day - dt.timedelta(days=2),
        description=DESCRIPTION,
        submitted_by=user,
        submitted_at=timezone.now(),
    )


def test_a_reviewer_approves_an_incident_and_reinstates_the_seller(page, submitted_incident):
    login(page, "reviewer", PASSWORD)
    expect(page).to_have_url(re.compile(r"/review/$"))
    expect(page.get_by_role("heading", name="Plans of action and incidents to review")).to_be_visible()
    row = page.get_by_role("row").filter(has_text=SELLER_NAME)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Incident: Carrier breakdown or delay")
    expect(row).to_contain_text("UPS Ground")
    expect(row).to_contain_text("Not eligible")
    assert_styled(page)

    click_and_load(page, row.get_by_role("link", name="Review", exact=True))
    expect(page).to_have_url(re.compile(rf"/review/incidents/{submitted_incident.pk}/$"))
    expect(page.get_by_role("heading", name=f"Incident of {SELLER_NAME}")).to_be_visible()
    expect(page.get_by_text(DESCRIPTION)).to_be_visible()
    # The order it covers, and what an approval would do: on-time shipment passes again.
    expect(page.locator('tr[data-order="STORM-1"]')).to_contain_text("On-time shipment rate")
    effect = page.locator('.portal-incident-effect tr[data-metric="on_time_shipment_rate"][data-window="30"]')
    expect(effect.get_by_role("cell").nth(2)).to_have_text("1")
    expect(
        page.get_by_text(re.compile(r"answers every failing item .*: you may reinstate the seller now\.$"))
    ).to_be_visible()
    # Approve with the metrics its kind preselects, and reinstate the seller.
    for label in CARRIER_METRICS:
        expect(page.get_by_role("checkbox", name=label, exact=True)).to_be_checked()
    expect(page.get_by_role("checkbox", name="Cancellation rate", exact=True)).not_to_be_checked()
    reinstate = page.get_by_role("checkbox", name="Reinstate the seller now")
    reinstate.check()
    assert_styled(page)
    screenshot(page, "incident_review")

    click_and_load(page, page.get_by_role("button", name="Approve", exact=True))
    expect(
        page.get_by_role("alert").filter(has_text=f"Incident approved: {SELLER_NAME} is eligible for Prime again.")
    ).to_be_visible()
    expect(page.get_by_text("The approval reinstated the seller at once.")).to_be_visible()
    expect(page.get_by_role("button", name="Approve", exact=True)).to_have_count(0)
    expect(page.locator(".portal-incident-status")).to_have_text("Approved")
    assert_styled(page)
    screenshot(page, "incident_review-decided")

    submitted_incident.refresh_from_db()
    seller = Seller.objects.get(pk=submitted_incident.seller_id)
    assert submitted_incident.status == Incident.Status.APPROVED
    assert submitted_incident.excused_metrics == list(KIND_METRICS[Incident.Kind.CARRIER])
    assert seller.status == ProgrammeStatus.ELIGIBLE
    [reinstatement] = SellerEvent.objects.filter(seller=seller, kind=SellerEvent.Kind.REINSTATED)
    assert reinstatement.reasons == [IncidentReason(incident=submitted_incident.pk).to_json()]
