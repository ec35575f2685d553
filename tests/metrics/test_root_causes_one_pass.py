"""The root causes in one pass (``GROUPING SETS``) give exactly what the five grouped scans
they replace gave: held against those scans, written here as they were."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.db import connection
from django.db.models import Count, Sum
from django.test.utils import CaptureQueriesContext

from metrics.definitions import METRICS
from metrics.insights.purchase_time import units_against_cutoff, with_local_purchase_time
from metrics.insights.root_causes import root_cause_summary
from metrics.selectors import metric_defects
from metrics.services import daily_run
from sellers.choices import CancelledBy
from sellers.factories import D, OrderFactory, local_moment
from sellers.selectors import seller_operating_days

pytestmark = pytest.mark.django_db

CARRIERS = ["FedEx Home", "UPS Ground", "USPS Priority", "ups ground"]
STATES = ["TX", "CA", "NY", "WA", ""]


def five_scans(*, seller, day, window_days, metric):
    """The old root causes: totals, carrier, weekday, state, and hours against the cutoff."""
    defects = with_local_purchase_time(
        metric_defects(seller=seller, day=day, window_days=window_days, metric=metric), seller.zone
    )
    totals = defects.aggregate(units=Sum("units", default=0), orders=Count("pk"))

    def grouped(field):
        rows = defects.values(field).annotate(units=Sum("units"), orders=Count("pk")).order_by("-units", field)
        return [(str(row[field]), row["units"], row["orders"]) for row in rows]

    hours: dict[int, list[int]] = {}
    after: dict[int, int] = {}
    for row in units_against_cutoff(
        metric_defects(seller=seller, day=day, window_days=window_days, metric=metric),
        seller=seller,
        days=seller_operating_days(seller=seller),
    ):
        hour = hours.setdefault(row["local_hour"], [0, 0])
        hour[0] += row["group_units"]
        hour[1] += row["after"]
        if row["after"]:
            after[row["local_weekday"]] = after.get(row["local_weekday"], 0) + row["after"]
    if not totals["orders"]:
        return (totals["units"], totals["orders"], [], [], []), sorted(hours.items()), after
    return (
        (totals["units"], totals["orders"], grouped("carrier"), grouped("local_weekday"), grouped("ship_to_state")),
        sorted((h, tuple(v)) for h, v in hours.items()),
        after,
    )


def one_pass(*, seller, day, window_days, metric):
    summary = root_cause_summary(seller=seller, day=day, window_days=window_days, metric=metric)
    causes, cutoff = summary.causes, summary.cutoff
    shares = lambda group: [(s.key, s.units, s.orders) for s in group]  # noqa: E731
    return (
        (
            causes.total_units,
            causes.total_orders,
            *map(shares, (causes.by_carrier, causes.by_weekday, causes.by_state)),
        ),
        [(h.hour, (h.units, h.after_cutoff_units)) for h in cutoff.hours],
        {int(s.key): s.units for s in cutoff.after_cutoff_by_weekday},
    )


def test_one_pass_equals_the_five_scans_for_every_metric_and_window(seller, make_orders):
    rng = random.Random(18)
    orders = []
    for _ in range(160):
        purchased = local_moment(
            seller, D - dt.timedelta(days=rng.randrange(0, 40)), rng.randrange(0, 24), rng.randrange(60)
        )
        fields = {"carrier": rng.choice(CARRIERS), "ship_to_state": rng.choice(STATES), "units": rng.randrange(1, 4)}
        kind = rng.randrange(4)
        if kind == 0:
            orders.append(OrderFactory.build(seller=seller, purchased_at=purchased, late_delivery=2, **fields))
        elif kind == 1:
            orders.append(
                OrderFactory.build(seller=seller, purchased_at=purchased, cancelled=CancelledBy.SELLER, **fields)
            )
        else:
            orders.append(OrderFactory.build(seller=seller, purchased_at=purchased, **fields))
    make_orders(*orders)
    daily_run(day=D)
    compared = 0
    for metric in METRICS:
        for window_days in (30, 90):
            old = five_scans(seller=seller, day=D, window_days=window_days, metric=metric)
            assert one_pass(seller=seller, day=D, window_days=window_days, metric=metric) == old, metric
            compared += bool(old[0][1])
    assert compared >= 2  # some metrics had defects to break down


def test_one_pass_without_defects_gives_empty_breakdowns(seller, make_orders):
    make_orders(OrderFactory.build(seller=seller))
    summary = root_cause_summary(seller=seller, day=D, window_days=30, metric="on_time_delivery_rate")
    assert (summary.causes.total_units, summary.causes.total_orders, summary.cutoff.hours) == (0, 0, [])


def test_the_summary_reads_the_orders_once(seller, make_orders):
    make_orders(OrderFactory.build(seller=seller, purchased_at=local_moment(seller, D - dt.timedelta(days=3), 15),
                                   late_delivery=3))  # fmt: skip
    daily_run(day=D)
    with CaptureQueriesContext(connection) as queries:
        summary = root_cause_summary(seller=seller, day=D, window_days=30, metric="on_time_delivery_rate")
    assert summary.causes.total_units == 1
    on_orders = [q["sql"] for q in queries.captured_queries if "sellers_order" in q["sql"]]
    assert len(on_orders) == 1 and "GROUPING SETS" in on_orders[0]
