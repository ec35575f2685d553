"""What the seller's pages and the reviewer's say of a decided incident, and from which
figures on it counts (SPEC section 7: as of D an incident counts only if approved by the end
of D, and D's figures are computed after D ends): the dashboard lists the incidents its
figures do not reflect yet, the incident's page and the list say when the figures count it,
the defect list says how many of a metric's defect units are excused, and the reviewer's
page says the same of an approval. Also the report form's dates, whose errors and shared
hint sit below both.

The world is test_incident_reports.py's: the morning after D (Nov. 21, 07:00 in Los Angeles,
the seller's zone); three late FedEx Home orders of the seller's twelve revoked it on D."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from html import unescape

import pytest
from django.test import Client

from metrics.incidents import approved_as_of, counts_as_of, first_day_counted
from metrics.models import Incident
from metrics.presenters.incident_review import status_effect_sentence
from metrics.reasons import MetricReason
from metrics.selectors import IncidentReinstatement, seller_incidents_not_counted
from metrics.services import daily_run, incident_approve, incident_reject, incident_submit, plan_submit
from sellers.factories import D, OrderFactory
from sellers.models import AuditEntry, SellerEvent
from sellers.services import seller_create
from sellers.templatetags.seller_settings import audit_change_rows
from tests.factories import PLAN_ANSWERS
from tests.metrics.test_incident_reports import DESCRIPTION, FEDEX, NEW, REPORT

pytestmark = pytest.mark.django_db

TODAY = D + dt.timedelta(days=1)  # the seller's date at the clock's NOW: the approvals' day
CARRIER_METRICS = ["on_time_shipment_rate", "on_time_delivery_rate", "valid_tracking_rate"]
NOTICES = "portal-incident-notices"


@pytest.fixture
def world(clock, seller, make_orders):
    good = [OrderFactory.build(seller=seller, purchased_on=D - dt.timedelta(days=3)) for _ in range(9)]
    late = [
        OrderFactory.build(
            seller=seller, late=True, buy_shipping=False, carrier=FEDEX, purchased_on=D - dt.timedelta(days=3)
        )
        for _ in range(3)
    ]
    make_orders(*good, *late)
    daily_run(day=D)


@pytest.fixture
def incident(world, seller, seller_user) -> Incident:
    """The seller's report of the FedEx Home breakdown that made its three orders late."""
    return incident_submit(
        seller=seller,
        user=seller_user,
        kind="carrier",
        carrier=FEDEX,
        start_date=D - dt.timedelta(days=4),
        end_date=D - dt.timedelta(days=1),
        description=DESCRIPTION,
        order_ids=[],
    )


@pytest.fixture
def seller_client(seller_user):
    browser = Client()
    browser.force_login(seller_user)
    return browser


@pytest.fixture
def reviewer_client(reviewer):
    browser = Client()
    browser.force_login(reviewer)
    return browser


def approve(incident, reviewer) -> Incident:
    return incident_approve(incident=incident, reviewer=reviewer, metrics=CARRIER_METRICS)


def text(response) -> str:
    """The page's words, tags and runs of white space squeezed to one space."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", response.content.decode())))


def next_daily_run(clock) -> None:
    """The night after TODAY: its figures computed, as the scheduled job does."""
    clock.shift(dt.timedelta(days=1))
    daily_run(day=TODAY)


# --- The rule: the first day an approval counts as of -------------------------------------


@pytest.mark.parametrize(
    ("zone_name", "decided_at", "first_day"),
    [
        # 23:30 in Honolulu is already the next day in UTC: the seller's date decides.
        ("Pacific/Honolulu", dt.datetime(2026, 11, 22, 9, 30, tzinfo=dt.UTC), dt.date(2026, 11, 21)),
        # 00:30 in Berlin is still the day before in UTC.
        ("Europe/Berlin", dt.datetime(2026, 11, 20, 23, 30, tzinfo=dt.UTC), dt.date(2026, 11, 21)),
        ("America/Los_Angeles", dt.datetime(2026, 11, 21, 15, 0, tzinfo=dt.UTC), dt.date(2026, 11, 21)),
    ],
)
def test_an_approval_counts_from_its_local_date_in_python_and_in_sql(db, reviewer, zone_name, decided_at, first_day):
    seller = seller_create(merchant_token="ZONED01", name="Zoned", timezone_name=zone_name)
    incident = Incident.objects.create(
        seller=seller,
        kind=Incident.Kind.WEATHER,
        start_date=first_day - dt.timedelta(days=3),
        end_date=first_day - dt.timedelta(days=1),
        description=DESCRIPTION,
        submitted_at=decided_at - dt.timedelta(hours=2),
        status=Incident.Status.APPROVED,
        decided_at=decided_at,
        decided_by=reviewer,
        excused_metrics=CARRIER_METRICS,
    )
    assert first_day_counted(incident, zone_name) == first_day
    assert decided_at.astimezone(zoneinfo.ZoneInfo(zone_name)).date() == first_day
    for day, counts in ((first_day - dt.timedelta(days=1), False), (first_day, True)):
        assert counts_as_of(incident, day, zone_name) is counts
        assert Incident.objects.filter(approved_as_of(day), pk=incident.pk).exists() is counts


def test_an_incident_not_approved_counts_from_no_day(incident):
    assert first_day_counted(incident, incident.seller.timezone) is None


# --- The incidents the dashboard's figures do not reflect yet -------------------------------


def test_the_figures_do_not_reflect_incidents_waiting_or_approved_after_their_day(
    incident, seller, seller_user, reviewer, clock
):
    rejected = incident_submit(
        seller=seller,
        user=seller_user,
        kind="weather",
        carrier="",
        start_date=D,
        end_date=D,
        description=DESCRIPTION,
        order_ids=[],
    )
    incident_reject(incident=rejected, reviewer=reviewer, note="No storm was reported near your warehouse.")
    assert list(seller_incidents_not_counted(seller=seller, day=D)) == [incident]  # waiting
    approve(incident, reviewer)
    assert list(seller_incidents_not_counted(seller=seller, day=D)) == [incident]  # approved on TODAY, after D
    assert list(seller_incidents_not_counted(seller=seller, day=None)) == [incident]  # no figures at all
    assert list(seller_incidents_not_counted(seller=seller, day=TODAY)) == []  # TODAY's figures count it


def test_the_dashboard_says_an_incident_waits_for_review(incident, seller_client):
    page = seller_client.get("/performance/")
    html = page.content.decode()
    assert NOTICES in html and f'data-incident="{incident.pk}" data-status="submitted"' in html
    assert "Your incidents not in these figures yet" in text(page)
    assert "Waiting for review by programme staff. You are emailed their decision." in text(page)


def test_an_incident_approved_today_is_on_the_dashboard_until_the_daily_run_counts_it(
    incident, seller_client, reviewer, clock, locmem_cache
):
    seller_client.get("/performance/")  # cached while it waits for review
    approve(incident, reviewer)

    # The cached page is not served again: the decision's audit entry changed the seller's state.
    page = text(seller_client.get("/performance/"))
    assert (
        "Approved on Nov. 21, 2026, 07:00: it excuses the defects of the orders it covers for On-time shipment "
        "rate, On-time delivery rate, Valid tracking rate, from the figures of Nov. 21, 2026 on."
    ) in page
    assert (
        "The daily run computes the figures of Nov. 21, 2026 after that day ends; until then the figures shown "
        "still count its defects."
    ) in page
    assert "units excused by incident" not in page

    next_daily_run(clock)
    html = seller_client.get("/performance/").content.decode()
    assert NOTICES not in html
    # The figures of Nov. 21 count it: its three late orders are excused, on the card.
    assert re.search(rf"3 units excused by <a href=\"/performance/incidents/{incident.pk}/\">incident #", html)


def test_a_rejected_incident_is_not_listed_above_the_figures(incident, seller_client, reviewer):
    incident_reject(incident=incident, reviewer=reviewer, note="The carrier reported no outage on these days.")
    assert NOTICES not in seller_client.get("/performance/").content.decode()


# --- The incident's page and the list ---------------------------------------------------


def test_the_incident_page_says_when_the_figures_count_the_approval(incident, seller_client, reviewer, clock):
    approve(incident, reviewer)
    url = f"/performance/incidents/{incident.pk}/"
    for page in (text(seller_client.get(url)), text(seller_client.get("/performance/incidents/"))):
        assert "Approved on Nov. 21, 2026, 07:00: it excuses the defects of the orders it covers" in page
        assert "The daily run computes the figures of Nov. 21, 2026 after that day ends" in page

    assert "portal-excusal" not in seller_client.get(url).content.decode()  # the figures do not count it yet

    next_daily_run(clock)
    response = seller_client.get(url)
    page = text(response)
    assert "The figures shown, of Nov. 21, 2026, count it." in page
    assert "The daily run computes" not in page
    # Each order it covers says so, as the defect list does.
    excusal = f"Excused: On-time shipment rate, On-time delivery rate, incident #{incident.pk}"
    assert page.count(excusal) == 3
    assert (
        response.content.decode().count(
            f'class="badge text-bg-info text-wrap text-start me-1 portal-excusal" data-incident="{incident.pk}"'
        )
        == 3
    )


def test_the_incident_page_says_when_it_was_rejected(incident, seller_client, reviewer):
    incident_reject(incident=incident, reviewer=reviewer, note="The carrier reported no outage on these days.")
    page = text(seller_client.get(f"/performance/incidents/{incident.pk}/"))
    assert "Rejected on Nov. 21, 2026, 07:00." in page
    assert "The carrier reported no outage on these days." in page


def test_another_sellers_incident_page_is_404(incident, other_seller_user):
    browser = Client()
    browser.force_login(other_seller_user)
    assert browser.get(f"/performance/incidents/{incident.pk}/").status_code == 404


# --- The defect list: how many of a metric's defect units are excused -----------------------


def test_the_defect_list_of_a_metric_says_how_many_of_its_units_are_excused(incident, seller_client, reviewer, clock):
    approve(incident, reviewer)
    next_daily_run(clock)
    page = text(seller_client.get("/performance/defects/?window=30&metric=on_time_shipment_rate"))
    assert "Defect orders of On-time shipment rate: Orders: 3. Units in total: 3 ." in page
    assert "Of these, 3 units are excused by approved incidents: they do not count for eligibility." in page
    # Without a metric there is no one count: an incident excuses a defect for some metrics only.
    assert "are excused by approved" not in text(seller_client.get("/performance/defects/?window=30"))


def test_the_defect_list_says_nothing_is_excused_before_the_figures_count_it(incident, seller_client, reviewer):
    approve(incident, reviewer)
    page = text(seller_client.get("/performance/defects/?window=30&metric=on_time_shipment_rate"))
    assert "excused by approved" not in page and "excused by an approved" not in page


# --- The reviewer's page ------------------------------------------------------------------


def test_the_review_page_says_from_which_evaluation_an_approval_counts(incident, reviewer_client, reviewer, clock):
    page = text(reviewer_client.get(f"/review/incidents/{incident.pk}/"))
    assert (
        "Approved now, it counts from the evaluation of Nov. 21, 2026 (the seller's date today) on, which the daily "
        "run computes after that day ends; this table applies it to the latest figures, of Nov. 20, 2026."
    ) in page

    approve(incident, reviewer)
    page = text(reviewer_client.get(f"/review/incidents/{incident.pk}/"))
    assert "from the evaluation of Nov. 21, 2026 on." in page
    assert "The daily run computes the figures of Nov. 21, 2026 after that day ends" in page


def test_the_review_page_says_no_other_seller_shipped_on_the_carrier_instead_of_a_table_of_zeros(
    incident, reviewer_client
):
    html = reviewer_client.get(f"/review/incidents/{incident.pk}/").content.decode()
    assert "portal-incident-peers" not in html
    assert f"No other seller has Prime orders on {FEDEX} whose relevant date is in the incident" in html


# --- The report form's dates --------------------------------------------------------------


def test_the_date_errors_sit_below_both_dates_and_describe_the_field_they_belong_to(world, seller_client):
    changes = {"start_date": (TODAY - dt.timedelta(days=9)).isoformat(), "end_date": TODAY.isoformat()}
    html = seller_client.post(NEW, {**REPORT, "action": "preview", **changes}).content.decode()
    end_input = re.search(r"<input[^>]*name=\"end_date\"[^>]*>", html)[0]
    assert (
        'aria-invalid="true"' in end_input and 'aria-describedby="incident-dates-help id_end_date_error"' in end_input
    )
    assert "is-invalid" in end_input
    start_input = re.search(r"<input[^>]*name=\"start_date\"[^>]*>", html)[0]
    assert 'aria-describedby="incident-dates-help"' in start_input and "aria-invalid" not in start_input
    # The error and the hint the two dates share follow the pair, at the card's width.
    dates = html.split('class="mb-3 portal-incident-dates"', 1)[1]
    error = dates.index('id="id_end_date_error"')
    assert dates.index(end_input) < error < dates.index('id="incident-dates-help"')
    assert "an incident covers at most 7" in dates[error:]


def test_the_items_an_approval_leaves_unanswered_are_named_with_their_window(seller):
    failing = [
        MetricReason(
            metric="on_time_shipment_rate",
            window_days=window,
            rate=0.9,
            threshold="0.99",
            population_units=100,
            defect_units=10,
        )
        for window in (7, 30)
    ]
    reinstatement = IncidentReinstatement(
        eligible=False,
        revocation=SellerEvent(seller=seller, kind=SellerEvent.Kind.REVOKED, day=D),
        reasons=failing,
        unanswered=failing,
    )
    sentence = status_effect_sentence(seller=seller, reinstatement=reinstatement)
    assert "unanswered (On-time shipment rate (7 days), On-time shipment rate (30 days))" in sentence


# --- The seller's history ----------------------------------------------------------------


def test_an_incident_entry_in_the_history_reads_as_the_report_in_order_with_its_dates_written_out(
    incident, seller_client
):
    entry = seller_client.get("/settings/history/").context["page"].object_list[0]  # the newest
    assert entry.action == AuditEntry.Action.INCIDENT_SUBMITTED
    rows = audit_change_rows(entry.before, entry.after)
    assert [label for label, _before, _after in rows] == [
        "Incident",
        "Status",
        "Kind",
        "Carrier",
        "First day",
        "Last day",
        "What happened",
        "Orders",
    ]
    assert rows[4][2] == "Nov. 16, 2026" and rows[5][2] == "Nov. 19, 2026"


def test_the_plan_review_page_lists_the_sellers_incidents(incident, seller, seller_user, reviewer_client):
    plan = plan_submit(seller=seller, user=seller_user, merchant_token=seller.merchant_token, **PLAN_ANSWERS)
    html = reviewer_client.get(f"/review/plans/{plan.pk}/").content.decode()
    assert "Incidents of this seller" in html
    assert f'<a href="/review/incidents/{incident.pk}/">#{incident.pk}</a>' in html
    assert "Carrier breakdown or delay · Submitted" in html
