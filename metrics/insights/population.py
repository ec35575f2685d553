"""Population orders (reconciliation): the orders behind a metric's population units, so a
seller can check the dashboard's figure order by order, on the page or as CSV."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from django.db.models import BooleanField, Case, Q, QuerySet, Value, When

from metrics.definitions import METRIC_DEFINITIONS, METRIC_RULES, q_protected_late
from metrics.incidents import EXCUSABLE_METRICS, q_excused
from metrics.report import ORDER_COLUMNS, csv_chunks
from metrics.selectors import ORDER_VALUE_FIELDS, dates_as_of, incidents_excuse_as_of, window_orders
from sellers.models import Order, Seller


def metric_population_orders(*, seller: Seller, day: dt.date, window_days: int, metric: str) -> QuerySet[Order]:
    """The orders behind one metric's population units (SPEC section 3): the seller's Prime
    orders in the window in the metric's population as of D, by the rules the snapshots are
    counted with, so their units sum to the snapshot's population units. Each is annotated
    with ``is_defect`` (one of the metric's defect units), ``is_protected`` (a defect excused
    by Buy Shipping protection), ``is_excused`` (a defect an approved incident excuses, SPEC
    section 7) and its first scan and delivery dates as of D (empty when after D), oldest
    first."""
    rule = METRIC_RULES[metric]
    # A late delivery on a Buy Shipping label is a defect unit that does not count for
    # eligibility, on the metrics with that protection (SPEC section 3); nor is a defect an
    # approved incident excuses, on the metrics it can excuse, when some incident counts.
    protected = q_protected_late(day) if METRIC_DEFINITIONS[metric].buy_shipping_protection else None
    excusable = metric in EXCUSABLE_METRICS and incidents_excuse_as_of(day=day, seller_ids=[seller.pk])
    return (
        window_orders(day=day, window_days=window_days, seller_ids=[seller.pk])
        .filter(rule.population(day))
        .annotate(
            is_defect=Case(
                When(rule.defects(day), then=Value(True)), default=Value(False), output_field=BooleanField()
            ),
            is_protected=_flag(protected),
            is_excused=_flag(q_excused(metric, day) if excusable else None),
            **dates_as_of(day),
        )
        .order_by("purchased_at", "order_id")
    )


def _flag(condition: Q | None) -> Case | Value:
    """True for the orders ``condition`` holds for; False for all when None."""
    if condition is None:
        return Value(False, output_field=BooleanField())
    return Case(When(condition, then=Value(True)), default=Value(False), output_field=BooleanField())


POPULATION_HEADER = (*ORDER_COLUMNS, "defect")
_POPULATION_FIELDS = (*ORDER_VALUE_FIELDS, "is_defect")


def population_csv_chunks(*, seller: Seller, day: dt.date, window_days: int, metric: str) -> Iterator[str]:
    """The population orders as CSV, written and streamed like the defect report
    (``metrics.report``); ``X`` in ``defect`` for the metric's defect units."""
    rows = metric_population_orders(seller=seller, day=day, window_days=window_days, metric=metric)
    return csv_chunks(rows, _POPULATION_FIELDS, header=POPULATION_HEADER)
