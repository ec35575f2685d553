"""The per-order explanation names exactly the defects the report flags."""

from __future__ import annotations

import datetime as dt

import pytest

from metrics.explain import order_explanation
from metrics.selectors import defect_orders, order_flags
from sellers.choices import CancelledBy
from tests.builders import D, order_for

pytestmark = pytest.mark.django_db


def test_late_shipment_and_late_delivery_are_explained_with_their_dates(seller, make_orders):
    order = order_for(seller, purchased_on=dt.date(2026, 11, 11))
    order.first_scan_at = order.purchased_at + dt.timedelta(days=1)
    order.delivered_at = order.purchased_at + dt.timedelta(days=4)
    order.set_local_dates(seller.zone)
    (order,) = make_orders(order)
    assert order_explanation(order, D) == [
        "First scanned 2026-11-12, promised ship date 2026-11-11.",
        "Delivered 2026-11-15, promised 2026-11-12.",
    ]


def test_undelivered_order_names_the_day_it_was_judged(seller, make_orders):
    (order,) = make_orders(order_for(seller, purchased_on=dt.date(2026, 11, 11), delivered_at=None))
    assert order_explanation(order, D) == ["Not delivered by 2026-11-20, promised 2026-11-12."]


def test_seller_cancellation_and_missing_tracking_are_explained(seller, make_orders):
    cancelled = order_for(seller, first_scan_at=None, delivered_at=None, ship_confirmed_at=None)
    cancelled.cancelled_at = cancelled.purchased_at + dt.timedelta(hours=3)
    cancelled.cancelled_by = CancelledBy.SELLER
    cancelled.set_local_dates(seller.zone)
    untracked = order_for(seller, tracking_id="")
    cancelled, untracked = make_orders(cancelled, untracked)
    assert order_explanation(cancelled, D) == [
        "Cancelled by you on 2026-11-15 without a cancellation request from the customer."
    ]
    assert order_explanation(untracked, D) == ["Shipment confirmed on 2026-11-15 without a tracking id."]


def test_an_order_without_defects_has_no_explanation(seller, make_orders):
    (order,) = make_orders(order_for(seller))
    assert order_explanation(order, D) == []


def test_report_rows_explanations_and_python_flags_agree(seller, make_orders):
    late = order_for(seller, delivered_at=None)
    outside = order_for(seller, buy_shipping=False)
    make_orders(late, outside, order_for(seller))
    rows = list(defect_orders(seller=seller, day=D, window_days=30))
    assert [r.order_id for r in rows] == [late.order_id, outside.order_id]
    for row in rows:
        flags = {name: getattr(row, name) for name in order_flags(row, D)}
        assert flags == order_flags(row, D)
        assert len(order_explanation(row, D)) == sum(flags.values())
