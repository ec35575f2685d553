"""The dashboard's first screen (SPEC section 8): one verdict across both windows with the
tightest headroom in words, the seven-metric table, and the revocation banner as a checklist."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from metrics.insights.headroom import Headroom
from metrics.presenters.glance import AT_RISK, FAILING, PASSING, tightest_headroom, tightest_sentence
from metrics.services import daily_run, plan_submit
from sellers.factories import D, OrderFactory
from sellers.models import OperatingDay
from tests.factories import PLAN_ANSWERS
from tests.metrics.test_at_risk import at_risk_orders

pytestmark = pytest.mark.django_db
URL = "/performance/"


def glance_row(html: str, name: str) -> str:
    start = html.index(f'id="glance-{name}"')
    return html[start : html.index("</tr>", start)]


@pytest.fixture
def at_risk_seller(seller, make_orders):
    make_orders(*at_risk_orders(seller))
    daily_run(day=D)
    return seller


def test_an_at_risk_seller_sees_an_amber_verdict_with_the_tightest_headroom_in_words(
    client, seller_user, at_risk_seller
):
    client.force_login(seller_user)
    response = client.get(URL)
    html = response.content.decode()
    assert response.context["verdict"].kind == "at_risk"
    assert "alert-warning" in html and "portal-verdict-at_risk" in html
    assert "Eligible for Prime, but at risk" in html
    assert "At risk, with less than a quarter of what the window allows left: On-time shipment rate (7 days)" in html
    # Headroom 0 in the 7-day window: the next late unit loses Prime.
    assert "1 more unit shipped late and delivered late in the 7-day window and you lose Prime." in html
    # The verdict and the table come before the cards, the trends and the insights.
    assert html.index("portal-tightest") < html.index('id="glance-heading"') < html.index('id="metric-on_time')
    assert html.index('id="glance-heading"') < html.index('id="insights"')


def test_the_table_has_both_windows_threshold_headroom_and_a_status_coloured_by_risk(
    client, seller_user, at_risk_seller
):
    client.force_login(seller_user)
    response = client.get(URL)
    html = response.content.decode()
    rows = {row.name: row for row in response.context["metric_rows"]}
    assert len(rows) == 7
    ots = rows["on_time_shipment_rate"]
    assert ots.state == AT_RISK and (ots.headroom.window_days, ots.headroom.units) == (7, 0)
    assert [cell.state for cell in ots.cells] == [AT_RISK, PASSING]
    row = glance_row(html, "on_time_shipment_rate")
    assert '<span class="badge text-bg-warning">At risk</span>' in row
    assert '<span class="badge text-bg-warning">+0</span>' in row  # headroom badge amber, not green
    assert "≥ 99.00 %" in row and "99.00 %" in row and "99.80 %" in row  # 200/202 and 1000/1002
    # Plenty of room: a green +13 for on-time delivery (allowance floor(6.5 % of 202), 0 counted).
    otd = glance_row(html, "on_time_delivery_rate")
    assert '<span class="badge text-bg-success">+13</span>' in otd and 'text-bg-success">Passing' in otd


def test_on_time_delivery_leads_with_the_eligibility_rate_and_the_shown_rate_follows(
    client, seller_user, at_risk_seller
):
    client.force_login(seller_user)
    html = client.get(URL).content.decode()
    row = glance_row(html, "on_time_delivery_rate")
    # 7 days: 2 late of 202 due, both protected: 100 % for eligibility, 99.00 % shown.
    assert re.search(r'portal-glance-lead">100.00 %</span>\s*<span class="text-body-secondary portal-glance-shown">'
                     r"shown 99.00 %</span>", row)  # fmt: skip
    assert row.index("100.00 %") < row.index("shown 99.00 %")


def test_a_healthy_seller_sees_green_with_the_closest_metric(client, seller, seller_user, make_orders):
    make_orders(*(OrderFactory.build(seller=seller, units=100) for _ in range(3)))
    daily_run(day=D)
    client.force_login(seller_user)
    response = client.get(URL)
    html = response.content.decode()
    assert response.context["verdict"].kind == "eligible"
    assert "alert-success" in html and "Eligible for Prime" in html
    # Cancellation: allowance floor(0.5 % of 300) = 1, headroom 1: the fewest units left.
    assert "Closest to its threshold: 2 more seller cancellations in the 7-day window and you lose Prime." in html
    assert "text-bg-warning" not in html


def test_a_failing_metric_is_red_in_the_table(client, seller_user, revoked_seller):
    client.force_login(seller_user)
    response = client.get(URL)
    rows = {row.name: row for row in response.context["metric_rows"]}
    assert rows["on_time_shipment_rate"].state == FAILING
    row = glance_row(response.content.decode(), "on_time_shipment_rate")
    assert '<span class="badge text-bg-danger">Failing</span>' in row and 'text-bg-danger">-' in row
    assert response.context["verdict"].kind == "not_eligible"


def test_the_window_switch_still_switches_the_cards(client, seller_user, at_risk_seller):
    client.force_login(seller_user)
    response = client.get(URL, {"window": 7})
    assert response.context["window_days"] == 7
    assert "Performance over the last 7 days" in response.content.decode()
    # The table shows both windows whichever is chosen.
    assert [c.window_days for c in response.context["metric_rows"][0].cells] == [7, 30]


# --- The tightest headroom ---------------------------------------------------------------


def test_the_tightest_is_the_fewest_units_left_then_an_at_risk_one():
    # Cancellation: allowance 1, headroom 1, bound 1: not at risk, but the fewest units left.
    fewest = Headroom("cancellation_rate", 30, units=1, population=300, allowance=1, at_risk=False)
    # One-day speed: allowance 40, headroom 3, bound 10: at risk, with more room in units.
    at_risk = Headroom("one_day_delivery_speed", 7, units=3, population=200, allowance=40, at_risk=True)
    same_units = Headroom("on_time_delivery_rate", 7, units=3, population=200, allowance=13, at_risk=False)
    failing = Headroom("buy_shipping_rate", 7, units=-2, population=100, allowance=1, at_risk=False)
    empty = Headroom("valid_tracking_rate", 7, units=None, population=0)
    assert tightest_headroom([at_risk, fewest, failing, empty]) is fewest
    assert tightest_headroom([same_units, at_risk, failing]) is at_risk  # a tie: the at-risk one
    assert tightest_headroom([failing, empty]) is None
    assert tightest_sentence(same_units) == "4 more unprotected late deliveries in the 7-day window and you lose Prime."
    assert tightest_sentence(fewest) == "2 more seller cancellations in the 30-day window and you lose Prime."


# --- The revocation banner as a checklist ------------------------------------------------


@pytest.fixture
def revoked_seller(seller, make_orders):
    """Revoked on D for a weekday cutoff of 12:00 on Monday and for on-time shipment (7 and
    30 days: 1 late unit of 2)."""
    OperatingDay.objects.filter(seller=seller, weekday=0).update(cutoff=dt.time(12, 0))
    make_orders(OrderFactory.build(seller=seller), OrderFactory.build(seller=seller, late=True))
    daily_run(day=D)
    seller.refresh_from_db()
    return seller


def test_the_checklist_marks_a_fixed_setting_fixed_now_and_links_each_fix(client, seller_user, revoked_seller):
    client.force_login(seller_user)
    response = client.get(URL)
    checklist = response.context["checklist"]
    assert [(item.label, item.fixed) for item in checklist] == [
        ("On-time shipment rate (7 days)", False),
        ("On-time shipment rate (30 days)", False),
        ("Weekday cutoff", False),
    ]
    # The seller fixes the Monday cutoff: the requirement is fixed now, the metric is not.
    OperatingDay.objects.filter(seller=revoked_seller, weekday=0).update(cutoff=dt.time(15, 0))
    response = client.get(URL)
    html = response.content.decode()
    checklist = response.context["checklist"]
    assert [(item.label, item.fixed) for item in checklist] == [
        ("On-time shipment rate (7 days)", False),
        ("On-time shipment rate (30 days)", False),
        ("Weekday cutoff", True),
    ]
    assert checklist[2].fix_url == "/settings/fulfilment/"
    assert checklist[0].fix_url == "/performance/defects/?window=7&metric=on_time_shipment_rate"
    assert html.count("Still failing") == 2 and html.count("Fixed now") == 1
    # The reason recorded at the revocation reads as what was true then, not as now.
    assert html.count("When Prime was revoked:") == 1
    assert 'href="/settings/fulfilment/">Open the setting</a>' in html
    # Then Create POA.
    assert html.index("portal-revocation-checklist") < html.index("portal-create-poa")


def submit_plan(seller, user):
    return plan_submit(seller=seller, user=user, merchant_token=seller.merchant_token, **PLAN_ANSWERS)


def test_after_a_plan_is_submitted_the_banner_says_what_happens_next(client, seller_user, revoked_seller):
    submit_plan(revoked_seller, seller_user)
    client.force_login(seller_user)
    html = client.get(URL).content.decode()
    assert "portal-create-poa" not in html
    assert "What happens next: a reviewer of the Prime programme reads your plan and decides." in html
    assert "You are emailed either way." in html


def test_the_first_screen_reads_in_german(client, seller_user, at_risk_seller):
    seller_user.language = "de"
    seller_user.save()
    client.force_login(seller_user)
    client.cookies["django_language"] = "de"
    html = client.get(URL).content.decode()
    assert "Für Prime berechtigt, aber gefährdet" in html
    assert "Noch 1 weitere verspätet versendete und verspätet gelieferte Einheit im Zeitraum von 7 Tagen" in html
    assert ">Gefährdet</span>" in html


def test_after_a_rejection_the_banner_shows_the_feedback_beside_create_poa(
    client, seller_user, revoked_seller, reviewer
):
    from metrics.services import plan_reject

    plan = submit_plan(revoked_seller, seller_user)
    plan_reject(plan=plan, reviewer=reviewer, feedback="Say which carrier picks up on Saturdays.")
    client.force_login(seller_user)
    html = client.get(URL).content.decode()
    assert "Plan of action rejected" in html
    assert f"Your plan #{plan.pk} was rejected on" in html
    assert "Say which carrier picks up on Saturdays." in html
    assert html.index("portal-plan-feedback") < html.index("portal-create-poa")
