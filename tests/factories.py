"""factory_boy factories for the portal's models.

Times are fixed, never read from the wall clock. A seller is made the way the portal makes
one (``seller_create``: default settings that meet every programme requirement). An order's
local ``*_date`` columns are set from its timestamps in the seller's time zone, as the
import does; whether an order is a Prime order depends on the seller's other orders that
day, so create a test's orders with ``make_orders`` (or call
``sellers.services.orders_classify_prime`` yourself after creating them).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

import factory

from sellers.models import Order, Seller, SellerEvent, VolumeControlChange
from sellers.services import orders_classify_prime, seller_create

# The evaluation date most tests judge on, and a date every factory seller is enrolled by.
D = dt.date(2026, 11, 20)
ENROLLED_ON = dt.date(2026, 1, 1)


def local_moment(seller: Seller, day: dt.date, hour: int = 10, minute: int = 0) -> dt.datetime:
    """An aware moment at a wall-clock time of the seller's time zone."""
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=seller.zone)


class SellerFactory(factory.django.DjangoModelFactory):
    """A seller with the default settings of ``seller_create``; ``status`` is set afterwards
    when given. ``reinstated_on`` (a local date) records a reinstatement at the start of that
    day in the status history; ``history`` a list of (kind, moment) status changes."""

    class Meta:
        model = Seller

    merchant_token = factory.Sequence(lambda n: f"FS{n:06d}")
    name = factory.Sequence(lambda n: f"Factory Seller {n}")
    timezone = "America/Los_Angeles"
    enrolled_on = ENROLLED_ON
    reinstated_on = None

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        reinstated_on = kwargs.pop("reinstated_on", None)
        history = list(kwargs.pop("history", None) or [])
        status = kwargs.pop("status", None)
        seller = seller_create(
            merchant_token=kwargs.pop("merchant_token"),
            name=kwargs.pop("name"),
            timezone_name=kwargs.pop("timezone"),
            enrolled_on=kwargs.pop("enrolled_on"),
        )
        if reinstated_on is not None:
            history.append((SellerEvent.Kind.REINSTATED, local_moment(seller, reinstated_on, 0)))
        status_history_create(seller, history)
        changed = {"status": status, **kwargs}
        changed = {name: value for name, value in changed.items() if value is not None}
        if changed:
            for name, value in changed.items():
                setattr(seller, name, value)
            seller.save(update_fields=list(changed))
        return seller


def status_history_create(seller: Seller, history: Iterable[tuple[str, dt.datetime]]) -> list[SellerEvent]:
    """Status changes (kind, moment) in the seller's history as the evaluation and the review
    write them: a reinstatement dated by its local date, a revocation by the day before (the
    D it judged). Create them before the orders they decide, or re-classify afterwards."""
    return [
        SellerEvent.objects.create(
            seller=seller,
            kind=kind,
            created_at=moment,
            day=seller.local_date(moment)
            - (dt.timedelta(days=1) if kind == SellerEvent.Kind.REVOKED else dt.timedelta()),
        )
        for kind, moment in history
    ]


class VolumeControlChangeFactory(factory.django.DjangoModelFactory):
    """A row of the volume-control history. Create these before the orders they decide, or
    re-classify afterwards (``sellers.services.volume_control_change`` does both)."""

    class Meta:
        model = VolumeControlChange

    seller = factory.SubFactory(SellerFactory)
    effective_at = factory.LazyAttribute(lambda change: local_moment(change.seller, D - dt.timedelta(days=60), 0))
    daily_cap = None
    paused = False
    paused_until = None


class OrderFactory(factory.django.DjangoModelFactory):
    """An order that went well by default: purchased on D-5 at 10:00 local, shipped (first
    scan) and confirmed the same day on a Buy Shipping label with a tracking id, delivered
    the next day on its one-day promise. Override any field; ``purchased_on`` sets the local
    purchase date and moves every default with it."""

    class Meta:
        model = Order
        exclude = ("purchase_day",)

    class Params:
        purchased_on = D - dt.timedelta(days=5)

    seller = factory.SubFactory(SellerFactory)
    order_id = factory.Sequence(lambda n: f"ORD-{n:08d}")
    purchased_at = factory.LazyAttribute(lambda order: local_moment(order.seller, order.purchased_on, 10))
    purchase_day = factory.LazyAttribute(lambda order: order.purchased_at.astimezone(order.seller.zone).date())
    units = 1
    promised_ship_date = factory.SelfAttribute("purchase_day")
    promised_delivery_date = factory.LazyAttribute(lambda order: order.purchase_day + dt.timedelta(days=1))
    first_scan_at = factory.LazyAttribute(lambda order: order.purchased_at + dt.timedelta(hours=6))
    ship_confirmed_at = factory.LazyAttribute(lambda order: order.purchased_at + dt.timedelta(hours=5))
    delivered_at = factory.LazyAttribute(lambda order: order.purchased_at + dt.timedelta(days=1))
    buy_shipping = True
    carrier = "UPS Ground"
    tracking_id = factory.Sequence(lambda n: f"1Z{n:010d}")
    ship_to_state = "CA"
    cancelled_at = None
    cancelled_by = ""
    cancel_requested_at = None

    @classmethod
    def _build(cls, model_class, *args, **kwargs):
        order = model_class(*args, **kwargs)
        order.set_local_dates(order.seller.zone)
        return order

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        order = cls._build(model_class, *args, **kwargs)
        order.save()
        return order


def make_orders(seller: Seller, specs: Iterable[Mapping[str, object]]) -> list[Order]:
    """Create the seller's orders from field overrides (``OrderFactory`` defaults for the
    rest) in one insert, decide which are Prime orders as the import does, and return them
    fresh from the database in purchase order."""
    orders = [OrderFactory.build(seller=seller, **spec) for spec in specs]
    Order.objects.bulk_create(orders)
    orders_classify_prime(seller_ids=[seller.pk])
    return list(Order.objects.filter(seller=seller, pk__in=[o.pk for o in orders]).order_by("purchased_at", "order_id"))
