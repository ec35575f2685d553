"""GET /api/performance/ (SPEC section 6): shape, numbers, errors, seller scope."""

from __future__ import annotations

import datetime as dt

import pytest

from metrics.services import daily_run
from sellers.factories import D, OrderFactory, local_moment
from sellers.services import volume_control_change

pytestmark = pytest.mark.django_db
URL = "/api/performance/"


def late_delivery(seller, *, buy_shipping):
    # Bought at 09:00 on Sunday, Nov. 15.
    purchased_at = local_moment(seller, D - dt.timedelta(days=5), 9)
    return OrderFactory.build(seller=seller, purchased_at=purchased_at, buy_shipping=buy_shipping, late_delivery=2)


@pytest.fixture
def computed(seller, other_seller, make_orders):
    make_orders(
        *(OrderFactory.build(seller=seller, units=2) for _ in range(19)),
        late_delivery(seller, buy_shipping=True),
        late_delivery(seller, buy_shipping=False),
        OrderFactory.build(seller=other_seller),
    )
    daily_run(day=D)
    return seller


def test_status_has_the_spec_shape_and_exact_numbers(client, seller_user, computed):
    client.force_login(seller_user)
    body = client.get(URL, {"window": 30}).json()
    assert body["merchant_token"] == "SELLER01" and body["date"] == D.isoformat() and body["window_days"] == 30
    assert body["status"] == "not_eligible" and body["prime_badge_active"] is False
    assert list(body["metrics"]) == [
        "on_time_shipment_rate",
        "on_time_delivery_rate",
        "buy_shipping_rate",
        "cancellation_rate",
        "valid_tracking_rate",
        "one_day_delivery_speed",
        "two_day_delivery_speed",
    ]
    otd = body["metrics"]["on_time_delivery_rate"]
    assert otd == {
        "rate": 0.95,
        "units": 40,
        "defect_units": 2,
        "protected_units": 1,
        "excused_units": 0,
        "excused_by": [],
        "eligibility_rate": 0.975,
        "threshold": 0.935,
        "passing": True,
        # Allowance floor(6.5 % of 40) = 2, 1 counted (1 protected): headroom 1, not below max(1, ceil(2 / 4)).
        "at_risk": False,
    }
    assert body["metrics"]["buy_shipping_rate"] == {
        "rate": 0.975,
        "units": 40,
        "defect_units": 1,
        "excused_units": 0,
        "excused_by": [],
        "threshold": 0.99,
        "passing": False,
        "at_risk": False,  # failing, not at risk
    }
    assert body["requirements"]["nationwide_coverage"] == {"passing": True}
    assert body["requirements"]["carrier_pickups"] == {"passing": True, "warning": True}
    assert body["volume_control"] == {"daily_cap": None, "paused": False, "paused_until": None}


def test_rate_is_null_when_the_population_is_zero(client, seller_user, seller):
    daily_run(day=D)
    client.force_login(seller_user)
    metric = client.get(URL, {"window": 7}).json()["metrics"]["on_time_shipment_rate"]
    assert metric == {
        "rate": None,
        "units": 0,
        "defect_units": 0,
        "excused_units": 0,
        "excused_by": [],
        "threshold": 0.99,
        "passing": True,
        "at_risk": False,
    }


def test_date_defaults_to_the_latest_computed_day(client, seller_user, computed):
    daily_run(day=D - dt.timedelta(days=3))
    client.force_login(seller_user)
    assert client.get(URL).json()["date"] == D.isoformat()
    assert client.get(URL, {"date": (D - dt.timedelta(days=3)).isoformat()}).json()["date"] == "2026-11-17"


def test_volume_control_shows_in_the_status(client, seller_user, computed):
    volume_control_change(seller=computed, daily_cap=40, paused=True)
    client.force_login(seller_user)
    assert client.get(URL).json()["volume_control"] == {"daily_cap": 40, "paused": True, "paused_until": None}


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ({"window": "14"}, 400, "window must be 7 or 30"),
        ({"window": "x"}, 400, "window must be 7 or 30"),
        ({"date": "2026-13-01"}, 400, "YYYY-MM-DD"),
        ({"date": "2026-01-01"}, 404, "No metrics were computed for 2026-01-01"),
    ],
)
def test_bad_requests_get_a_clear_json_error(client, seller_user, computed, query, status, message):
    client.force_login(seller_user)
    response = client.get(URL, query)
    assert response.status_code == status
    assert message in response.json()["error"]


@pytest.mark.parametrize(
    ("raw", "window"), [("", 30), ("7", 7), ("30", 30), ("07", None), (" 7", None), ("7.0", None), ("14", None)]
)
def test_the_status_and_the_pages_read_the_window_alike(client, seller_user, computed, raw, window):
    """One reading of ``?window=`` (``metrics.definitions.parse_window``): empty is the default,
    anything but 7 or 30 written so is refused (the pages show 30 days and say so)."""
    client.force_login(seller_user)
    status = client.get(URL, {"window": raw})
    report = client.get("/performance/defects.csv", {"window": raw})
    dashboard = client.get("/performance/", {"window": raw})
    if window is None:
        assert (status.status_code, report.status_code) == (400, 400)
        assert dashboard.context["notice"].startswith(f"There is no “{raw}” window")
    else:
        assert status.json()["window_days"] == window and report.status_code == 200
        assert f"Performance over the last {window} days" in dashboard.content.decode()


def test_no_snapshots_yet_is_a_clear_404(client, seller_user):
    client.force_login(seller_user)
    response = client.get(URL)
    assert response.status_code == 404 and "after the daily run" in response.json()["error"]


def test_anonymous_gets_401_json_not_a_login_page(client, computed):
    response = client.get(URL)
    assert response.status_code == 401 and "error" in response.json()


def test_each_seller_sees_only_their_own_numbers(client, other_seller_user, computed):
    client.force_login(other_seller_user)
    body = client.get(URL).json()
    assert body["merchant_token"] == "SELLER02"
    assert body["metrics"]["cancellation_rate"]["units"] == 1


def test_staff_without_a_seller_gets_404(client, reviewer, computed):
    client.force_login(reviewer)
    assert client.get(URL).status_code == 404


def test_post_is_not_allowed(client, seller_user, computed):
    client.force_login(seller_user)
    assert client.post(URL).status_code == 405


# --- insights (metrics.insights) ---------------------------------------------------------


def test_insights_give_exact_headroom_and_the_root_causes_of_the_weakest_metric(client, seller_user, computed, clock):
    client.force_login(seller_user)
    body = client.get(URL, {"window": 30}).json()
    insights = body["insights"]
    assert set(insights) == {"headroom", "at_risk", "root_causes", "settings_risks"}
    # 40 units each; 2 delivered late (1 protected); 1 shipped outside Buy Shipping.
    assert insights["headroom"] == {
        "on_time_shipment_rate": 0,  # floor(0.01 * 40) - 0
        "on_time_delivery_rate": 1,  # floor(0.065 * 40) - (2 - 1)
        "buy_shipping_rate": -1,  # floor(0.01 * 40) - 1: failing by one unit
        "cancellation_rate": 0,  # floor(0.005 * 40) - 0
        "valid_tracking_rate": 0,
        "one_day_delivery_speed": 28,  # floor(0.7 * 40) - 0
        "two_day_delivery_speed": 10,  # floor(0.26 * 40) - 0
    }
    causes = insights["root_causes"]
    assert causes["metric"] == "buy_shipping_rate" and causes["defect_units"] == 1
    assert causes["by_carrier"] == [{"key": "UPS Ground", "label": "UPS Ground", "units": 1, "percent": 100.0}]
    assert causes["by_state"] == [{"key": "CA", "label": "California", "units": 1, "percent": 100.0}]
    # Bought at 09:00 on Sunday, Nov. 15, a day the default settings do not operate.
    assert causes["by_hour"] == [{"key": "9", "label": "09:00", "units": 1, "percent": 100.0, "after_cutoff_units": 1}]
    assert causes["largest"] == "UPS Ground carried 100 % of your shipments outside Buy Shipping."
    assert (
        causes["after_cutoff"]
        == "100 % of your shipments outside Buy Shipping were ordered on Sunday, a day you do not ship."
    )
    assert insights["at_risk"] == {"today": "2026-11-21", "orders": [], "count": 0, "units": 0, "projected": {}}
    assert insights["settings_risks"] == []


def test_insights_headroom_is_null_without_orders(client, seller_user, seller, clock):
    daily_run(day=D)
    client.force_login(seller_user)
    insights = client.get(URL, {"window": 7}).json()["insights"]
    assert set(insights["headroom"].values()) == {None}
    assert insights["root_causes"] is None


def test_insights_list_orders_at_risk_and_settings_risks(client, seller_user, seller, other_seller, make_orders, clock):
    from sellers.models import CarrierPickup

    today = dt.date(2026, 11, 21)
    at_risk = OrderFactory.build(seller=seller, purchased_at=local_moment(seller, today, 9), units=2, not_shipped=True)
    theirs = OrderFactory.build(
        seller=other_seller, purchased_at=local_moment(other_seller, today, 9), not_shipped=True
    )
    make_orders(at_risk, theirs, *(OrderFactory.build(seller=seller) for _ in range(8)))
    CarrierPickup.objects.filter(carrier_service__seller=seller, weekday=5).delete()  # Saturday
    daily_run(day=D)
    client.force_login(seller_user)
    insights = client.get(URL, {"window": 7}).json()["insights"]
    [order] = insights["at_risk"]["orders"]
    assert order == {
        "order_id": at_risk.order_id,
        "kind": "not_scanned_ship_today",
        "units": 2,
        "purchased_at": "2026-11-21T09:00:00-08:00",
        "promised_ship_date": "2026-11-21",
        "promised_delivery_date": "2026-11-22",
        "deadline": "2026-11-21T23:59:59-08:00",  # no pickup on Saturday any more: end of day
        "deadline_is_pickup": False,
        "metrics": ["on_time_shipment_rate", "on_time_delivery_rate"],
    }
    assert (insights["at_risk"]["count"], insights["at_risk"]["units"]) == (1, 2)
    # The snapshot's 8 shipped units plus the 2 at risk, all of them late.
    assert insights["at_risk"]["projected"]["on_time_shipment_rate"] == {"rate": 0.8, "passing": False}
    assert insights["at_risk"]["projected"]["on_time_delivery_rate"] == {"rate": 0.8, "passing": False}
    [risk] = insights["settings_risks"]
    assert risk == {
        "kind": "weekend_without_pickup",
        "detail": "You ship on Saturday, but no carrier picks up that day: its orders wait for the next pickup.",
        "orders": 0,
        "units": 0,
        "fix_url": "/settings/carriers/",
    }
