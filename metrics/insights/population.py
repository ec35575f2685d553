"""Population orders (reconciliation): the orders behind a metric's population units, so a
seller can check the dashboard's figure order by order, on the page or as CSV."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from django.db.models import BooleanField, Case, QuerySet, Value, When

from metrics.definitions import METRIC_DEFINITIONS, METRIC_RULES, q_protected_late
from metrics.report import ORDER_COLUMNS, csv_chunks
from metrics.selectors import ORDER_VALUE_FIELDS, dates_as_of, window_orders
from sellers.models import Order, Seller


def metric_population_orders(*, seller: Seller, day: dt.date, window_days: int, metric: str) -> QuerySet[Order]:
    """The orders behind one metric's population units (SPEC section 3): the seller's Prime
    orders in the window in the metric's population as of D, by the rules the snapshots are
    counted with, so their units sum to the snapshot's population units. Each is annotated
    with ``is_defect`` (one of the metric's defect units), ``is_protected`` (a defect excused
    by Buy Shipping protection) and its first scan and delivery
    dates as of D (empty when after D), oldest first."""
    rule = METRIC_RULES[metric]
    # A late delivery on a Buy Shipping label is a defect unit that does not count for
    # eligibility, on the metrics with that protection (SPEC section 3).
    protected = q_protected_late(day) if METRIC_DEFINITIONS[metric].buy_shipping_protection else None
    return (
        window_orders(day=day, window_days=window_days, seller_ids=[seller.pk])
        .filter(rule.population(day))
        .annotate(
            is_defect=Case(
                When(rule.defects(day), then=Value(True)), default=Value(False), output_field=BooleanField()
            ),
            is_protected=Case(When(protected, then=Value(True)), default=Value(False), output_field=BooleanField())
            if protected is not None
            else Value(False, output_field=BooleanField()),
            **dates_as_of(day),
        )
        .order_by("purchased_at", "order_id")
    )


POPULATION_HEADER = (*ORDER_COLUMNS, "defect")
_POPULATION_FIELDS = (*ORDER_VALUE_FIELDS, "is_defect")


def population_csv_chunks(*, seller: Seller, day: dt.date, window_days: int, metric: str) -> Iterator[str]:
    """The population orders as CSV, written and streamed like the defect report
    (``metrics.report``); ``X`` in ``defect`` for the metric's defect units."""
    rows = metric_population_orders(seller=seller, day=day, window_days=window_days, metric=metric)
    return csv_chunks(rows, _POPULATION_FIELDS, header=POPULATION_HEADER)
