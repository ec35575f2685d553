"""Changing a seller's time zone (SPEC section 1): every stored local date of its orders
follows the new zone in the same transaction, Prime orders are decided again on the new
dates, the change is audited, and snapshots already computed stay as they were."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from metrics.models import DailySnapshot
from metrics.services import snapshots_compute
from sellers.factories import OrderFactory
from sellers.models import AuditEntry, Order
from sellers.services import seller_timezone_change, volume_control_change
from tests.factories import status_event_create

pytestmark = pytest.mark.django_db

UTC = dt.UTC
# 06:30 UTC on 10 November is the evening of the 9th in Los Angeles (UTC-8) and the small
# hours of the 10th in New York (UTC-5): so is every moment up to 08:00 UTC.
PURCHASED_AT = dt.datetime(2026, 11, 10, 6, 30, tzinfo=UTC)
DATE_FIELDS = [date_field for _moment, date_field in Order.LOCAL_DATE_FIELDS]


def every_moment_on_the_edge(seller) -> Order:
    """An order with every timestamp between 06:30 and 08:00 UTC on 10 November. (A cancelled
    order that was also scanned: the import would refuse it, but the dates are what count here.)"""
    return OrderFactory.build(
        seller=seller,
        purchased_at=PURCHASED_AT,
        ship_confirmed_at=PURCHASED_AT + dt.timedelta(minutes=10),
        first_scan_at=PURCHASED_AT + dt.timedelta(minutes=20),
        delivered_at=PURCHASED_AT + dt.timedelta(minutes=50),
        cancel_requested_at=PURCHASED_AT + dt.timedelta(minutes=5),
        cancelled_at=PURCHASED_AT + dt.timedelta(minutes=15),
        cancelled_by="seller",
    )


def local_dates(order: Order) -> dict[str, dt.date]:
    order.refresh_from_db()
    return {field: getattr(order, field) for field in DATE_FIELDS}


def test_every_local_date_follows_the_new_zone(seller, seller_user, make_orders):
    [order] = make_orders(every_moment_on_the_edge(seller))
    assert local_dates(order) == dict.fromkeys(DATE_FIELDS, dt.date(2026, 11, 9))

    seller_timezone_change(seller=seller, timezone_name="America/New_York", actor=seller_user)

    assert local_dates(order) == dict.fromkeys(DATE_FIELDS, dt.date(2026, 11, 10))
    seller.refresh_from_db()
    assert seller.timezone == "America/New_York"
    # The same dates the import and the admin compute (Order.set_local_dates) for the new zone.
    expected = Order.objects.get(pk=order.pk)
    expected.set_local_dates(seller.zone)
    assert local_dates(order) == {field: getattr(expected, field) for field in DATE_FIELDS}


def test_empty_moments_keep_empty_dates(seller, seller_user, make_orders):
    [order] = make_orders(
        OrderFactory.build(
            seller=seller, purchased_at=PURCHASED_AT, first_scan_at=None, ship_confirmed_at=None, delivered_at=None
        )
    )
    seller_timezone_change(seller=seller, timezone_name="America/New_York", actor=seller_user)
    dates = local_dates(order)
    assert dates["purchase_date"] == dt.date(2026, 11, 10)
    assert {field for field, value in dates.items() if value is None} == set(DATE_FIELDS) - {"purchase_date"}


def test_prime_decisions_follow_the_new_dates(seller, seller_user, make_orders):
    volume_control_change(seller=seller, daily_cap=1, paused=False, effective_at=dt.datetime(2026, 11, 1, tzinfo=UTC))
    # Los Angeles: the 9th has noon and 22:30 (the cap's second order), the 10th has 07:00.
    # New York: the 9th has 15:00 only, the 10th has 01:30 and 10:00 (now the second).
    noon_on_the_9th, on_the_edge, morning_of_the_10th = make_orders(
        OrderFactory.build(seller=seller, purchased_at=dt.datetime(2026, 11, 9, 20, 0, tzinfo=UTC)),
        OrderFactory.build(seller=seller, purchased_at=PURCHASED_AT),
        OrderFactory.build(seller=seller, purchased_at=dt.datetime(2026, 11, 10, 15, 0, tzinfo=UTC)),
    )
    assert [o.is_prime for o in (noon_on_the_9th, on_the_edge, morning_of_the_10th)] == [True, False, True]

    seller_timezone_change(seller=seller, timezone_name="America/New_York", actor=seller_user)

    for order in (noon_on_the_9th, on_the_edge, morning_of_the_10th):
        order.refresh_from_db()
    assert [o.is_prime for o in (noon_on_the_9th, on_the_edge, morning_of_the_10th)] == [True, True, False]


def test_the_change_is_audited_with_both_zones(seller, seller_user, make_orders):
    make_orders(
        OrderFactory.build(seller=seller, purchased_at=PURCHASED_AT),
        OrderFactory.build(seller=seller, purchased_at=PURCHASED_AT),
    )
    entry = seller_timezone_change(seller=seller, timezone_name="America/New_York", actor=seller_user)

    assert list(AuditEntry.objects.filter(seller=seller)) == [entry]
    assert entry.action == AuditEntry.Action.TIMEZONE_CHANGED and entry.actor == seller_user
    assert entry.before == {"timezone": "America/Los_Angeles"}
    assert entry.after == {"timezone": "America/New_York"}
    assert "America/Los_Angeles" in entry.summary and "America/New_York" in entry.summary
    assert "2 orders" in entry.summary


def test_the_same_zone_is_a_no_op(seller, seller_user, make_orders):
    [order] = make_orders(OrderFactory.build(seller=seller, purchased_at=PURCHASED_AT))
    updated_at = Order.objects.get(pk=order.pk).updated_at

    assert seller_timezone_change(seller=seller, timezone_name="America/Los_Angeles", actor=seller_user) is None

    assert not AuditEntry.objects.exists()
    assert Order.objects.get(pk=order.pk).updated_at == updated_at


def test_an_unknown_zone_is_refused_and_changes_nothing(seller, seller_user, make_orders):
    [order] = make_orders(OrderFactory.build(seller=seller, purchased_at=PURCHASED_AT))
    with pytest.raises(ValidationError, match="not an IANA time zone"):
        seller_timezone_change(seller=seller, timezone_name="Mars/Olympus_Mons", actor=seller_user)
    seller.refresh_from_db()
    assert seller.timezone == "America/Los_Angeles"
    assert local_dates(order)["purchase_date"] == dt.date(2026, 11, 9)
    assert not AuditEntry.objects.exists()


def test_snapshots_already_computed_stay_as_they_were(seller, seller_user, make_orders):
    make_orders(OrderFactory.build(seller=seller, purchased_at=PURCHASED_AT))
    snapshots_compute(day=dt.date(2026, 11, 9), seller_ids=[seller.pk])
    before = DailySnapshot.objects.filter(seller=seller).values().get()

    seller_timezone_change(seller=seller, timezone_name="America/New_York", actor=seller_user)
    # Computed again after the change, the day counted in the old zone keeps its row.
    snapshots_compute(day=dt.date(2026, 11, 9), seller_ids=[seller.pk])

    assert DailySnapshot.objects.filter(seller=seller).values().get() == before


def test_other_sellers_orders_keep_their_dates(seller, other_seller, seller_user, make_orders):
    [theirs] = make_orders(
        OrderFactory.build(seller=other_seller, purchased_at=dt.datetime(2026, 11, 9, 23, 30, tzinfo=UTC))
    )
    seller_timezone_change(seller=seller, timezone_name="Pacific/Honolulu", actor=seller_user)
    assert local_dates(theirs)["purchase_date"] == dt.date(2026, 11, 10)  # still Berlin


def test_a_reinstatement_is_re_dated_with_the_zone(seller):
    from sellers.models import SellerEvent

    # 23:30 on Nov. 19 in Los Angeles is Nov. 20 in New York.
    moment = dt.datetime(2026, 11, 20, 7, 30, tzinfo=dt.UTC)
    status_event_create(seller, SellerEvent.Kind.REINSTATED, moment)
    assert SellerEvent.objects.get(seller=seller).day == dt.date(2026, 11, 19)
    seller_timezone_change(seller=seller, timezone_name="America/New_York", actor=None)
    assert SellerEvent.objects.get(seller=seller).day == dt.date(2026, 11, 20)
