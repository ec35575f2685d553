"""The database computation of SPEC section 3 equals the plain-Python reference on random
sellers, volume-control histories and orders: time zones on both sides of UTC, DST days,
moments near local midnight, every fact present or absent and some after the end of D.

Set METRICS_PROPERTY_EXAMPLES to run more examples than the default.
"""

from __future__ import annotations

import datetime as dt
import os
import zoneinfo
from collections import Counter

import pytest
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings, target
from hypothesis import strategies as st

from metrics.selectors import defect_report_rows, metric_counts
from sellers.factories import orders_create
from tests.factories import SellerFactory, VolumeControlChangeFactory
from tests.metrics import reference

ZONES = (
    "America/Los_Angeles",
    "America/New_York",
    "Europe/Berlin",
    "Asia/Ho_Chi_Minh",
    "Pacific/Auckland",
    "UTC",
)

# Evaluation dates on and just after DST changes (US 2026-03-08 and 2026-11-01, Europe
# 2026-03-29 and 2026-10-25, New Zealand 2026-04-05 and 2026-09-27), and a few with a
# change inside the 7- or 30-day window.
DAYS = tuple(
    dt.date.fromisoformat(day)
    for day in (
        "2026-03-08",
        "2026-03-09",
        "2026-03-12",
        "2026-03-29",
        "2026-03-30",
        "2026-04-03",
        "2026-04-05",
        "2026-04-06",
        "2026-09-27",
        "2026-09-28",
        "2026-10-25",
        "2026-10-26",
        "2026-10-30",
        "2026-11-01",
        "2026-11-02",
        "2026-11-20",
    )
)

MINUTES_A_DAY = 24 * 60
# The carrier services orders ship with: an incident hits one of them, or all.
CARRIERS = ("UPS Ground", "USPS Priority Mail", "FedEx Home Delivery")

# Minutes after local midnight: mostly near midnight, some in the DST gap/overlap hours.
minute_of_day = st.one_of(
    st.integers(0, 59),
    st.integers(MINUTES_A_DAY - 60, MINUTES_A_DAY - 1),
    st.integers(60, 210),
    st.integers(0, MINUTES_A_DAY - 1),
)


def at_local(zone: zoneinfo.ZoneInfo, day: dt.date, minute: int, fold: int) -> dt.datetime:
    """An aware UTC moment from a local wall-clock time; in a DST gap or overlap ``fold``
    picks which side, as zoneinfo does."""
    wall = dt.datetime.combine(day, dt.time(minute // 60, minute % 60), tzinfo=zone).replace(fold=fold)
    return wall.astimezone(dt.UTC)


def chance(draw, present: int, absent: int) -> bool:
    """True in the ratio present:absent."""
    return draw(st.integers(1, present + absent)) <= present


def later_moment(draw, zone: zoneinfo.ZoneInfo, moment: dt.datetime, max_days: int) -> dt.datetime:
    """A moment on the local day of ``moment`` or one of the ``max_days`` after it, never
    before ``moment`` (a fact does not precede the one it follows)."""
    day = moment.astimezone(zone).date() + dt.timedelta(days=draw(st.integers(0, max_days)))
    later = at_local(zone, day, draw(minute_of_day), draw(st.integers(0, 1)))
    return max(later, moment + dt.timedelta(minutes=draw(st.integers(0, 5))))


@st.composite
def volume_controls(draw, zone: zoneinfo.ZoneInfo, day: dt.date, purchases: list[dt.datetime]) -> list[dict]:
    """A history of the volume control: pauses with and without an end, caps from 0 up.
    Changes and pause ends often fall on a purchase moment (or a minute either side), where
    "in force at purchase" and "paused while moment < paused_until" are decided."""

    def moment_near_a_purchase() -> dt.datetime:
        return draw(st.sampled_from(purchases)) + dt.timedelta(minutes=draw(st.sampled_from([-1, 0, 0, 1])))

    effective_moments = []
    for _ in range(draw(st.integers(1, 3))):
        if purchases and chance(draw, 2, 1):
            effective_moments.append(moment_near_a_purchase())
        else:
            effective_on = day - dt.timedelta(days=draw(st.integers(-1, 38)))
            effective_moments.append(at_local(zone, effective_on, draw(minute_of_day), draw(st.integers(0, 1))))
    controls = []
    daily_cap = None
    for effective_at in sorted(effective_moments):
        if daily_cap is not None and chance(draw, 1, 1):
            # Raised during a day: orders over the old cap still use up the new one.
            daily_cap += draw(st.integers(1, 2))
        else:
            daily_cap = draw(st.sampled_from([None, None, 0, 0, 1, 1, 2, 3, 5]))
        paused = chance(draw, 1, 2)
        paused_until = None
        if paused and chance(draw, 2, 1):
            if purchases and chance(draw, 1, 1):
                paused_until = max(moment_near_a_purchase(), effective_at + dt.timedelta(minutes=1))
            else:
                paused_until = effective_at + dt.timedelta(minutes=draw(st.integers(1, 10 * MINUTES_A_DAY)))
        controls.append(
            {"effective_at": effective_at, "daily_cap": daily_cap, "paused": paused, "paused_until": paused_until}
        )
    return controls


@st.composite
def orders(draw, zone: zoneinfo.ZoneInfo, day: dt.date) -> list[dict]:
    """Order field values that pass the import's validity rules (SPEC section 6): no first
    scan on a cancelled order, a delivery only after a first scan, a customer cancellation
    within 30 minutes, promised dates on or after the local purchase date."""
    count = draw(st.integers(0, 24))
    order_numbers = draw(st.permutations(range(count)))
    # A few busy days, so daily caps are reached.
    busy_days = draw(st.lists(st.integers(-1, 35), min_size=1, max_size=2))
    specs: list[dict] = []
    for number in order_numbers:
        if specs and chance(draw, 1, 7):
            # The same purchase moment as another order: the order id breaks the tie.
            purchased_at = specs[-1]["purchased_at"]
        else:
            days_before = draw(st.sampled_from(busy_days) if chance(draw, 2, 1) else st.integers(-1, 35))
            purchased_on = day - dt.timedelta(days=days_before)
            purchased_at = at_local(zone, purchased_on, draw(minute_of_day), draw(st.integers(0, 1)))
        purchase_date = purchased_at.astimezone(zone).date()

        cancelled_by = draw(st.sampled_from(["", "", "", "seller", "customer"]))
        cancelled_at = first_scan_at = delivered_at = cancel_requested_at = None
        if cancelled_by == "customer":
            cancelled_at = purchased_at + dt.timedelta(minutes=draw(st.integers(0, 30)))
        elif cancelled_by == "seller":
            cancelled_at = later_moment(draw, zone, purchased_at, 4)
        if cancelled_at is not None:
            requested = draw(st.sampled_from(["none", "before", "at", "after"]))
            if requested == "before":
                earlier = cancelled_at - dt.timedelta(minutes=draw(st.integers(1, 600)))
                cancel_requested_at = max(earlier, purchased_at)
            elif requested == "at":
                cancel_requested_at = cancelled_at
            elif requested == "after":
                cancel_requested_at = cancelled_at + dt.timedelta(minutes=draw(st.integers(1, 2 * MINUTES_A_DAY)))
        else:
            if chance(draw, 1, 9):
                cancel_requested_at = purchased_at + dt.timedelta(minutes=5)
            if chance(draw, 3, 1):
                first_scan_at = later_moment(draw, zone, purchased_at, 4)
                if chance(draw, 2, 1):
                    delivered_at = later_moment(draw, zone, first_scan_at, 5)
        ship_confirmed_at = later_moment(draw, zone, purchased_at, 3) if chance(draw, 2, 1) else None
        specs.append(
            {
                "order_id": f"O{number:04d}",
                "purchased_at": purchased_at,
                "units": draw(st.integers(1, 5)),
                "promised_ship_date": purchase_date + dt.timedelta(days=draw(st.integers(0, 3))),
                "promised_delivery_date": purchase_date + dt.timedelta(days=draw(st.integers(0, 5))),
                "first_scan_at": first_scan_at,
                "ship_confirmed_at": ship_confirmed_at,
                "delivered_at": delivered_at,
                "buy_shipping": draw(st.booleans()),
                "tracking_id": draw(st.sampled_from(["", "1Z999AA10123456784", "9400111899223197428490"])),
                "carrier": draw(st.sampled_from(CARRIERS)),
                "cancelled_at": cancelled_at,
                "cancelled_by": cancelled_by,
                "cancel_requested_at": cancel_requested_at,
            }
        )
    return specs


@st.composite
def status_histories(draw, zone: zoneinfo.ZoneInfo, day: dt.date) -> list[tuple[str, dt.datetime]]:
    """Alternating revocations and reinstatements (SPEC section 4) from 35 days before D to
    the day after it, some on D itself, some at the same local date as orders."""
    count = draw(st.integers(1, 4))
    starts = sorted(
        draw(st.lists(st.integers(-35 * 24 * 60, 2 * 24 * 60 - 1), min_size=count, max_size=count, unique=True))
    )
    midnight = dt.datetime.combine(day, dt.time(), tzinfo=zone)
    kinds = ("revoked", "reinstated")
    return [(kinds[i % 2], (midnight + dt.timedelta(minutes=m)).astimezone(dt.UTC)) for i, m in enumerate(starts)]


@st.composite
def sellers(draw, day: dt.date) -> dict:
    zone_name = draw(st.sampled_from(ZONES))
    zone = zoneinfo.ZoneInfo(zone_name)
    drawn_orders = draw(orders(zone, day))
    purchases = [order["purchased_at"] for order in drawn_orders]
    return {
        "timezone": zone_name,
        "enrolled_on": day - dt.timedelta(days=draw(st.one_of(st.integers(31, 60), st.integers(-1, 30)))),
        "history": draw(status_histories(zone, day)) if chance(draw, 1, 2) else [],
        "controls": draw(volume_controls(zone, day, purchases)) if chance(draw, 2, 1) else [],
        "orders": drawn_orders,
    }


@st.composite
def worlds(draw) -> tuple[dt.date, list[dict]]:
    day = draw(st.sampled_from(DAYS))
    return day, draw(st.lists(sellers(day), min_size=1, max_size=3))


def _as_tuples(by_metric) -> dict[str, tuple[int, int, int]]:
    return {metric: (c.population, c.defects, c.protected) for metric, c in by_metric.items()}


def _report(rows) -> dict[str, tuple[int, frozenset[str]]]:
    report = {}
    for row in rows:
        row = row if isinstance(row, dict) else vars(row)
        assert row["order_id"] not in report, "one row per order"
        report[row["order_id"]] = (row["units"], frozenset(flag for flag in reference.REPORT_FLAGS if row[flag]))
    return report


def _flagged_units(report, *flags: str) -> int:
    return sum(units for units, set_flags in report.values() if set(flags) <= set_flags)


@pytest.mark.django_db
@settings(
    max_examples=int(os.environ.get("METRICS_PROPERTY_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(world=worlds())
def test_metric_counts_equal_the_reference(world):
    day, drawn_sellers = world
    with transaction.atomic():
        try:
            _check_world(day, drawn_sellers)
        finally:
            transaction.set_rollback(True)


def _check_world(day: dt.date, drawn_sellers: list[dict]) -> None:
    ref_sellers = []
    ref_orders: dict[int, list[reference.Order]] = {}
    model_sellers = {}
    for drawn in drawn_sellers:
        seller = SellerFactory(timezone=drawn["timezone"], enrolled_on=drawn["enrolled_on"], history=drawn["history"])
        model_sellers[seller.pk] = seller
        # One by one, so ids follow the order of the history as the reference assumes.
        controls = [VolumeControlChangeFactory(seller=seller, **control) for control in drawn["controls"]]
        orders_create(seller, drawn["orders"])
        ref_sellers.append(
            reference.Seller(
                id=seller.pk,
                timezone=drawn["timezone"],
                enrolled_on=drawn["enrolled_on"],
                history=tuple(drawn["history"]),
                controls=tuple(
                    reference.Control(sequence=change.pk, **control)
                    for change, control in zip(controls, drawn["controls"], strict=True)
                ),
            )
        )
        ref_orders[seller.pk] = [reference.Order(**spec) for spec in drawn["orders"]]

    expected = reference.metric_counts(ref_sellers, ref_orders, day)
    computed = metric_counts(day=day, seller_ids=list(model_sellers))
    assert set(computed) == set(expected)
    assert {key: _as_tuples(by_metric) for key, by_metric in computed.items()} == {
        key: _as_tuples(by_metric) for key, by_metric in expected.items()
    }

    seen = Counter()
    for ref_seller in ref_sellers:
        for window_days in reference.WINDOWS:
            counts = computed[(ref_seller.id, window_days)]
            report = _report(defect_report_rows(seller=model_sellers[ref_seller.id], day=day, window_days=window_days))
            assert report == {
                row.order_id: (row.units, frozenset(flag for flag, set_ in row.flags.items() if set_))
                for row in reference.report_rows(ref_seller, ref_orders[ref_seller.id], day, window_days)
            }
            # SPEC section 5: the flagged units add up to the defect units.
            assert _flagged_units(report, "shipped_late", "delivered_late") == counts["on_time_shipment_rate"].defects
            assert _flagged_units(report, "delivered_late") == counts["on_time_delivery_rate"].defects
            assert _flagged_units(report, "outside_buy_shipping") == counts["buy_shipping_rate"].defects
            assert _flagged_units(report, "cancelled_by_seller") == counts["cancellation_rate"].defects
            assert _flagged_units(report, "no_valid_tracking") == counts["valid_tracking_rate"].defects
            for metric, metric_counts_ in counts.items():
                seen["population"] += metric_counts_.population
                seen["defects"] += metric_counts_.defects
                if metric_counts_.defects:
                    event(f"defects in {metric}")
            if counts["on_time_delivery_rate"].protected:
                event("protected late units")

    all_orders = sum(len(orders) for orders in ref_orders.values())
    prime = sum(len(reference.prime_order_ids(s, ref_orders[s.id])) for s in ref_sellers)
    if prime < all_orders:
        event("some orders not Prime")
    target(float(seen["defects"]), label="defect units")
    target(float(min(seen["population"], 200)), label="population units")
