"""The per-order explanation names exactly the defects the report flags."""

from __future__ import annotations

import datetime as dt

import pytest

from metrics.explain import order_explanation
from metrics.selectors import defect_orders, order_flags
from sellers.choices import CancelledBy
from sellers.factories import D, OrderFactory

pytestmark = pytest.mark.django_db


def test_late_shipment_and_late_delivery_are_explained_with_their_dates(seller, make_orders):
    (order,) = make_orders(
        OrderFactory.build(seller=seller, purchased_on=dt.date(2026, 11, 11), late_shipment=1, late_delivery=3)
    )
    assert order_explanation(order, D) == [
        "First scanned Nov. 12, 2026, promised ship date Nov. 11, 2026.",
        "Delivered Nov. 15, 2026, promised Nov. 12, 2026.",
    ]


def test_undelivered_order_names_the_day_it_was_judged(seller, make_orders):
    (order,) = make_orders(OrderFactory.build(seller=seller, purchased_on=dt.date(2026, 11, 11), not_delivered=True))
    assert order_explanation(order, D) == ["Not delivered by Nov. 20, 2026, promised Nov. 12, 2026."]


def test_seller_cancellation_and_missing_tracking_are_explained(seller, make_orders):
    cancelled = OrderFactory.build(seller=seller, cancelled=CancelledBy.SELLER)
    untracked = OrderFactory.build(seller=seller, no_tracking=True)
    cancelled, untracked = make_orders(cancelled, untracked)
    assert order_explanation(cancelled, D) == [
        "Cancelled by you on Nov. 15, 2026 without a cancellation request from the customer."
    ]
    assert order_explanation(untracked, D) == ["Shipment confirmed on Nov. 15, 2026 without a tracking id."]


def test_an_order_without_defects_has_no_explanation(seller, make_orders):
    (order,) = make_orders(OrderFactory.build(seller=seller))
    assert order_explanation(order, D) == []


def test_report_rows_explanations_and_python_flags_agree(seller, make_orders):
    late = OrderFactory.build(seller=seller, not_delivered=True)
    outside = OrderFactory.build(seller=seller, outside_buy_shipping=True)
    make_orders(late, outside, OrderFactory.build(seller=seller))
    rows = list(defect_orders(seller=seller, day=D, window_days=30))
    assert [r.order_id for r in rows] == [late.order_id, outside.order_id]
    for row in rows:
        flags = {name: getattr(row, name) for name in order_flags(row, D)}
        assert flags == order_flags(row, D)
        assert len(order_explanation(row, D)) == sum(flags.values())
