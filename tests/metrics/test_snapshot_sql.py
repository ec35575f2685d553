"""The snapshot upsert judges each metric in SQL: its SQL half of
``MetricDefinition.passes`` must agree with the Python half, exactly, at every threshold."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st

from metrics.definitions import METRIC_DEFINITIONS, METRICS, PASSES_SQL, WINDOWS
from metrics.models import MetricSnapshot
from metrics.services import snapshots_compute
from tests.metrics.sql_rules import counts_and_threshold, sql_value

pytestmark = pytest.mark.django_db

D = dt.date(2026, 11, 20)


@settings(max_examples=200, deadline=None)
@given(figures=counts_and_threshold(), metric=st.sampled_from(METRICS))
def test_sql_verdict_equals_python_verdict(figures, metric):
    assert sql_value(PASSES_SQL, metric, **figures) == METRIC_DEFINITIONS[metric].passes(**figures)


@pytest.mark.parametrize(
    ("metric", "defects", "protected", "excused", "passing"),
    [
        # 1000 shipped at >= 99 %: 10 counted units pass, 11 fail, whatever else was a defect.
        ("on_time_shipment_rate", 11, 0, 0, False),
        ("on_time_shipment_rate", 11, 0, 1, True),
        ("on_time_shipment_rate", 40, 0, 30, True),
        ("on_time_shipment_rate", 40, 0, 29, False),
        # 1000 due at >= 93.5 %: 65 counted pass; protected and excused units both not counted.
        ("on_time_delivery_rate", 100, 20, 15, True),
        ("on_time_delivery_rate", 100, 20, 14, False),
        # 1000 ordered at <= 0.5 %: 5 counted pass.
        ("cancellation_rate", 8, 0, 3, True),
        ("cancellation_rate", 8, 0, 2, False),
    ],
)
def test_excused_units_are_not_counted_in_either_half(metric, defects, protected, excused, passing):
    figures = {"population": 1000, "defects": defects, "protected": protected, "excused": excused}
    threshold = METRIC_DEFINITIONS[metric].default_threshold
    assert METRIC_DEFINITIONS[metric].passes(**figures, threshold=threshold) is passing
    assert sql_value(PASSES_SQL, metric, **figures, threshold=threshold) is passing


def test_rate_equal_to_threshold_passes_in_sql():
    # 93.5 % on time, exactly: 65 late of 1000 due.
    definition = METRIC_DEFINITIONS["on_time_delivery_rate"]
    expression = PASSES_SQL.format(
        population="1000",
        defects="65",
        protected="0",
        excused="0",
        threshold="0.935::numeric",
        higher_is_better="TRUE",
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {expression}")
        assert cursor.fetchone()[0] is True
    assert definition.passes(population=1000, defects=65, protected=0, threshold=Decimal("0.935"))


def test_seller_without_orders_gets_every_row_passing(seller, other_seller):
    written = snapshots_compute(day=D, seller_ids=[seller.pk])
    rows = MetricSnapshot.objects.filter(seller=seller, day=D)
    assert written == len(WINDOWS) * len(METRICS) == rows.count()
    assert all(r.passing and r.population_units == 0 and r.defect_units == 0 for r in rows)
    assert not MetricSnapshot.objects.filter(seller=other_seller).exists()


def test_recompute_in_the_same_transaction_replaces_the_rows(seller):
    snapshots_compute(day=D, seller_ids=[seller.pk])
    snapshots_compute(day=D, seller_ids=[seller.pk])
    snapshots_compute(day=D)
    assert MetricSnapshot.objects.filter(seller=seller, day=D).count() == len(WINDOWS) * len(METRICS)
