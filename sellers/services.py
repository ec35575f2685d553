"""Writes for sellers, their settings and their orders."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import connection, transaction
from django.utils import timezone

from sellers.choices import CONTIGUOUS_REGIONS, STATES, Speed, Weekday
from sellers.models import (
    CarrierPickup,
    CarrierService,
    CarrierZone,
    OperatingDay,
    PrimeRegion,
    Seller,
    User,
    VolumeControlChange,
)

# A new seller's settings meet every programme requirement (SPEC section 1).
DEFAULT_WEEKDAY_CUTOFF = dt.time(14, 0)
DEFAULT_SATURDAY_CUTOFF = dt.time(10, 30)
DEFAULT_PICKUP = dt.time(17, 0)
DEFAULT_CARRIER_NAME = "UPS Ground"


def seller_defaults_create(*, seller: Seller) -> None:
    """Give a new seller the settings SPEC section 1 names: the 48 contiguous states and DC
    at two-day, Monday-Saturday operated with 14:00/10:30 cutoffs, six-day delivery, and one
    carrier with a 17:00 pickup on operated days that reaches the template's regions."""
    PrimeRegion.objects.bulk_create(
        PrimeRegion(
            seller=seller,
            state=state,
            speed=Speed.TWO_DAY if state in CONTIGUOUS_REGIONS else Speed.NOT_OFFERED,
        )
        for state in STATES
    )
    operated = [day for day in Weekday if day != Weekday.SUNDAY]
    OperatingDay.objects.bulk_create(
        OperatingDay(
            seller=seller,
            weekday=day,
            operated=day in operated,
            cutoff=(DEFAULT_SATURDAY_CUTOFF if day == Weekday.SATURDAY else DEFAULT_WEEKDAY_CUTOFF)
            if day in operated
            else None,
        )
        for day in Weekday
    )
    carrier = CarrierService.objects.create(seller=seller, name=DEFAULT_CARRIER_NAME)
    CarrierPickup.objects.bulk_create(
        CarrierPickup(carrier_service=carrier, weekday=day, pickup_time=DEFAULT_PICKUP) for day in operated
    )
    CarrierZone.objects.bulk_create(
        CarrierZone(carrier_service=carrier, state=state, transit_days=2) for state in sorted(CONTIGUOUS_REGIONS)
    )


@transaction.atomic
def seller_create(
    *,
    merchant_token: str,
    name: str,
    timezone_name: str | None = None,
    enrolled_on: dt.date | None = None,
) -> Seller:
    seller = Seller(merchant_token=merchant_token, name=name)
    if timezone_name:
        seller.timezone = timezone_name
    if enrolled_on:
        seller.enrolled_on = enrolled_on
    seller.full_clean()
    seller.save()
    seller_defaults_create(seller=seller)
    return seller


@transaction.atomic
def seller_user_create(*, seller: Seller, username: str, password: str, email: str = "") -> User:
    user = User(username=username, email=email, seller=seller)
    user.set_password(password)
    user.full_clean()
    user.save()
    return user


@transaction.atomic
def volume_control_change(
    *,
    seller: Seller,
    daily_cap: int | None,
    paused: bool,
    paused_until: dt.datetime | None = None,
    changed_by: User | None = None,
    effective_at: dt.datetime | None = None,
) -> VolumeControlChange:
    """Record a new state of the Prime order-volume control, effective from now (or the
    given moment), and re-decide which of the affected orders are Prime orders."""
    change = VolumeControlChange.objects.create(
        seller=seller,
        daily_cap=daily_cap,
        paused=paused,
        paused_until=paused_until if paused else None,
        changed_by=changed_by,
        effective_at=effective_at or timezone.now(),
    )
    since = seller.local_date(change.effective_at)
    orders_classify_prime(seller_ids=[seller.pk], since=since)
    return change


def orders_classify_prime(*, seller_ids: Iterable[int], since: dt.date | None = None) -> int:
    """Decide ``Order.is_prime`` for the sellers' orders purchased on or after ``since``.

    SPEC section 3: an order is not a Prime order when it was placed while the badge was
    paused, or when the daily cap in force at its purchase time was already reached, i.e.
    at least that many of the seller's earlier orders of the same local date (ordered by
    purchase time, then order id) were placed while the badge was not paused.

    One statement on PostgreSQL and SQLite alike: the control in force is a correlated
    lookup on (seller, effective_at), the count of earlier unpaused orders a window sum.
    Returns the number of orders whose decision changed.
    """
    seller_ids = list(seller_ids)
    if not seller_ids:
        return 0
    # Whole local days only: an order's decision depends on every earlier order that day.
    date_filter = "AND o.purchase_date >= %s" if since else ""
    placeholders = ", ".join(["%s"] * len(seller_ids))
    params: list[object] = [*seller_ids]
    if since:
        params.append(since)
    sql = f"""
        WITH controlled AS (
            SELECT o.id, o.seller_id, o.purchase_date, o.purchased_at, o.order_id, o.is_prime,
                   COALESCE((
                       SELECT CASE WHEN v.paused AND (v.paused_until IS NULL OR o.purchased_at < v.paused_until)
                                   THEN 1 ELSE 0 END
                       FROM sellers_volumecontrolchange v
                       WHERE v.seller_id = o.seller_id AND v.effective_at <= o.purchased_at
                       ORDER BY v.effective_at DESC, v.id DESC LIMIT 1
                   ), 0) AS paused,
                   (
                       SELECT v.daily_cap
                       FROM sellers_volumecontrolchange v
                       WHERE v.seller_id = o.seller_id AND v.effective_at <= o.purchased_at
                       ORDER BY v.effective_at DESC, v.id DESC LIMIT 1
                   ) AS daily_cap
            FROM sellers_order o
            WHERE o.seller_id IN ({placeholders}) {date_filter}
        ),
        ranked AS (
            SELECT id, is_prime, paused, daily_cap,
                   COALESCE(SUM(1 - paused) OVER (
                       PARTITION BY seller_id, purchase_date
                       ORDER BY purchased_at, order_id
                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
                   ), 0) AS unpaused_before
            FROM controlled
        ),
        decided AS (
            SELECT id, is_prime,
                   CASE WHEN paused = 0 AND (daily_cap IS NULL OR unpaused_before < daily_cap)
                        THEN 1 ELSE 0 END AS prime
            FROM ranked
        )
        UPDATE sellers_order SET is_prime = ({_bool("d.prime = 1")})
        FROM decided d
        WHERE sellers_order.id = d.id AND ({_bool("d.prime = 1")}) <> sellers_order.is_prime
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _bool(expression: str) -> str:
    """A boolean-valued SQL expression that both PostgreSQL and SQLite store in a boolean column."""
    return f"CASE WHEN {expression} THEN {_true()} ELSE {_false()} END"


def _true() -> str:
    return "TRUE" if connection.vendor == "postgresql" else "1"


def _false() -> str:
    return "FALSE" if connection.vendor == "postgresql" else "0"
