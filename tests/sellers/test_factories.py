"""The one order builder (sellers.factories) that the tests, the demo and the bench share:
each shape is an order the import would accept and has exactly the defect it names, and the
bench's COPY rows are the orders the tests build."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from metrics.definitions import REPORT_FLAGS
from sellers.choices import CancelledBy
from sellers.factories import ROW_COLUMNS, D, OrderFactory, local_moment, order_rows
from sellers.importing import COLUMNS, OrderValues, SellerRef, order_problems
from sellers.models import Seller

ZONES = ("America/Los_Angeles", "Europe/Berlin", "Pacific/Honolulu")
# Each shape by name, and the defect report's flags it sets as of D for the default purchase.
SHAPES = {
    "default": ({}, set()),
    "late shipment": ({"late_shipment": 1}, {"shipped_late"}),
    "late delivery": ({"late_delivery": 2}, {"delivered_late"}),
    "late (the trait)": ({"late": True}, {"shipped_late", "delivered_late"}),
    "not shipped": ({"not_shipped": True}, {"delivered_late"}),
    "not delivered": ({"not_delivered": True}, {"delivered_late"}),
    "cancelled by the seller": ({"cancelled": CancelledBy.SELLER}, {"cancelled_by_seller"}),
    "cancelled at the customer's request": (
        {"cancelled": CancelledBy.SELLER, "requested_before": dt.timedelta(minutes=30)},
        set(),
    ),
    "cancelled by the customer": ({"cancelled": CancelledBy.CUSTOMER}, set()),
    "no tracking": ({"no_tracking": True}, {"no_valid_tracking"}),
    "outside Buy Shipping": ({"outside_buy_shipping": True}, {"outside_buy_shipping"}),
}


def seller_in(zone_name: str) -> Seller:
    return Seller(pk=1, merchant_token="SELLER01", timezone=zone_name)


@pytest.mark.parametrize(("shape", "flags"), SHAPES.values(), ids=SHAPES)
def test_each_shape_has_exactly_the_defect_it_names(shape, flags):
    order = OrderFactory.build(seller=seller_in("America/Los_Angeles"), **shape)
    assert {name for name, (_label, _q, is_set) in REPORT_FLAGS.items() if is_set(order, D)} == flags


@pytest.mark.parametrize("zone_name", ZONES)
@pytest.mark.parametrize("hour", [0, 10, 23])
@pytest.mark.parametrize("shape", [shape for shape, _flags in SHAPES.values()], ids=SHAPES)
def test_every_shape_is_an_order_the_import_accepts(shape, hour, zone_name):
    seller = seller_in(zone_name)
    order = OrderFactory.build(
        seller=seller, purchased_at=local_moment(seller, D - dt.timedelta(days=5), hour), **shape
    )
    values = OrderValues(**{column: getattr(order, column, None) for column in COLUMNS})._replace(
        merchant_token=seller.merchant_token
    )
    ref = SellerRef(seller.pk, seller.merchant_token, zone_name, ZoneInfo(zone_name))
    assert order_problems(values, seller=ref, now=dt.datetime(2026, 12, 1, tzinfo=dt.UTC)) == []


def test_the_bench_rows_are_the_orders_the_tests_build():
    seller = seller_in("Europe/Berlin")
    purchased_at = local_moment(seller, D, 23, 30)
    shape = {"late_shipment": 2, "late_delivery": 1, "units": 3, "outside_buy_shipping": True}
    updated_at = dt.datetime(2026, 11, 21, tzinfo=dt.UTC)

    [row] = order_rows([(seller.pk, seller.zone, "B-1", purchased_at, shape)], updated_at=updated_at)

    order = OrderFactory.build(seller=seller, order_id="B-1", purchased_at=purchased_at, tracking_id="1Z0001", **shape)
    order.updated_at = updated_at
    assert dict(zip(ROW_COLUMNS, row, strict=True)) == {column: getattr(order, column) for column in ROW_COLUMNS}
