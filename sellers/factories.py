"""Orders built one way, for the tests, the demo and the bench.

``order_values`` is the one definition of an order: what a default order is (one that went
well) and how each defect shape is made from it. Everything that builds orders goes through
it: ``OrderFactory`` (factory_boy) for the tests and the demo, ``order_rows`` for the bench,
which fills millions of rows with ``COPY`` and so builds plain tuples, no query per row.

The default order, from its purchase: promised to ship on the local purchase date and to be
delivered the next day; confirmed 5 hours after the purchase and first scanned after 6, on a
Buy Shipping label with a tracking id; delivered a day after the purchase. The shapes, each
asked for by name (``order_values(..., late_delivery=2)``, ``OrderFactory(late_delivery=2)``):

- ``late_shipment=N``: first scanned N days after the promised ship date (at the default
  scan's wall-clock time); delivered as by default, or at that scan if it comes later: ask
  for ``late_delivery`` too for a late delivery;
- ``late_delivery=N``: delivered N days after the promised delivery date;
- ``not_shipped``: not yet confirmed, scanned or delivered, no carrier or tracking id;
- ``not_delivered``: shipped but not (yet) delivered;
- ``cancelled=CancelledBy.SELLER|CUSTOMER``: cancelled ``cancelled_after`` the purchase
  (default ``CANCELLED_AFTER``) and never shipped, so no label either; ``requested_before``:
  the customer asked that long before the seller cancelled;
- ``no_tracking``: no tracking id; ``outside_buy_shipping``: a label bought elsewhere.

Fields given by name override the defaults; the shapes are applied on top of them. Times
are never read from the wall clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from operator import itemgetter
from zoneinfo import ZoneInfo

import factory

from sellers.choices import CancelledBy
from sellers.importing import STAGED_COLUMNS
from sellers.models import Order, Seller, local_date
from sellers.services import orders_classify_prime

# The day builds are judged on by default: a default order is purchased five days before it.
D = dt.date(2026, 11, 20)

CONFIRMED_AFTER = dt.timedelta(hours=5)
SCANNED_AFTER = dt.timedelta(hours=6)
DELIVERED_AFTER = dt.timedelta(days=1)
CARRIER = "UPS Ground"
TRACKING_ID = "1Z0001"
SHIP_TO_STATE = "CA"
# Well inside the import's limits: a customer's own cancellation comes within 30 minutes.
CANCELLED_AFTER = {CancelledBy.CUSTOMER: dt.timedelta(minutes=20), CancelledBy.SELLER: dt.timedelta(hours=3)}

# The columns of sellers_order that ``order_rows`` fills, in its tuples' order: the import's.
ROW_COLUMNS = (*STAGED_COLUMNS, "is_prime", "updated_at")


def local_moment(where: Seller | ZoneInfo, day: dt.date, hour: int = 10, minute: int = 0) -> dt.datetime:
    """An aware moment at a wall-clock time of a seller's (or a zone's) local day."""
    zone = where.zone if isinstance(where, Seller) else where
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)


def _days_after(zone: ZoneInfo, on_time: dt.datetime, promised: dt.date, days: int) -> dt.datetime:
    """``on_time``'s wall-clock time, ``days`` days after the ``promised`` date."""
    return dt.datetime.combine(promised + dt.timedelta(days=days), on_time.astimezone(zone).time(), tzinfo=zone)


def order_values(
    zone: ZoneInfo,
    purchased_at: dt.datetime,
    *,
    late_shipment: int = 0,
    late_delivery: int = 0,
    not_shipped: bool = False,
    not_delivered: bool = False,
    cancelled: CancelledBy = CancelledBy.NONE,
    cancelled_after: dt.timedelta | None = None,
    requested_before: dt.timedelta | None = None,
    no_tracking: bool = False,
    outside_buy_shipping: bool = False,
    **fields,
) -> dict:
    """The field values of an order purchased at ``purchased_at`` by a seller in ``zone``:
    the default order, any field given by name, then the shapes asked for (module
    docstring), with the local ``*_date`` columns of its moments."""
    promised_ship_date = fields.pop("promised_ship_date", None) or local_date(purchased_at, zone)
    values = {
        "purchased_at": purchased_at,
        "units": 1,
        "promised_ship_date": promised_ship_date,
        "promised_delivery_date": promised_ship_date + dt.timedelta(days=1),
        "ship_confirmed_at": purchased_at + CONFIRMED_AFTER,
        "first_scan_at": purchased_at + SCANNED_AFTER,
        "delivered_at": purchased_at + DELIVERED_AFTER,
        "buy_shipping": True,
        "carrier": CARRIER,
        "tracking_id": TRACKING_ID,
        "ship_to_state": SHIP_TO_STATE,
        "cancelled_at": None,
        "cancelled_by": "",
        "cancel_requested_at": None,
        **fields,
    }
    if late_shipment:
        values["first_scan_at"] = _days_after(zone, values["first_scan_at"], promised_ship_date, late_shipment)
        # A parcel is delivered after its first scan, on the same day at the earliest.
        if values["delivered_at"] is not None:
            values["delivered_at"] = max(values["delivered_at"], values["first_scan_at"])
    if late_delivery:
        values["delivered_at"] = _days_after(
            zone, values["delivered_at"], values["promised_delivery_date"], late_delivery
        )
    if not_delivered:
        values["delivered_at"] = None
    if not_shipped or cancelled:
        values.update(ship_confirmed_at=None, first_scan_at=None, delivered_at=None, carrier="", tracking_id="")
    if cancelled:
        cancelled_at = purchased_at + (cancelled_after or CANCELLED_AFTER[cancelled])
        values.update(cancelled_at=cancelled_at, cancelled_by=str(cancelled), buy_shipping=False)
        if requested_before is not None:
            values["cancel_requested_at"] = cancelled_at - requested_before
    if no_tracking:
        values["tracking_id"] = ""
    if outside_buy_shipping:
        values["buy_shipping"] = False
    for moment_field, date_field in Order.LOCAL_DATE_FIELDS:
        values[date_field] = local_date(values[moment_field], zone)
    return values


def order_rows(
    orders: Iterable[tuple[int, ZoneInfo, str, dt.datetime, dict]], *, updated_at: dt.datetime
) -> Iterator[tuple]:
    """Rows of sellers_order in ``ROW_COLUMNS`` order, for ``COPY``: one per (seller id,
    zone, order id, purchase moment, fields and shapes for ``order_values``). Every order is
    written as a Prime order: classify them afterwards (``orders_classify_prime``)."""
    fields = itemgetter(*ROW_COLUMNS[3:-2])
    for seller_id, zone, order_id, purchased_at, shape in orders:
        yield (seller_id, order_id, purchased_at, *fields(order_values(zone, purchased_at, **shape)), True, updated_at)


class OrderFactory(factory.django.DjangoModelFactory):
    """An unsaved (``build``) or saved (``create``) order of ``seller`` (required) from
    ``order_values``: purchased at 10:00 local on ``purchased_on`` (D-5) unless
    ``purchased_at`` is given; any field and any shape by name. The trait ``late`` is the
    usual defect order: shipped two days late and delivered three days late. Decide which
    orders are Prime orders after saving them (``orders_save``)."""

    class Meta:
        model = Order

    class Params:
        purchased_on = D - dt.timedelta(days=5)
        late = factory.Trait(late_shipment=2, late_delivery=3)

    seller = None
    order_id = factory.Sequence(lambda n: f"ORD-{n:08d}")
    tracking_id = factory.Sequence(lambda n: f"1Z{n:010d}")
    purchased_at = factory.LazyAttribute(lambda order: local_moment(order.seller, order.purchased_on, 10))
    late_shipment = 0
    late_delivery = 0

    @classmethod
    def _build(cls, model_class, *args, seller: Seller, order_id: str, purchased_at: dt.datetime, **fields):
        if seller is None:
            raise TypeError("OrderFactory needs a seller: OrderFactory.build(seller=...)")
        return model_class(seller=seller, order_id=order_id, **order_values(seller.zone, purchased_at, **fields))

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        order = cls._build(model_class, *args, **kwargs)
        order.save()
        return order


def orders_save(*orders: Order) -> list[Order]:
    """Save orders in one insert and decide which are Prime orders, as the import does;
    the orders fresh from the database, in purchase order."""
    saved = Order.objects.bulk_create(orders)
    orders_classify_prime(seller_ids={order.seller_id for order in saved})
    return list(Order.objects.filter(pk__in=[o.pk for o in saved]).order_by("purchased_at", "order_id"))


def orders_create(seller: Seller, specs: Iterable[dict]) -> list[Order]:
    """``orders_save`` of the seller's orders built from field and shape overrides, one
    ``OrderFactory.build`` each."""
    return orders_save(*(OrderFactory.build(seller=seller, **spec) for spec in specs))
