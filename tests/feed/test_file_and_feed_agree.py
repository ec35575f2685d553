"""The same orders once as a file and once through the feed give identical snapshots (SPEC
section 9: the metrics of the next daily run see the new facts exactly as if they had come
by file).

One seller's orders come in an import file with every fact. A twin seller (same zone, same
settings) gets the same orders through the API as they would happen: some carrier events
before their order is known, then the orders without their carrier facts (first scan,
delivery), as JSON and as NDJSON, then the carrier events, some sent twice. The daily run
then computes both sellers' snapshots from their stored orders.
"""

from __future__ import annotations

import csv
import datetime as dt
import json

import pytest

from feed.services import integration_token_create
from metrics.definitions import WINDOWS, snapshot_column
from metrics.models import DailySnapshot
from metrics.services import daily_run
from sellers.choices import CancelledBy
from sellers.factories import D, OrderFactory
from sellers.importing import COLUMNS, orders_import
from sellers.models import Order, Seller, TrackingEvent
from sellers.services import seller_create
from tests.feed.conftest import FeedClient

pytestmark = pytest.mark.django_db

# (days before D of the purchase, the order's shape): every kind of defect in both windows.
SHAPES = [
    (days, shape)
    for days in (25, 18, 12, 6, 4)
    for shape in (
        {},
        {},
        {"units": 3},
        {"late_shipment": 2},
        {"late_shipment": 1, "late_delivery": 2},
        {"late_delivery": 1},
        {"not_delivered": True},
        {"not_shipped": True},
        {"cancelled": CancelledBy.SELLER},
        {"cancelled": CancelledBy.CUSTOMER},
        {"cancelled": CancelledBy.SELLER, "requested_before": dt.timedelta(minutes=30)},
        {"no_tracking": True},
        {"outside_buy_shipping": True},
    )
]
CARRIER_FACTS = ("first_scan_at", "delivered_at")
# The metrics the carrier facts decide (and the cancellations, which they must not touch).
DEFECTS_SHOWN = ("on_time_shipment_rate", "on_time_delivery_rate", "valid_tracking_rate", "cancellation_rate")
COMPARED = [f for f in (f.name for f in Order._meta.fields) if f not in ("id", "seller", "tracking_id", "updated_at")]


def twin(token: str) -> Seller:
    return seller_create(merchant_token=token, name=f"Seller {token}", enrolled_on=dt.date(2026, 1, 1))


def orders_of(seller: Seller, tracking_prefix: str) -> list[Order]:
    orders = []
    for n, (days, shape) in enumerate(SHAPES):
        order = OrderFactory.build(
            seller=seller, order_id=f"113-{n:07d}", purchased_on=D - dt.timedelta(days=days), **shape
        )
        if order.tracking_id:
            order.tracking_id = f"{tracking_prefix}{n:010d}"
        orders.append(order)
    return orders


def json_value(value: object) -> object:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(json_value(value))


def item(order: Order, *, without_carrier_facts: bool) -> dict:
    fields = {
        name: order.seller.merchant_token if name == "merchant_token" else json_value(getattr(order, name))
        for name in COLUMNS
    }
    if without_carrier_facts and order.tracking_id:
        fields.update(dict.fromkeys(CARRIER_FACTS))
    return fields


def events_of(order: Order, n: int) -> list[dict]:
    events = []
    for kind, moment in (("first_scan", order.first_scan_at), ("delivered", order.delivered_at)):
        if moment is not None and order.tracking_id:
            events.append(
                {
                    "event_id": f"evt-{kind}-{n}",
                    "carrier": order.carrier.upper() if n % 3 == 0 else order.carrier,
                    "tracking_id": order.tracking_id,
                    "type": kind,
                    "occurred_at": moment.astimezone(dt.UTC).isoformat(),
                }
            )
    return events


def snapshots(seller: Seller) -> list[dict]:
    rows = DailySnapshot.objects.filter(seller=seller).order_by("day").values()
    return [{k: v for k, v in row.items() if k not in ("id", "seller_id", "computed_at")} for row in rows]


def stored(seller: Seller) -> list[tuple]:
    return list(Order.objects.filter(seller=seller).order_by("order_id").values_list(*COMPARED))


def test_the_same_orders_by_file_and_through_the_feed_give_identical_snapshots(client, clock, tmp_path):
    by_file, by_feed = twin("FILESELL1"), twin("FEEDSELL1")

    path = tmp_path / "orders.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for order in orders_of(by_file, "1ZFILE"):
            writer.writerow([csv_cell(value) for value in item(order, without_carrier_facts=False).values()])
    assert orders_import(path=path).created == len(SHAPES)

    feed = FeedClient(client, integration_token_create(name="Marketplace and carriers")[1])
    orders = orders_of(by_feed, "1ZFEED")
    events = [events_of(order, n) for n, order in enumerate(orders)]
    # A third of the carrier events arrive before the marketplace's order.
    early = [e for n, order_events in enumerate(events) if n % 3 == 0 for e in order_events]
    assert early and feed.events(early).json()["pending"] == len(early)
    half = len(orders) // 2
    first = [item(order, without_carrier_facts=True) for order in orders[:half]]
    second = "\n".join(json.dumps(item(order, without_carrier_facts=True)) for order in orders[half:])
    assert feed.orders(first).json()["created"] == half
    assert feed.orders(second, content_type="application/x-ndjson").json()["created"] == len(orders) - half
    assert not TrackingEvent.objects.filter(applied_at__isnull=True).exists()
    # Then every event, the early ones again, and some twice in the same batch.
    late = [e for order_events in events for e in order_events]
    answer = feed.events([*late, *late[:5]]).json()
    assert answer["repeated"] == len(early) + 5 and answer["pending"] == 0
    assert answer["applied"] == len(late) - len(early)

    assert stored(by_feed) == stored(by_file)
    daily_run(day=D)
    [figures] = snapshots(by_file)
    # Every metric has a population and defects in both windows: the comparison compares something.
    assert all(figures[snapshot_column(name, w, "defects")] > 0 for w in WINDOWS for name in DEFECTS_SHOWN), figures
    assert snapshots(by_feed) == [figures]
    by_file.refresh_from_db()
    by_feed.refresh_from_db()
    assert by_feed.status == by_file.status
