"""One hand-computed case per rule of SPEC section 3, against the database computation and
the reference implementation alike (so a wrong oracle is caught here, not trusted)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from metrics.definitions import METRICS
from metrics.models import MetricSnapshot
from metrics.selectors import defect_report_rows, metric_counts
from metrics.services import sellers_evaluate, snapshots_compute
from sellers.choices import ProgrammeStatus
from sellers.factories import D, local_moment, orders_create
from sellers.models import Order, Seller, SellerEvent, VolumeControlChange
from sellers.services import volume_control_change
from tests.factories import SellerFactory
from tests.metrics import reference

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
MINUTE = dt.timedelta(minutes=1)


def _as_tuples(by_metric) -> dict[str, tuple[int, int, int]]:
    return {metric: (c.population, c.defects, c.protected) for metric, c in by_metric.items()}


def reference_counts(seller: Seller, day: dt.date = D) -> dict[tuple[int, int], dict[str, tuple[int, int, int]]]:
    ref_seller = reference.seller_of(
        seller, VolumeControlChange.objects.filter(seller=seller), SellerEvent.objects.filter(seller=seller)
    )
    orders = [reference.order_of(order) for order in Order.objects.filter(seller=seller)]
    counts = reference.metric_counts([ref_seller], {seller.pk: orders}, day)
    return {key: _as_tuples(by_metric) for key, by_metric in counts.items()}


def assert_counts(seller: Seller, *, day: dt.date = D, windows: tuple[int, ...] = (7, 30), **expected) -> None:
    """The named metrics have the hand-computed (population, defects[, protected]) units in
    each window, in the database computation and in the reference."""
    expected = {metric: (*value, 0) if len(value) == 2 else tuple(value) for metric, value in expected.items()}
    computed = metric_counts(day=day, seller_ids=[seller.pk])
    oracle = reference_counts(seller, day)
    for window_days in windows:
        got = _as_tuples(computed[(seller.pk, window_days)])
        assert set(got) == set(METRICS)
        assert {
            "metrics": {metric: got[metric] for metric in expected},
            "reference": {metric: oracle[(seller.pk, window_days)][metric] for metric in expected},
        } == {"metrics": expected, "reference": expected}, f"{window_days}-day window"


def report(seller: Seller, window_days: int = 30, day: dt.date = D) -> dict[str, set[str]]:
    """The defect report as {order id: names of its flags that are set}."""
    rows = {}
    for row in defect_report_rows(seller=seller, day=day, window_days=window_days):
        row = row if isinstance(row, dict) else vars(row)
        rows[row["order_id"]] = {flag for flag in reference.REPORT_FLAGS if row[flag]}
    return rows


def snapshots(seller: Seller, window_days: int = 30) -> dict[str, MetricSnapshot]:
    return {s.metric: s for s in MetricSnapshot.objects.filter(seller=seller, day=D, window_days=window_days)}


# --- The window. --------------------------------------------------------------------------


def test_window_covers_local_purchase_dates_from_d_minus_w_plus_1_to_d():
    seller = SellerFactory()
    orders_create(
        seller,
        [
            {"purchased_on": D, "units": 1},
            {"purchased_on": D - 6 * DAY, "units": 2},
            {"purchased_on": D - 7 * DAY, "units": 4},
            {"purchased_on": D - 29 * DAY, "units": 8},
            {"purchased_on": D - 30 * DAY, "units": 16},
            {"purchased_on": D + DAY, "units": 32},
        ],
    )
    assert_counts(seller, windows=(7,), cancellation_rate=(1 + 2, 0))
    assert_counts(seller, windows=(30,), cancellation_rate=(1 + 2 + 4 + 8, 0))


def test_window_is_local_purchase_date():
    seller = SellerFactory(timezone="Europe/Berlin")
    orders_create(
        seller,
        [
            # 22:30 UTC on D, but 23:30 on D in Berlin: in the window.
            {"purchased_at": local_moment(seller, D, 23, 30), "units": 1},
            # 23:30 UTC on D, but D+1 in Berlin: not yet.
            {"purchased_at": local_moment(seller, D + DAY, 0, 30), "units": 2},
            # D-7 in Berlin though D-7 in UTC too: outside the 7-day window.
            {"purchased_at": local_moment(seller, D - 7 * DAY, 23, 30), "units": 4},
            # 23:30 UTC on D-7, but D-6 in Berlin: inside the 7-day window.
            {"purchased_at": local_moment(seller, D - 6 * DAY, 0, 30), "units": 8},
        ],
    )
    assert_counts(seller, windows=(7,), cancellation_rate=(1 + 8, 0))
    assert_counts(seller, windows=(30,), cancellation_rate=(1 + 4 + 8, 0))


def test_order_before_evaluation_start_does_not_count():
    seller = SellerFactory(enrolled_on=D - 3 * DAY)
    orders_create(
        seller,
        [
            {"purchased_on": D - 4 * DAY, "units": 2, "cancelled_by": "seller", **_cancelled_at(seller, D - 4 * DAY)},
            {"purchased_on": D - 3 * DAY, "units": 1},
        ],
    )
    assert_counts(seller, cancellation_rate=(1, 0))
    assert report(seller) == {}


def test_evaluation_start_is_the_later_of_enrolment_and_reinstatement():
    reinstated = SellerFactory(enrolled_on=D - 20 * DAY, reinstated_on=D - 2 * DAY)
    enrolled_late = SellerFactory(enrolled_on=D - 3 * DAY, reinstated_on=D - 20 * DAY)
    for seller in (reinstated, enrolled_late):
        orders_create(seller, [{"purchased_on": D - 10 * DAY, "units": 2}, {"purchased_on": D - 2 * DAY, "units": 1}])
    assert_counts(reinstated, cancellation_rate=(1, 0))
    assert_counts(enrolled_late, cancellation_rate=(1, 0))


def _cancelled_at(seller: Seller, day: dt.date, hour: int = 11) -> dict:
    """A cancellation an hour after the 10:00 default purchase, never confirmed, scanned or delivered."""
    return {
        "cancelled_at": local_moment(seller, day, hour),
        "first_scan_at": None,
        "ship_confirmed_at": None,
        "delivered_at": None,
    }


# --- Prime orders: pauses and the daily cap. ----------------------------------------------


def test_order_placed_while_paused_counts_nowhere():
    seller = SellerFactory()
    volume_control_change(
        seller=seller, daily_cap=None, paused=True, effective_at=local_moment(seller, D - 10 * DAY, 0)
    )
    volume_control_change(
        seller=seller, daily_cap=None, paused=False, effective_at=local_moment(seller, D - 3 * DAY, 0)
    )
    orders_create(
        seller,
        [
            {"order_id": "PAUSED", "purchased_on": D - 5 * DAY, "units": 2, "cancelled_by": "seller"}
            | _cancelled_at(seller, D - 5 * DAY),
            {"order_id": "ACTIVE", "purchased_on": D - 2 * DAY, "units": 1},
        ],
    )
    assert_counts(
        seller,
        on_time_shipment_rate=(1, 0),
        on_time_delivery_rate=(1, 0),
        buy_shipping_rate=(1, 0),
        cancellation_rate=(1, 0),
        valid_tracking_rate=(1, 0),
        one_day_delivery_speed=(1, 0),
        two_day_delivery_speed=(1, 0),
    )
    assert report(seller) == {}


def test_pause_ends_at_paused_until():
    seller = SellerFactory()
    volume_control_change(
        seller=seller,
        daily_cap=None,
        paused=True,
        paused_until=local_moment(seller, D - 5 * DAY, 12),
        effective_at=local_moment(seller, D - 10 * DAY, 0),
    )
    orders_create(
        seller,
        [
            {"purchased_at": local_moment(seller, D - 5 * DAY, 11, 59), "units": 2},
            {"purchased_at": local_moment(seller, D - 5 * DAY, 12, 0), "units": 1},
        ],
    )
    assert_counts(seller, cancellation_rate=(1, 0))


def test_orders_over_daily_cap_count_nowhere():
    seller = SellerFactory()
    volume_control_change(seller=seller, daily_cap=2, paused=False, effective_at=local_moment(seller, D - 30 * DAY, 0))
    orders_create(
        seller,
        [
            {"purchased_at": local_moment(seller, D - 5 * DAY, 9), "units": 1},
            {"purchased_at": local_moment(seller, D - 5 * DAY, 10), "units": 2},
            {
                "order_id": "OVERCAP",
                "purchased_at": local_moment(seller, D - 5 * DAY, 11),
                "units": 4,
                "buy_shipping": False,
            },
            # A new local day, a new cap.
            {"purchased_at": local_moment(seller, D - 4 * DAY, 0, 5), "units": 8},
        ],
    )
    assert_counts(seller, cancellation_rate=(1 + 2 + 8, 0), buy_shipping_rate=(1 + 2 + 8, 0))
    assert report(seller) == {}


def test_daily_cap_counts_the_local_day():
    seller = SellerFactory(timezone="Asia/Ho_Chi_Minh")
    volume_control_change(seller=seller, daily_cap=1, paused=False, effective_at=local_moment(seller, D - 30 * DAY, 0))
    orders_create(
        seller,
        [
            # 17:30 UTC on D-6 is 00:30 on D-5 in Ho Chi Minh City: the same local day as the next.
            {"purchased_at": local_moment(seller, D - 5 * DAY, 0, 30), "units": 1},
            {"purchased_at": local_moment(seller, D - 5 * DAY, 23, 30), "units": 2},
        ],
    )
    assert_counts(seller, cancellation_rate=(1, 0))


def test_orders_placed_while_paused_do_not_use_up_the_daily_cap():
    seller = SellerFactory()
    volume_control_change(
        seller=seller,
        daily_cap=1,
        paused=True,
        paused_until=local_moment(seller, D - 5 * DAY, 12),
        effective_at=local_moment(seller, D - 5 * DAY, 0),
    )
    orders_create(
        seller,
        [
            {"purchased_at": local_moment(seller, D - 5 * DAY, 10), "units": 2},
            {"purchased_at": local_moment(seller, D - 5 * DAY, 13), "units": 1},
            {"purchased_at": local_moment(seller, D - 5 * DAY, 14), "units": 4},
        ],
    )
    assert_counts(seller, cancellation_rate=(1, 0))


def test_orders_over_the_cap_still_use_it_up():
    seller = SellerFactory()
    volume_control_change(seller=seller, daily_cap=1, paused=False, effective_at=local_moment(seller, D - 30 * DAY, 0))
    orders_create(
        seller,
        [
            {"purchased_at": local_moment(seller, D - 5 * DAY, 9), "units": 1},
            {"purchased_at": local_moment(seller, D - 5 * DAY, 10), "units": 2},
            {"purchased_at": local_moment(seller, D - 5 * DAY, 11), "units": 4},
        ],
    )
    # Raised to 2 after the second order: two earlier unpaused orders already reached it.
    volume_control_change(
        seller=seller, daily_cap=2, paused=False, effective_at=local_moment(seller, D - 5 * DAY, 10, 30)
    )
    assert_counts(seller, cancellation_rate=(1, 0))


def test_daily_cap_orders_purchased_at_the_same_moment_by_order_id():
    seller = SellerFactory()
    volume_control_change(seller=seller, daily_cap=1, paused=False, effective_at=local_moment(seller, D - 30 * DAY, 0))
    same_moment = local_moment(seller, D - 5 * DAY, 10)
    orders_create(
        seller,
        [
            {"order_id": "B-1", "purchased_at": same_moment, "units": 2},
            {"order_id": "A-1", "purchased_at": same_moment, "units": 1},
        ],
    )
    assert_counts(seller, cancellation_rate=(1, 0))


def test_daily_cap_of_zero_makes_no_order_prime():
    seller = SellerFactory()
    volume_control_change(seller=seller, daily_cap=0, paused=False, effective_at=local_moment(seller, D - 30 * DAY, 0))
    orders_create(seller, [{"purchased_on": D - 5 * DAY}, {"purchased_on": D - 4 * DAY}])
    assert_counts(seller, cancellation_rate=(0, 0), on_time_shipment_rate=(0, 0))


def test_cap_in_force_at_purchase_decides():
    seller = SellerFactory()
    volume_control_change(seller=seller, daily_cap=0, paused=False, effective_at=local_moment(seller, D - 30 * DAY, 0))
    volume_control_change(
        seller=seller, daily_cap=None, paused=False, effective_at=local_moment(seller, D - 5 * DAY, 12)
    )
    orders_create(
        seller,
        [
            {"purchased_at": local_moment(seller, D - 5 * DAY, 11), "units": 2},
            {"purchased_at": local_moment(seller, D - 5 * DAY, 13), "units": 1},
        ],
    )
    assert_counts(seller, cancellation_rate=(1, 0))


# --- On-time shipment and delivery. -------------------------------------------------------


def test_late_shipment_delivered_on_time_is_on_time():
    seller = SellerFactory()
    purchased_on = D - 6 * DAY
    orders_create(
        seller,
        [
            {
                "order_id": "LATE-SHIP",
                "purchased_on": purchased_on,
                "promised_ship_date": purchased_on,
                "promised_delivery_date": purchased_on + 2 * DAY,
                "first_scan_at": local_moment(seller, purchased_on + DAY, 9),
                "delivered_at": local_moment(seller, purchased_on + 2 * DAY, 18),
            }
        ],
    )
    assert_counts(seller, on_time_shipment_rate=(1, 0), on_time_delivery_rate=(1, 0))
    assert report(seller) == {"LATE-SHIP": {"shipped_late"}}


def test_late_shipment_delivered_late_is_a_shipment_defect():
    seller = SellerFactory()
    purchased_on = D - 6 * DAY
    orders_create(
        seller,
        [
            {
                "order_id": "LATE",
                "units": 3,
                "purchased_on": purchased_on,
                "promised_ship_date": purchased_on,
                "promised_delivery_date": purchased_on + 2 * DAY,
                "first_scan_at": local_moment(seller, purchased_on + DAY, 9),
                "delivered_at": local_moment(seller, purchased_on + 3 * DAY, 9),
            },
            {"purchased_on": purchased_on, "units": 1},
        ],
    )
    assert_counts(seller, on_time_shipment_rate=(4, 3), on_time_delivery_rate=(4, 3, 3))
    assert report(seller) == {"LATE": {"shipped_late", "delivered_late"}}


def test_undelivered_due_order_is_delivered_late():
    seller = SellerFactory()
    purchased_on = D - 4 * DAY
    orders_create(
        seller,
        [
            # Scanned on a Buy Shipping label: late, but protected.
            {"order_id": "SCANNED", "purchased_on": purchased_on, "delivered_at": None, "units": 1},
            # Never scanned: late and unprotected.
            {
                "order_id": "UNSCANNED",
                "purchased_on": purchased_on,
                "first_scan_at": None,
                "ship_confirmed_at": None,
                "delivered_at": None,
                "units": 2,
            },
        ],
    )
    assert_counts(seller, on_time_delivery_rate=(3, 3, 1), on_time_shipment_rate=(1, 0))
    assert report(seller) == {"SCANNED": {"delivered_late"}, "UNSCANNED": {"delivered_late"}}


def test_order_is_due_from_its_promised_delivery_date():
    seller = SellerFactory()
    orders_create(
        seller,
        [
            {"purchased_on": D - DAY, "promised_delivery_date": D, "delivered_at": None, "units": 1},
            {"purchased_on": D - DAY, "promised_delivery_date": D + DAY, "delivered_at": None, "units": 2},
        ],
    )
    assert_counts(seller, on_time_delivery_rate=(1, 1, 1))


def test_delivery_on_the_local_promised_date_is_on_time():
    seller = SellerFactory(timezone="America/Los_Angeles")
    purchased_on = D - 5 * DAY
    orders_create(
        seller,
        [
            # 23:30 in Los Angeles is the next day in UTC.
            {
                "purchased_on": purchased_on,
                "delivered_at": local_moment(seller, purchased_on + DAY, 23, 30),
                "units": 1,
            },
            {
                "purchased_on": purchased_on,
                "delivered_at": local_moment(seller, purchased_on + 2 * DAY, 0, 30),
                "units": 2,
            },
        ],
    )
    assert_counts(seller, on_time_delivery_rate=(3, 2, 2))


def test_cancelled_order_is_not_due():
    seller = SellerFactory()
    orders_create(
        seller,
        [
            {"purchased_on": D - 5 * DAY, "cancelled_by": "seller", "ship_confirmed_at": None}
            | _cancelled_at(seller, D - 5 * DAY)
        ],
    )
    assert_counts(seller, on_time_delivery_rate=(0, 0), cancellation_rate=(1, 1))


# --- Facts after D have not happened yet. -------------------------------------------------


def test_scan_after_d_is_not_yet_shipped():
    seller = SellerFactory(timezone="Europe/Berlin")
    purchased_on = D - DAY
    orders_create(
        seller,
        [
            {
                "order_id": "SCAN-D1",
                "purchased_on": purchased_on,
                "promised_delivery_date": D + DAY,
                "first_scan_at": local_moment(seller, D + DAY, 0, 30),
                "ship_confirmed_at": local_moment(seller, D, 20),
                "delivered_at": None,
                "buy_shipping": False,
                "units": 1,
            },
            {
                "order_id": "SCAN-D",
                "purchased_on": purchased_on,
                "promised_delivery_date": D + DAY,
                "first_scan_at": local_moment(seller, D, 23, 30),
                "ship_confirmed_at": None,
                "delivered_at": None,
                "buy_shipping": False,
                "units": 2,
            },
        ],
    )
    assert_counts(
        seller,
        on_time_shipment_rate=(2, 0),
        buy_shipping_rate=(2, 2),
        valid_tracking_rate=(1, 1),
        on_time_delivery_rate=(0, 0),
    )
    assert report(seller) == {
        "SCAN-D1": {"no_valid_tracking"},
        "SCAN-D": {"shipped_late", "outside_buy_shipping"},
    }
    # The next day the scan has happened.
    assert_counts(seller, day=D + DAY, buy_shipping_rate=(3, 3))


def test_delivery_after_d_is_not_yet_delivered():
    seller = SellerFactory(timezone="Pacific/Auckland")
    orders_create(
        seller,
        [
            {
                "purchased_on": D - 3 * DAY,
                "promised_delivery_date": D,
                "delivered_at": local_moment(seller, D + DAY, 0, 10),
                "buy_shipping": False,
            }
        ],
    )
    assert_counts(seller, on_time_delivery_rate=(1, 1))


def test_confirmation_after_d_is_not_yet_confirmed():
    seller = SellerFactory()
    orders_create(
        seller,
        [
            {
                "purchased_on": D,
                "first_scan_at": None,
                "delivered_at": None,
                "ship_confirmed_at": local_moment(seller, D + DAY, 0, 1),
                "tracking_id": "",
            }
        ],
    )
    assert_counts(seller, valid_tracking_rate=(0, 0))
    assert_counts(seller, day=D + DAY, valid_tracking_rate=(1, 1))


def test_cancellation_after_d_is_not_yet_cancelled():
    seller = SellerFactory()
    orders_create(
        seller,
        [
            {
                "purchased_at": local_moment(seller, D, 20),
                "promised_delivery_date": D + 2 * DAY,
                "cancelled_at": local_moment(seller, D + DAY, 1),
                "cancelled_by": "seller",
                "first_scan_at": None,
                "ship_confirmed_at": None,
                "delivered_at": None,
            }
        ],
    )
    assert_counts(seller, cancellation_rate=(1, 0), one_day_delivery_speed=(1, 1))
    assert report(seller) == {}
    assert_counts(seller, day=D + DAY, cancellation_rate=(1, 1), one_day_delivery_speed=(0, 0))


# --- Shipped, Buy Shipping, tracking. -----------------------------------------------------


def test_shipped_means_first_scan_not_confirmation():
    seller = SellerFactory()
    not_due = {"delivered_at": None, "promised_delivery_date": D + DAY}
    orders_create(
        seller,
        [
            # Confirmed by the seller, never scanned by the carrier: not shipped.
            {"order_id": "CONFIRMED", "purchased_on": D - DAY, "first_scan_at": None, "units": 1} | not_due,
            # Scanned, never confirmed: shipped.
            {"order_id": "SCANNED", "purchased_on": D - DAY, "ship_confirmed_at": None, "units": 2} | not_due,
        ],
    )
    assert_counts(seller, on_time_shipment_rate=(2, 0), buy_shipping_rate=(2, 0), valid_tracking_rate=(1, 1))
    assert report(seller) == {"CONFIRMED": {"no_valid_tracking"}}


def test_confirmed_without_tracking_is_not_valid():
    seller = SellerFactory()
    orders_create(
        seller,
        [
            {"order_id": "NO-TRACKING", "purchased_on": D - 5 * DAY, "tracking_id": "", "units": 1},
            {"order_id": "TRACKED", "purchased_on": D - 5 * DAY, "units": 2},
            # Never confirmed: outside the population even without a tracking id.
            {"order_id": "UNCONFIRMED", "purchased_on": D - 5 * DAY, "tracking_id": "", "ship_confirmed_at": None},
        ],
    )
    assert_counts(seller, valid_tracking_rate=(3, 1))
    assert report(seller) == {"NO-TRACKING": {"no_valid_tracking"}}


def test_shipment_outside_buy_shipping_is_a_defect():
    seller = SellerFactory()
    orders_create(
        seller,
        [
            {"order_id": "OWN-LABEL", "purchased_on": D - 5 * DAY, "buy_shipping": False, "units": 2},
            {"order_id": "BUY-SHIPPING", "purchased_on": D - 5 * DAY, "units": 1},
            # Not shipped: not in the population, whatever its label.
            {"order_id": "UNSHIPPED", "purchased_on": D - DAY, "buy_shipping": False, "first_scan_at": None}
            | {"delivered_at": None, "ship_confirmed_at": None, "promised_delivery_date": D + DAY},
        ],
    )
    assert_counts(seller, buy_shipping_rate=(3, 2))
    assert report(seller) == {"OWN-LABEL": {"outside_buy_shipping"}}


# --- Cancellations. -----------------------------------------------------------------------


def test_seller_cancellation_is_a_defect():
    seller = SellerFactory()
    orders_create(
        seller,
        [
            {"order_id": "CANCELLED", "purchased_on": D - 5 * DAY, "cancelled_by": "seller", "units": 3}
            | _cancelled_at(seller, D - 5 * DAY),
            {"purchased_on": D - 5 * DAY, "units": 1},
        ],
    )
    assert_counts(seller, cancellation_rate=(4, 3))
    assert report(seller) == {"CANCELLED": {"cancelled_by_seller"}}


def test_customer_cancellation_within_30_minutes_never_counts():
    seller = SellerFactory()
    purchased_at = local_moment(seller, D - 5 * DAY, 10)
    orders_create(
        seller,
        [
            {
                "purchased_at": purchased_at,
                "cancelled_at": purchased_at + 30 * MINUTE,
                "cancelled_by": "customer",
                "first_scan_at": None,
                "ship_confirmed_at": None,
                "delivered_at": None,
                "promised_delivery_date": D - 2 * DAY,
            }
        ],
    )
    # In the cancellation population (every order), never a defect; cancelled, so not due.
    assert_counts(seller, cancellation_rate=(1, 0), on_time_delivery_rate=(0, 0), one_day_delivery_speed=(0, 0))
    assert report(seller) == {}


def test_seller_cancellation_requested_by_customer_does_not_count():
    seller = SellerFactory()
    cancelled_at = local_moment(seller, D - 5 * DAY, 12)

    def cancelled(order_id, units, requested_at):
        return {
            "order_id": order_id,
            "purchased_on": D - 5 * DAY,
            "units": units,
            "cancelled_by": "seller",
            "cancelled_at": cancelled_at,
            "cancel_requested_at": requested_at,
            "first_scan_at": None,
            "ship_confirmed_at": None,
            "delivered_at": None,
        }

    orders_create(
        seller,
        [
            cancelled("UNREQUESTED", 1, None),
            cancelled("REQUESTED-BEFORE", 2, cancelled_at - HOUR),
            cancelled("REQUESTED-AT", 4, cancelled_at),
            cancelled("REQUESTED-AFTER", 8, cancelled_at + MINUTE),
        ],
    )
    assert_counts(seller, cancellation_rate=(15, 1 + 8))
    assert report(seller) == {"UNREQUESTED": {"cancelled_by_seller"}, "REQUESTED-AFTER": {"cancelled_by_seller"}}


# --- Delivery speed. ----------------------------------------------------------------------


def test_delivery_speed_counts_not_cancelled_orders():
    seller = SellerFactory()
    purchased_on = D - 6 * DAY

    def promised(days, units, **fields):
        return {
            "purchased_on": purchased_on,
            "promised_delivery_date": purchased_on + days * DAY,
            "units": units,
        } | fields

    orders_create(
        seller,
        [
            promised(1, 1),
            promised(2, 2),
            promised(3, 4),
            promised(3, 8, cancelled_by="customer", **_cancelled_at(seller, purchased_on, hour=10)),
            promised(1, 16, cancelled_by="seller", **_cancelled_at(seller, purchased_on)),
        ],
    )
    assert_counts(seller, one_day_delivery_speed=(7, 2 + 4), two_day_delivery_speed=(7, 4))


def test_delivery_speed_uses_local_purchase_date():
    seller = SellerFactory(timezone="America/Los_Angeles")
    purchased_on = D - 5 * DAY
    orders_create(
        seller,
        [
            # Purchased late on D-5 in Los Angeles (D-4 in UTC), promised for D-3: two days.
            {
                "purchased_at": local_moment(seller, purchased_on, 23, 30),
                "promised_ship_date": purchased_on + DAY,
                "promised_delivery_date": purchased_on + 2 * DAY,
                "first_scan_at": local_moment(seller, purchased_on + DAY, 12),
                "delivered_at": local_moment(seller, purchased_on + 2 * DAY, 12),
            }
        ],
    )
    assert_counts(seller, one_day_delivery_speed=(1, 1), two_day_delivery_speed=(1, 0))


def test_seller_without_orders_has_zero_counts():
    seller = SellerFactory()
    computed = metric_counts(day=D, seller_ids=[seller.pk])
    assert set(computed) == {(seller.pk, 7), (seller.pk, 30)}
    for by_metric in computed.values():
        assert _as_tuples(by_metric) == dict.fromkeys(METRICS, (0, 0, 0))


# --- Snapshots and eligibility. -----------------------------------------------------------


def test_cancellation_rate_equal_to_threshold_passes():
    at_threshold = SellerFactory()
    above = SellerFactory()
    purchased_on = D - 5 * DAY
    # One of 200 units cancelled by the seller: 1/200 = 0.005 exactly, the threshold.
    for seller, cancelled_units in ((at_threshold, 1), (above, 2)):
        orders_create(
            seller,
            [
                {"purchased_on": purchased_on, "units": 200 - cancelled_units},
                {"purchased_on": purchased_on, "units": cancelled_units, "cancelled_by": "seller"}
                | _cancelled_at(seller, purchased_on),
            ],
        )
    snapshots_compute(day=D, seller_ids=[at_threshold.pk, above.pk])

    cancellation = snapshots(at_threshold)["cancellation_rate"]
    assert (cancellation.population_units, cancellation.defect_units) == (200, 1)
    assert cancellation.threshold == Decimal("0.005")
    assert cancellation.rate == 0.005
    assert cancellation.passing is True
    assert snapshots(above)["cancellation_rate"].passing is False


def test_rate_equal_to_threshold_passes():
    at_threshold = SellerFactory()
    below = SellerFactory()
    purchased_on = D - 5 * DAY
    unshipped = {"first_scan_at": None, "ship_confirmed_at": None, "delivered_at": None}
    # 13 of 200 due units never delivered: 1 - 13/200 = 0.935 exactly.
    orders_create(
        at_threshold,
        [{"purchased_on": purchased_on, "units": 187}, {"purchased_on": purchased_on, "units": 13, **unshipped}],
    )
    orders_create(
        below, [{"purchased_on": purchased_on, "units": 186}, {"purchased_on": purchased_on, "units": 14, **unshipped}]
    )
    snapshots_compute(day=D, seller_ids=[at_threshold.pk, below.pk])

    delivery = snapshots(at_threshold)["on_time_delivery_rate"]
    assert (delivery.population_units, delivery.defect_units, delivery.protected_units) == (200, 13, 0)
    assert delivery.threshold == Decimal("0.935")
    assert delivery.rate == 0.935
    assert delivery.passing is True
    assert snapshots(below)["on_time_delivery_rate"].passing is False


def test_population_zero_has_no_value_and_passes():
    seller = SellerFactory()
    # Orders only before the 30-day window: both windows are empty.
    orders_create(
        seller, [{"purchased_on": D - 40 * DAY, "cancelled_by": "seller"} | _cancelled_at(seller, D - 40 * DAY)]
    )
    snapshots_compute(day=D, seller_ids=[seller.pk])
    for window_days in (7, 30):
        rows = snapshots(seller, window_days)
        assert set(rows) == set(METRICS)
        for snapshot in rows.values():
            assert snapshot.population_units == 0
            assert snapshot.rate is None
            assert snapshot.passing is True
    result = sellers_evaluate(day=D, seller_ids=[seller.pk])
    assert result.revoked == []
    seller.refresh_from_db()
    assert seller.status == ProgrammeStatus.ELIGIBLE


def test_buy_shipping_protection_decides_eligibility():
    protected = SellerFactory()
    unprotected = SellerFactory()
    purchased_on = D - 5 * DAY
    # 10 of 100 units late: 0.90 shown, below 0.935.
    orders_create(
        protected,
        [
            {"purchased_on": purchased_on, "units": 90},
            # Shipped on time on a Buy Shipping label, delivered late: excused for eligibility.
            {
                "purchased_on": purchased_on,
                "units": 10,
                "delivered_at": local_moment(protected, purchased_on + 3 * DAY, 12),
            },
        ],
    )
    orders_create(
        unprotected,
        [
            {"purchased_on": purchased_on, "units": 90},
            # Never shipped: no label to be protected by.
            {"purchased_on": purchased_on, "units": 10, "first_scan_at": None, "ship_confirmed_at": None}
            | {"delivered_at": None},
        ],
    )
    assert_counts(protected, on_time_delivery_rate=(100, 10, 10), buy_shipping_rate=(100, 0))
    assert_counts(unprotected, on_time_delivery_rate=(100, 10, 0), buy_shipping_rate=(90, 0))

    snapshots_compute(day=D, seller_ids=[protected.pk, unprotected.pk])
    shown = snapshots(protected)["on_time_delivery_rate"]
    assert shown.rate == 0.9
    assert shown.rate < float(shown.threshold)
    assert shown.passing is True
    assert snapshots(unprotected)["on_time_delivery_rate"].passing is False
    for seller in (protected, unprotected):
        failing = [s.metric for s in MetricSnapshot.objects.filter(seller=seller, day=D, passing=False)]
        assert failing == (["on_time_delivery_rate"] * 2 if seller == unprotected else [])

    result = sellers_evaluate(day=D, seller_ids=[protected.pk, unprotected.pk])
    assert result.revoked == [unprotected.pk]
    protected.refresh_from_db()
    unprotected.refresh_from_db()
    assert protected.status == ProgrammeStatus.ELIGIBLE
    assert unprotected.status == ProgrammeStatus.NOT_ELIGIBLE


def test_recompute_replaces_snapshots():
    seller = SellerFactory()
    orders_create(seller, [{"purchased_on": D - 5 * DAY, "units": 2}])
    snapshots_compute(day=D, seller_ids=[seller.pk])
    snapshots_compute(day=D, seller_ids=[seller.pk])
    assert MetricSnapshot.objects.filter(seller=seller, day=D).count() == 2 * len(METRICS)

    orders_create(
        seller,
        [{"purchased_on": D - 20 * DAY, "units": 3, "cancelled_by": "seller"} | _cancelled_at(seller, D - 20 * DAY)],
    )
    snapshots_compute(day=D, seller_ids=[seller.pk])
    assert MetricSnapshot.objects.filter(seller=seller, day=D).count() == 2 * len(METRICS)
    week, month = snapshots(seller, 7)["cancellation_rate"], snapshots(seller, 30)["cancellation_rate"]
    assert (week.population_units, week.defect_units) == (2, 0)
    assert (month.population_units, month.defect_units) == (5, 3)


def test_facts_arriving_after_d_leave_ds_numbers_unchanged():
    seller = SellerFactory()
    purchased_on = D - 2 * DAY
    [waiting, cancelled] = orders_create(
        seller,
        [
            {"order_id": "WAITING", "purchased_on": purchased_on, "units": 1}
            | {"first_scan_at": None, "ship_confirmed_at": None, "delivered_at": None},
            {"order_id": "CANCELLED-LATER", "purchased_on": purchased_on, "units": 2}
            | {"first_scan_at": None, "ship_confirmed_at": None, "delivered_at": None},
        ],
    )
    before = _as_tuples(metric_counts(day=D, seller_ids=[seller.pk])[(seller.pk, 30)])
    snapshots_compute(day=D, seller_ids=[seller.pk])
    stored_before = {m: (s.population_units, s.defect_units, s.protected_units) for m, s in snapshots(seller).items()}

    # The next days' re-imports: scanned, confirmed and delivered on D+1, cancelled on D+2.
    waiting.first_scan_at = local_moment(seller, D + DAY, 0, 5)
    waiting.ship_confirmed_at = local_moment(seller, D + DAY, 0, 1)
    waiting.delivered_at = local_moment(seller, D + DAY, 18)
    cancelled.cancelled_at = local_moment(seller, D + 2 * DAY, 9)
    cancelled.cancelled_by = "seller"
    for order in (waiting, cancelled):
        order.set_local_dates(seller.zone)
        order.save()

    assert _as_tuples(metric_counts(day=D, seller_ids=[seller.pk])[(seller.pk, 30)]) == before
    snapshots_compute(day=D, seller_ids=[seller.pk])
    stored_after = {m: (s.population_units, s.defect_units, s.protected_units) for m, s in snapshots(seller).items()}
    assert stored_after == stored_before
    assert_counts(
        seller,
        on_time_shipment_rate=(0, 0),
        on_time_delivery_rate=(3, 3),
        valid_tracking_rate=(0, 0),
        cancellation_rate=(3, 0),
        one_day_delivery_speed=(3, 0),
    )
