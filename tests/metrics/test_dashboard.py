"""The seller's performance dashboard (SPEC section 6): status banner, metric cards with
trends, requirement checks, volume controls, read from snapshots only."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from metrics.presenters.reasons import reason_sentence
from metrics.reasons import reason_from_json
from metrics.services import daily_run
from sellers.choices import Speed, Weekday
from sellers.factories import D, OrderFactory, local_moment
from sellers.models import CarrierPickup, OperatingDay, PrimeRegion, SellerEvent
from sellers.requirements import REQUIREMENTS
from sellers.services import volume_control_change
from tests.clock import NOW

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

URL = reverse("metrics:dashboard")
# The moment every test runs at: the morning after D in Los Angeles.


def html_of(client, **query) -> str:
    return client.get(URL, query).content.decode()


def card(response, name):
    return next(c for c in response.context["cards"] if c.name == name)


@pytest.fixture
def healthy(seller, make_orders):
    make_orders(*(OrderFactory.build(seller=seller) for _ in range(10)))
    daily_run(day=D)
    return seller


@pytest.fixture
def revoked(seller, make_orders):
    """30-day window: 10 orders, 1 late (D-20). 7-day window: 4 orders, 2 late (D-3)."""
    make_orders(
        *(OrderFactory.build(seller=seller, purchased_on=D - dt.timedelta(days=20)) for _ in range(5)),
        OrderFactory.build(seller=seller, late=True, purchased_on=D - dt.timedelta(days=20)),
        *(OrderFactory.build(seller=seller, purchased_on=D - dt.timedelta(days=3)) for _ in range(2)),
        *(
            OrderFactory.build(seller=seller, late=True, purchased_on=D - dt.timedelta(days=3), units=1)
            for _ in range(2)
        ),
    )
    daily_run(day=D)
    seller.refresh_from_db()
    return seller


# --- Status banner ----------------------------------------------------------------------


def test_eligible_seller_sees_a_green_banner_with_the_badge_active(client, seller_user, healthy):
    client.force_login(seller_user)
    html = html_of(client)
    assert "portal-status-eligible" in html and "Eligible for Prime" in html
    assert "Prime badge active" in html
    assert "Create POA" not in html


def test_paused_badge_shows_until_when_in_the_banner_and_the_controls(client, seller_user, healthy):
    volume_control_change(
        seller=healthy,
        daily_cap=None,
        paused=True,
        paused_until=dt.datetime(2026, 11, 25, 18, 0, tzinfo=dt.UTC),
        effective_at=NOW - dt.timedelta(hours=1),
    )
    client.force_login(seller_user)
    html = html_of(client)
    # 18:00 UTC is 10:00 in Los Angeles, the seller's time zone.
    assert "Prime badge paused until Nov. 25, 2026, 10:00" in html
    assert "Paused until Nov. 25, 2026, 10:00" in html
    assert "Prime badge active" not in html


def test_not_eligible_banner_says_exactly_why_since_when_and_offers_a_plan(client, seller_user, revoked):
    event = SellerEvent.objects.get(seller=revoked, kind=SellerEvent.Kind.REVOKED)
    client.force_login(seller_user)
    response = client.get(URL)
    html = response.content.decode()
    assert "portal-status-not-eligible" in html and "the Prime badge is off" in html
    sentences = [reason_sentence(reason_from_json(reason)) for reason in event.reasons]
    assert response.context["revocation_reasons"] == sentences
    assert {(r["metric"], r["window_days"]) for r in event.reasons} == {
        ("on_time_shipment_rate", 7),
        ("on_time_shipment_rate", 30),
    }
    assert any("On-time shipment rate over 7 days was 50.00 %; it must be at least 99.00 %" in s for s in sentences)
    for sentence in sentences:
        assert f'<div class="small">{sentence} ' in html.replace("&#x27;", "'")
    # Each reason is a checklist item, still failing on D's figures, with the orders behind it.
    assert [(item.label, item.fixed) for item in response.context["checklist"]] == [
        ("On-time shipment rate (7 days)", False),
        ("On-time shipment rate (30 days)", False),
    ]
    assert html.count("Still failing") == 2
    assert "/performance/defects/?window=7&amp;metric=on_time_shipment_rate" in html
    # Status changed at NOW: 07:00 on Nov. 21 in Los Angeles.
    assert "Not eligible since Nov. 21, 2026, 07:00" in html
    assert "revoked by the evaluation of Nov. 20, 2026" in html
    assert re.search(r'<a class="btn btn-danger portal-create-poa" href="/performance/poa/new/">\s*Create POA', html)


def test_not_eligible_without_a_recorded_reason_says_so(client, seller_user, seller):
    seller.status = "not_eligible"
    seller.save()
    client.force_login(seller_user)
    html = html_of(client)
    assert "No reason was recorded" in html and "/performance/poa/new/" in html


# --- Metric cards -----------------------------------------------------------------------


@pytest.mark.parametrize(("window", "value", "defects", "population"), [(7, "50.00 %", 2, 4), (30, "70.00 %", 3, 10)])
def test_cards_show_each_window_from_its_snapshots(client, seller_user, revoked, window, value, defects, population):
    client.force_login(seller_user)
    response = client.get(URL, {"window": window})
    assert response.context["window_days"] == window
    assert [c.name for c in response.context["cards"]] == [
        "on_time_shipment_rate",
        "on_time_delivery_rate",
        "buy_shipping_rate",
        "cancellation_rate",
        "valid_tracking_rate",
        "one_day_delivery_speed",
        "two_day_delivery_speed",
    ]
    shipment = card(response, "on_time_shipment_rate")
    snapshot = revoked.metric_snapshots.get(day=D, window_days=window, metric="on_time_shipment_rate")
    assert shipment.snapshot == snapshot
    assert (snapshot.defect_units, snapshot.population_units) == (defects, population)
    html = response.content.decode()
    section = html[html.index('id="metric-on_time_shipment_rate"') : html.index('id="metric-on_time_delivery_rate"')]
    assert "Failing" in section
    assert f'portal-metric-value">{value}<' in section
    assert "≥ 99.00 %" in section
    assert f"?window={window}&amp;metric=on_time_shipment_rate" in section
    assert f"of {snapshot.population_units} shipped units" in section
    assert "What to do:" in section and "Shipped late" in section


def test_card_values_for_the_seven_day_window(client, seller_user, revoked):
    client.force_login(seller_user)
    response = client.get(URL, {"window": 7})
    shipment = card(response, "on_time_shipment_rate")
    assert (shipment.snapshot.defect_units, shipment.snapshot.population_units) == (2, 4)
    assert "50.00 %" in response.content.decode()
    assert card(response, "cancellation_rate").passing


def test_a_metric_with_no_orders_says_no_orders_yet_and_passes(client, seller_user, seller):
    daily_run(day=D)
    client.force_login(seller_user)
    response = client.get(URL)
    html = response.content.decode()
    assert html.count("No orders yet — passes.") == 7
    assert all(c.passing and c.no_orders and c.value_percent is None for c in response.context["cards"])
    assert "metric=" not in html  # no defects: nothing to link to


def test_on_time_delivery_card_shows_protected_units_and_the_eligibility_rate(client, seller_user, make_orders, seller):
    def late_delivery(buy_shipping):
        return OrderFactory.build(seller=seller, buy_shipping=buy_shipping, units=1, late_delivery=2)

    make_orders(
        *(OrderFactory.build(seller=seller, units=2) for _ in range(19)), late_delivery(True), late_delivery(False)
    )
    daily_run(day=D)
    client.force_login(seller_user)
    response = client.get(URL)
    html = response.content.decode()
    section = html[html.index('id="metric-on_time_delivery_rate"') : html.index('id="metric-buy_shipping_rate"')]
    # 40 due units, 2 late, 1 of them on a Buy Shipping label.
    assert "95.00 %" in section
    assert re.search(r'portal-metric-protected">1<', section)
    assert re.search(r'portal-metric-eligibility">97.50 %<', section)
    assert "≥ 93.50 %" in section


def test_percentages_follow_the_active_language(client, seller_user, revoked):
    client.force_login(seller_user)
    client.cookies["django_language"] = "de"
    html = html_of(client, window=7)
    assert "50,00 %" in html and "99,00 %" in html


def test_an_unknown_window_falls_back_to_thirty_days_with_a_notice(client, seller_user, healthy):
    client.force_login(seller_user)
    response = client.get(URL, {"window": "14"})
    assert response.status_code == 200 and response.context["window_days"] == 30
    assert "There is no “14” window; showing the last 30 days" in response.content.decode()


def test_window_switcher_and_the_report_links_follow_the_window(client, seller_user, healthy):
    client.force_login(seller_user)
    html = html_of(client, window=7)
    assert 'href="?window=7" aria-current="page"' in html and 'href="?window=30"' in html
    assert f'href="{reverse("metrics:defects_csv")}?window=7" download' in html
    assert f'href="{reverse("metrics:defects")}?window=7"' in html


def test_time_zone_day_and_computation_moment_are_shown(client, seller_user, healthy):
    client.force_login(seller_user)
    response = client.get(URL)
    html = response.content.decode()
    assert response.context["day"] == D
    assert "your time zone, America/Los_Angeles" in html
    assert '<time datetime="2026-11-20">Nov. 20, 2026</time>' in html
    assert response.context["computed_at"] == NOW
    assert "computed Nov. 21, 2026, 07:00 PST" in html


# --- Trend ------------------------------------------------------------------------------


def test_trend_draws_the_snapshots_of_the_window_with_the_threshold(client, seller_user, seller, make_orders):
    # D-2: 1 late of 2 shipped units (50 %); then two on-time orders of D-1: 75 % on D-1 and D.
    make_orders(
        OrderFactory.build(seller=seller, purchased_on=D - dt.timedelta(days=6)),
        OrderFactory.build(seller=seller, late=True, purchased_on=D - dt.timedelta(days=6)),
    )
    daily_run(day=D - dt.timedelta(days=2))
    make_orders(*(OrderFactory.build(seller=seller, purchased_on=D - dt.timedelta(days=1)) for _ in range(2)))
    daily_run(day=D - dt.timedelta(days=1))
    daily_run(day=D)
    client.force_login(seller_user)
    response = client.get(URL, {"window": 7})
    chart = card(response, "on_time_shipment_rate").chart
    assert chart.days_with_value == 3
    assert (chart.minimum_percent, chart.maximum_percent, chart.latest_percent) == ("50.00 %", "75.00 %", "75.00 %")
    assert chart.value_path.count("M") == 1 and chart.value_path.count("L") == 2
    assert chart.threshold_path.startswith("M")
    html = response.content.decode()
    section = html[html.index('id="metric-on_time_shipment_rate"') : html.index('id="metric-on_time_delivery_rate"')]
    assert f'd="{chart.value_path}"' in section and f'd="{chart.threshold_path}"' in section
    assert 'role="img"' in section
    assert "<title" in section and "On-time shipment rate over the last 30 days, with the threshold" in section
    assert "3 days with a value: lowest 50.00 %, highest 75.00 %, latest 75.00 %." in section
    # The chart spans the days with snapshots, at least 30 (a month's context), not 90 mostly empty days.
    assert "From Oct. 22, 2026 to Nov. 20, 2026, scale" in section
    # A date axis (a tick a week, the last on D) and a value axis with round percentages.
    assert [tick.day for tick in chart.day_ticks] == [D - dt.timedelta(days=n) for n in (28, 21, 14, 7, 0)]
    assert "<tspan>Nov. 20</tspan>" in section and 'class="portal-trend-tick portal-trend-value-tick"' in section
    assert chart.value_ticks and all(
        (tick.share * 100).denominator in (1, 2, 4, 5, 10, 20, 50, 100) for tick in chart.value_ticks
    )


def test_trend_is_one_query_over_the_snapshots_and_orders_are_read_boundedly_for_one_seller(
    client, seller_user, revoked, other_seller, make_orders
):
    # Every insight has something to read: an order at risk (not scanned, due to ship on
    # the local today, Nov. 21) and a settings risk (Saturday operated without a pickup).
    # Another seller's orders, at risk too, must stay out of every query's reach.
    # Placed at 06:00, before the revocation at NOW (07:00 local): still a Prime order.
    at_risk = OrderFactory.build(
        seller=revoked, purchased_at=local_moment(revoked, D + dt.timedelta(days=1), 6), not_shipped=True
    )
    make_orders(at_risk, *(OrderFactory.build(seller=other_seller, purchased_on=D) for _ in range(3)))
    CarrierPickup.objects.filter(carrier_service__seller=revoked, weekday=Weekday.SATURDAY).delete()
    for back in range(1, 5):
        daily_run(day=D - dt.timedelta(days=back))
    client.force_login(seller_user)
    client.get(URL)  # warm the session
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL)
    assert response.status_code == 200
    sql = [query["sql"] for query in queries.captured_queries]
    snapshot_queries = [s for s in sql if "metrics_metricsnapshot" in s or "metrics_dailysnapshot" in s]
    # The latest day, D's figures of both windows (the first screen), then the whole trend.
    assert len(snapshot_queries) == 3, snapshot_queries
    # The cards and the headroom read the snapshots only. The insights read this seller's
    # orders: orders at risk (one aggregate, one limited list), root causes (one pass,
    # GROUPING SETS) and settings risks (one aggregate). Each is bounded by the seller
    # and a purchase-date range, the (seller, purchase_date) index, so the page costs the
    # same whatever the seller's history and never reads another seller's orders.
    order_queries = [s for s in sql if '"sellers_order"' in s]
    assert len(order_queries) == 4, order_queries
    assert response.context["at_risk"].count == 1 and response.context["insights"].settings_risks
    for query in order_queries:
        where = query.split(" WHERE ", 1)[1]
        assert re.search(rf'"sellers_order"\."seller_id" (= {revoked.pk}\b|IN \({revoked.pk}\))', where), query
        assert '"sellers_order"."purchase_date"' in where, query
    # session, user, seller, 2 snapshots, 4 orders, settings for the insights (pickups,
    # cutoffs, one-day regions: 5), event, control, 4 requirements, open plan, 2 permissions,
    # and the latest settings change, part of the insights' cache key
    assert len(sql) <= 28, sql
    assert card(response, "on_time_shipment_rate").chart.days_with_value == 5


def test_dashboard_without_snapshots_reads_no_orders_either(client, seller_user, seller, make_orders):
    make_orders(OrderFactory.build(seller=seller))
    client.force_login(seller_user)
    client.get(URL)
    with CaptureQueriesContext(connection) as queries:
        client.get(URL)
    assert not [q for q in queries.captured_queries if "sellers_order" in q["sql"]]


def test_before_the_first_run_the_page_says_when_metrics_appear(client, seller_user, seller):
    client.force_login(seller_user)
    response = client.get(URL)
    html = response.content.decode()
    assert response.status_code == 200 and response.context["cards"] == []
    assert "Your metrics appear after the first daily run" in html
    assert "Programme requirements" in html and "Prime order-volume controls" in html
    assert reverse("metrics:defects_csv") not in html


# --- Requirements and settings ----------------------------------------------------------


def test_passing_requirements_and_the_coverage_of_the_template(client, seller_user, seller):
    PrimeRegion.objects.filter(seller=seller, state__in=["CA", "NV", "OR"]).update(speed=Speed.ONE_DAY)
    client.force_login(seller_user)
    response = client.get(URL)
    html = response.content.decode()
    assert all(check.passing for check in response.context["requirement_checks"])
    assert "one-day delivery in 3 of 49 regions and two-day delivery in 46." in html
    assert "49 of 49 contiguous regions offer Prime." in html
    assert "Fix it in your settings" not in html
    assert f'href="{reverse("sellers:shipping_template")}"' in html


def test_failing_requirements_show_their_fix_and_the_settings_page(client, seller_user, seller):
    OperatingDay.objects.filter(seller=seller, weekday=Weekday.MONDAY).update(cutoff=dt.time(12, 0))
    PrimeRegion.objects.filter(seller=seller, state__in=["TX", "FL"]).update(speed=Speed.NOT_OFFERED)
    seller.weekend_delivery = False
    seller.save()
    client.force_login(seller_user)
    response = client.get(URL)
    checks = {check.name: check for check in response.context["requirement_checks"]}
    failing = {name for name, check in checks.items() if not check.passing}
    assert failing == {"nationwide_coverage", "weekday_cutoff", "weekend_delivery"}
    html = response.content.decode().replace("&#x27;", "'")
    for name, page in [
        ("nationwide_coverage", "sellers:shipping_template"),
        ("weekday_cutoff", "sellers:fulfilment"),
        ("weekend_delivery", "sellers:fulfilment"),
    ]:
        section = html[html.index(f'id="requirement-{name}"') :]
        section = section[: section.index("</li>")]
        assert "Failing" in section
        assert REQUIREMENTS[name].action in section
        assert f'<a href="{reverse(page)}">Fix it in your settings</a>' in section
    assert "47 of 49 contiguous regions offer Prime." in html
    assert "Cutoff before 14:00 on: Monday." in html


def test_a_missing_pickup_is_a_warning_with_its_fix(client, seller_user, seller):
    CarrierPickup.objects.filter(carrier_service__seller=seller, weekday=Weekday.TUESDAY).delete()
    client.force_login(seller_user)
    response = client.get(URL)
    check = next(c for c in response.context["requirement_checks"] if c.name == "carrier_pickups")
    assert check.warning and not check.passing
    html = response.content.decode()
    section = html[html.index('id="requirement-carrier_pickups"') :]
    section = section[: section.index("</li>")]
    assert "Warning" in section and "No carrier pickup at or after the cutoff on: Tuesday." in section
    assert f'<a href="{reverse("sellers:carriers")}">Fix it in your settings</a>' in section


def test_volume_controls_show_the_cap_and_link_to_their_settings(client, seller_user, seller):
    volume_control_change(seller=seller, daily_cap=40, paused=False, effective_at=NOW - dt.timedelta(days=1))
    client.force_login(seller_user)
    html = html_of(client)
    assert re.search(r'portal-daily-cap">40<', html)
    assert "Not paused" in html
    assert f'href="{reverse("sellers:volume_control")}"' in html
    assert f'href="{reverse("sellers:settings")}"' in html


def test_no_cap_and_an_open_ended_pause(client, seller_user, seller):
    volume_control_change(seller=seller, daily_cap=None, paused=True, effective_at=NOW - dt.timedelta(days=1))
    client.force_login(seller_user)
    html = html_of(client)
    assert "No cap" in html and "Paused until you switch it back on" in html
    assert "Prime badge paused" in html


# --- Access -----------------------------------------------------------------------------


def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"] == f"{reverse('login')}?next={URL}"


def test_an_account_without_a_seller_gets_404(client, outsider, healthy):
    client.force_login(outsider)
    assert client.get(URL).status_code == 404


def test_a_reviewer_opening_the_dashboard_is_sent_to_the_review_queue(client, reviewer, healthy):
    client.force_login(reviewer)
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"] == reverse("metrics:review_queue")


def test_each_seller_sees_only_their_own_dashboard(client, other_seller_user, revoked):
    client.force_login(other_seller_user)
    response = client.get(URL)
    html = response.content.decode()
    assert response.context["seller"].merchant_token == "SELLER02"
    assert "First Seller" not in html and "SELLER01" not in html
    assert "Eligible for Prime" in html
