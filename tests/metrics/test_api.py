"""GET /api/performance/ (SPEC section 6): shape, numbers, errors, seller scope."""

from __future__ import annotations

import datetime as dt

import pytest

from metrics.services import daily_run
from sellers.services import volume_control_change
from tests.builders import D, order_for

pytestmark = pytest.mark.django_db
URL = "/api/performance/"


def late_delivery(seller, *, buy_shipping):
    order = order_for(seller, buy_shipping=buy_shipping)
    order.delivered_at = order.purchased_at + dt.timedelta(days=3)
    order.set_local_dates(seller.zone)
    return order


@pytest.fixture
def computed(seller, other_seller, make_orders):
    make_orders(
        *(order_for(seller, units=2) for _ in range(19)),
        late_delivery(seller, buy_shipping=True),
        late_delivery(seller, buy_shipping=False),
        order_for(other_seller),
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
        "eligibility_rate": 0.975,
        "threshold": 0.935,
        "passing": True,
    }
    assert body["metrics"]["buy_shipping_rate"] == {
        "rate": 0.975,
        "units": 40,
        "defect_units": 1,
        "threshold": 0.99,
        "passing": False,
    }
    assert body["requirements"]["nationwide_coverage"] == {"passing": True}
    assert body["requirements"]["carrier_pickups"] == {"passing": True, "warning": True}
    assert body["volume_control"] == {"daily_cap": None, "paused": False, "paused_until": None}


def test_rate_is_null_when_the_population_is_zero(client, seller_user, seller):
    daily_run(day=D)
    client.force_login(seller_user)
    metric = client.get(URL, {"window": 7}).json()["metrics"]["on_time_shipment_rate"]
    assert metric == {"rate": None, "units": 0, "defect_units": 0, "threshold": 0.99, "passing": True}


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
