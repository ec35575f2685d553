"""Building orders for tests: an on-time order by default, any field overridden."""

from __future__ import annotations

import datetime as dt
import itertools

from sellers.models import Order, Seller
from sellers.services import orders_classify_prime

D = dt.date(2026, 11, 20)

_ids = itertools.count(1)


def local(seller: Seller, day: dt.date, hour: int = 10, minute: int = 0) -> dt.datetime:
    """An aware moment at a local wall-clock time of the seller."""
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=seller.zone)


def order_for(seller: Seller, *, purchased_on: dt.date = D - dt.timedelta(days=5), **fields) -> Order:
    """An unsaved on-time, delivered, Buy Shipping order of the seller; override any field."""
    purchased_at = fields.pop("purchased_at", local(seller, purchased_on, 9))
    defaults = {
        "order_id": f"O-{next(_ids)}",
        "units": 1,
        "promised_ship_date": purchased_at.astimezone(seller.zone).date(),
        "promised_delivery_date": purchased_at.astimezone(seller.zone).date() + dt.timedelta(days=1),
        "first_scan_at": purchased_at + dt.timedelta(hours=6),
        "ship_confirmed_at": purchased_at + dt.timedelta(hours=5),
        "delivered_at": purchased_at + dt.timedelta(days=1),
        "buy_shipping": True,
        "carrier": "UPS Ground",
        "tracking_id": "1Z0001",
        "ship_to_state": "CA",
    }
    defaults.update(fields)
    order = Order(seller=seller, purchased_at=purchased_at, **defaults)
    order.set_local_dates(seller.zone)
    return order


def late_order(seller: Seller, **fields) -> Order:
    """``order_for``, but scanned two days after the purchase (the promised ship date is the
    purchase date) and delivered four days after it, three days late."""
    order = order_for(seller, **fields)
    order.first_scan_at = order.purchased_at + dt.timedelta(days=2)
    order.delivered_at = order.purchased_at + dt.timedelta(days=4)
    order.set_local_dates(seller.zone)
    return order


def save_orders(*orders: Order) -> list[Order]:
    """Save orders and decide which are Prime, as the import does."""
    Order.objects.bulk_create(orders)
    orders_classify_prime(seller_ids={o.seller_id for o in orders})
    return list(Order.objects.filter(pk__in=[o.pk for o in orders]).order_by("purchased_at", "order_id"))
