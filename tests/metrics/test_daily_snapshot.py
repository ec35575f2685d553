"""A seller's day is stored as one DailySnapshot row and read as fourteen MetricSnapshot
rows through the view of migration 0004; the migration carries old rows both ways."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from metrics.definitions import METRIC_DEFINITIONS, SNAPSHOT_KEYS, snapshot_column, threshold_column
from metrics.models import DailySnapshot, MetricSnapshot
from metrics.selectors import metric_counts
from metrics.services import daily_run, snapshots_compute, threshold_set
from sellers.factories import D, OrderFactory
from sellers.models import SellerEvent
from tests.clock import portal_noon

pytestmark = pytest.mark.django_db

BEFORE = [("metrics", "0003_plans_of_action")]
AFTER = [("metrics", "0004_daily_snapshot")]
FIGURES = (
    "seller_id",
    "day",
    "window_days",
    "metric",
    "population_units",
    "defect_units",
    "protected_units",
    "threshold",
    "passing",
)


def test_a_sellers_day_is_one_row_read_as_fourteen_metric_snapshots_in_key_order(
    seller, other_seller, make_orders, clock
):
    clock.move_to(portal_noon(D))  # today is D
    threshold_set(metric="cancellation_rate", value=Decimal("0.01234"))
    make_orders(
        *(OrderFactory.build(seller=seller, units=2) for _ in range(6)),
        *(OrderFactory.build(seller=seller, late=True, buy_shipping=False) for _ in range(3)),
        OrderFactory.build(seller=other_seller),
    )
    written = snapshots_compute(day=D)

    assert written == 2 * len(SNAPSHOT_KEYS)
    assert DailySnapshot.objects.count() == 2
    row = DailySnapshot.objects.get(seller=seller, day=D)
    listed = list(MetricSnapshot.objects.filter(seller=seller, day=D).order_by("pk"))
    assert [(s.window_days, s.metric) for s in listed] == list(SNAPSHOT_KEYS)
    counts = metric_counts(day=D, seller_ids=[seller.pk])
    for snapshot in listed:
        name, window = snapshot.metric, snapshot.window_days
        expected = counts[(seller.pk, window)][name]
        figures = (snapshot.population_units, snapshot.defect_units, snapshot.protected_units, snapshot.excused_units)
        assert figures == tuple(expected)
        assert snapshot.population_units == getattr(row, snapshot_column(name, window, "population"))
        assert snapshot.passing == getattr(row, snapshot_column(name, window, "passing"))
        assert snapshot.threshold == getattr(row, threshold_column(name))
        assert snapshot.computed_at == row.computed_at
    by_key = {(s.window_days, s.metric): s for s in listed}
    assert by_key[(30, "cancellation_rate")].threshold == Decimal("0.01234")
    # Three late deliveries of nine orders: the on-time metrics fail, the rest pass.
    assert by_key[(30, "on_time_delivery_rate")].defect_units == 3
    assert not by_key[(30, "on_time_delivery_rate")].passing
    assert by_key[(30, "cancellation_rate")].passing
    assert len({s.pk for s in MetricSnapshot.objects.all()}) == 2 * len(SNAPSHOT_KEYS)  # ids stay unique


def test_recomputing_a_day_replaces_its_row(seller, make_orders):
    snapshots_compute(day=D, seller_ids=[seller.pk])
    first = DailySnapshot.objects.get(seller=seller, day=D)
    make_orders(OrderFactory.build(seller=seller, late=True))
    snapshots_compute(day=D, seller_ids=[seller.pk])
    again = DailySnapshot.objects.get(seller=seller, day=D)
    assert again.pk == first.pk and again.computed_at >= first.computed_at
    assert getattr(again, snapshot_column("on_time_delivery_rate", 30, "defects")) == 1


def test_deleting_a_seller_deletes_its_snapshots(seller, other_seller):
    snapshots_compute(day=D)
    seller.delete()
    assert not DailySnapshot.objects.filter(seller_id=seller.pk).exists()
    assert not MetricSnapshot.objects.filter(seller_id=seller.pk).exists()
    assert MetricSnapshot.objects.filter(seller=other_seller).count() == len(SNAPSHOT_KEYS)


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_the_migration_carries_snapshots_to_one_row_a_day_and_back(seller, make_orders):
    make_orders(*(OrderFactory.build(seller=seller) for _ in range(4)), OrderFactory.build(seller=seller, late=True))
    snapshots_compute(day=D)
    snapshots_compute(day=D - dt.timedelta(days=1))
    before = sorted(MetricSnapshot.objects.values_list(*FIGURES))
    assert len(before) == 2 * len(SNAPSHOT_KEYS)
    try:
        old_apps = _migrate(BEFORE)  # back: the old table, one row per metric
        OldSnapshot = old_apps.get_model("metrics", "MetricSnapshot")
        assert sorted(OldSnapshot.objects.values_list(*FIGURES)) == before
        # A day with one metric only (hand-written data) gets the others' zeros and defaults.
        OldSnapshot.objects.create(
            seller_id=seller.pk,
            day=D + dt.timedelta(days=1),
            window_days=7,
            metric="cancellation_rate",
            population_units=100,
            defect_units=2,
            protected_units=0,
            threshold=Decimal("0.005"),
            passing=False,
        )
        _migrate(AFTER)  # forward again: a row per seller and day
        assert DailySnapshot.objects.count() == 3
        after = sorted(MetricSnapshot.objects.exclude(day=D + dt.timedelta(days=1)).values_list(*FIGURES))
        assert after == before
        # The view of 0004 has no excused units yet (migration 0011 adds them).
        lone_day = MetricSnapshot.objects.defer("excused_units").filter(day=D + dt.timedelta(days=1))
        lone = {s.metric + str(s.window_days): s for s in lone_day}
        assert len(lone) == len(SNAPSHOT_KEYS)
        assert (lone["cancellation_rate7"].defect_units, lone["cancellation_rate7"].passing) == (2, False)
        assert lone["on_time_delivery_rate30"].population_units == 0 and lone["on_time_delivery_rate30"].passing
        assert (
            lone["on_time_delivery_rate30"].threshold == METRIC_DEFINITIONS["on_time_delivery_rate"].default_threshold
        )
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def test_the_admin_lists_metric_snapshots_read_only(admin_client, seller):
    snapshots_compute(day=D)
    changelist = admin_client.get(reverse("admin:metrics_metricsnapshot_changelist"))
    assert changelist.status_code == 200
    assert changelist.context["cl"].result_count == len(SNAPSHOT_KEYS)
    snapshot = MetricSnapshot.objects.filter(seller=seller).first()
    detail = admin_client.get(reverse("admin:metrics_metricsnapshot_change", args=[snapshot.pk]))
    assert detail.status_code == 200 and not detail.context["has_change_permission"]
    assert detail.context["original"] == snapshot
    missing = admin_client.get(reverse("admin:metrics_metricsnapshot_change", args=["not-a-number"]))
    assert missing.status_code == 302  # the admin's "does not exist" redirect
    assert admin_client.get(reverse("admin:metrics_metricsnapshot_add")).status_code == 403
    assert admin_client.post(reverse("admin:metrics_metricsnapshot_delete", args=[snapshot.pk])).status_code == 403


def test_a_revocation_lists_the_failing_metrics_the_view_shows_in_window_then_name_order(seller, make_orders):
    make_orders(
        *(OrderFactory.build(seller=seller) for _ in range(5)),
        *(OrderFactory.build(seller=seller, late=True, buy_shipping=False, tracking_id="") for _ in range(3)),
    )
    daily_run(day=D)
    event = SellerEvent.objects.get(seller=seller, kind=SellerEvent.Kind.REVOKED)
    listed = [
        (r["window_days"], r["metric"], r["population_units"], r["defect_units"], r["threshold"])
        for r in event.reasons
        if r["kind"] == "metric"
    ]
    shown = [
        (s.window_days, s.metric, s.population_units, s.defect_units, str(s.threshold))
        for s in MetricSnapshot.objects.filter(seller=seller, day=D, passing=False).order_by("window_days", "metric")
    ]
    assert len(shown) >= 4 and listed == shown
    assert {s.daily_snapshot_id for s in MetricSnapshot.objects.filter(seller=seller)} == {
        DailySnapshot.objects.get(seller=seller).pk
    }
