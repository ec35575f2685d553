"""Order retention (issue 18, ``metrics.retention``, ``manage.py orders_retain``): what is
removed and what is kept, a recompute of any day inside the period unchanged by it, the dry
run, the archive, the bounds, and the weekly task that is off unless turned on."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
from io import StringIO

import psycopg
import pytest
from celery.schedules import crontab
from django.core.management import CommandError, call_command
from django.db import connection
from django.forms.models import model_to_dict

from metrics.definitions import WINDOWS
from metrics.models import DailySnapshot
from metrics.retention import (
    ARCHIVE_COLUMNS,
    REDATING_DAYS,
    RetentionError,
    orders_retain,
    orders_retention_plan,
    retention_cut,
)
from metrics.services import snapshots_compute
from metrics.sql import RETENTION_LOCK
from metrics.tasks import retain_orders
from portal.bounds import ORDER_RETENTION_DAYS_MAX, ORDER_RETENTION_DAYS_MIN
from portal.celery import app
from portal.devdb import settings_url
from sellers.choices import CancelledBy
from sellers.factories import OrderFactory
from sellers.importing import orders_import
from sellers.models import Order
from sellers.services import seller_create
from tests.test_settings import import_settings, refused

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

# The clock's today in the portal's zone, and the shortest retention allowed.
TODAY = dt.date(2026, 11, 21)
DAYS = ORDER_RETENTION_DAYS_MIN
OLDEST = TODAY - dt.timedelta(days=DAYS)
CUT = OLDEST - dt.timedelta(days=max(WINDOWS) - 1 + REDATING_DAYS)


@pytest.fixture
def veteran(db):
    """A seller enrolled long before the retention period, so every order counts."""
    return seller_create(merchant_token="VETERAN01", name="Veteran Seller", enrolled_on=dt.date(2024, 1, 1))


def day_orders(seller, day: dt.date) -> list[Order]:
    """Three orders of a local day: one that went well, one late both ways, one cancelled."""
    return [
        OrderFactory.build(seller=seller, purchased_on=day, order_id=f"{day.isoformat()}-ok"),
        OrderFactory.build(seller=seller, purchased_on=day, order_id=f"{day.isoformat()}-late", late=True),
        OrderFactory.build(
            seller=seller, purchased_on=day, order_id=f"{day.isoformat()}-cancelled", cancelled=CancelledBy.SELLER
        ),
    ]


@pytest.fixture
def history(veteran, make_orders):
    """Orders on every day from a week before the cut to a week after the oldest retained day."""
    first, last = CUT - dt.timedelta(days=7), OLDEST + dt.timedelta(days=7)
    days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    make_orders(*(order for day in days for order in day_orders(veteran, day)))
    return veteran


def snapshot_rows(seller, days) -> list[dict]:
    return [
        model_to_dict(row, exclude=["id", "computed_at"])
        for row in DailySnapshot.objects.filter(seller=seller, day__in=days).order_by("day")
    ]


def test_the_cut_keeps_the_largest_window_of_the_oldest_retained_day_and_two_days_for_a_time_zone_change():
    oldest_day, cut = retention_cut(days=400, today=TODAY)
    assert oldest_day == dt.date(2025, 10, 17)
    # The 30-day window ending on 2025-10-17 starts on 2025-09-18; two days more for re-dating.
    assert cut == dt.date(2025, 9, 16)


def test_orders_purchased_before_the_cut_are_removed_and_the_rest_and_every_snapshot_kept(history):
    snapshots_compute(day=CUT - dt.timedelta(days=1), seller_ids=[history.pk])  # a day outside the period
    snapshots_compute(day=OLDEST, seller_ids=[history.pk])
    before = Order.objects.count()

    result = orders_retain(days=DAYS, today=TODAY)

    assert result.removed == 7 * 3 and result.plan.cut == CUT and result.archive is None
    assert not Order.objects.filter(purchase_date__lt=CUT).exists()
    assert Order.objects.count() == before - 21
    assert Order.objects.filter(purchase_date=CUT).count() == 3
    assert DailySnapshot.objects.filter(seller=history).count() == 2


def test_a_recompute_of_any_day_inside_the_period_gives_the_same_snapshot_before_and_after(history):
    days = [OLDEST + dt.timedelta(days=n) for n in range(8)]
    for day in days:
        snapshots_compute(day=day, seller_ids=[history.pk])
    before = snapshot_rows(history, days)
    # Each day's 30-day window reaches back to the orders nearest the cut.
    assert before[0]["population_30_cancellation_rate"] == 30 * 3
    assert before[0]["defects_30_on_time_shipment_rate"] > before[0]["defects_7_on_time_shipment_rate"] > 0

    assert orders_retain(days=DAYS, today=TODAY).removed > 0
    for day in days:
        snapshots_compute(day=day, seller_ids=[history.pk])

    assert snapshot_rows(history, days) == before


def test_removal_goes_in_batches_with_progress(history):
    seen = []
    result = orders_retain(days=DAYS, today=TODAY, batch_size=5, progress=lambda done, total: seen.append(done))
    assert result.removed == 21
    assert seen == [5, 10, 15, 20, 21]


def test_the_archive_holds_exactly_the_removed_orders_in_the_import_format(history, tmp_path):
    removed = {o.order_id: o for o in Order.objects.filter(purchase_date__lt=CUT)}
    archive = tmp_path / "old.csv.gz"

    result = orders_retain(days=DAYS, today=TODAY, archive=archive, batch_size=4)

    assert result.archive == archive and result.removed == len(removed)
    with gzip.open(archive, "rt", newline="") as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0]) == list(ARCHIVE_COLUMNS)
    assert sorted(row["order_id"] for row in rows) == sorted(removed)
    late = next(row for row in rows if row["order_id"].endswith("-late"))
    order = removed[late["order_id"]]
    assert late["merchant_token"] == "VETERAN01" and late["buy_shipping"] == "true"
    assert dt.datetime.fromisoformat(late["purchased_at"]) == order.purchased_at
    assert dt.datetime.fromisoformat(late["delivered_at"]) == order.delivered_at
    assert late["promised_ship_date"] == order.promised_ship_date.isoformat()
    cancelled = next(row for row in rows if row["order_id"].endswith("-cancelled"))
    assert cancelled["cancelled_by"] == "seller" and cancelled["first_scan_at"] == ""

    # The import reads the archive back: the same orders again.
    unzipped = tmp_path / "old.csv"
    unzipped.write_bytes(gzip.decompress(archive.read_bytes()))
    assert orders_import(path=unzipped).created == len(removed)
    fields = ["order_id", "purchased_at", "units", "first_scan_at", "delivered_at", "cancelled_at", "purchase_date"]
    for order_id, order in removed.items():
        assert model_to_dict(Order.objects.get(order_id=order_id), fields=fields) == model_to_dict(order, fields=fields)


def test_dry_run_says_what_would_go_and_removes_nothing(history, tmp_path):
    out = StringIO()
    call_command("orders_retain", "--days", str(DAYS), "--dry-run", "--archive", str(tmp_path / "a.csv.gz"), stdout=out)
    assert out.getvalue() == (
        f"Dry run, nothing removed. Would remove 21 orders of 1 sellers purchased before {CUT} "
        f"(the earliest on {CUT - dt.timedelta(days=7)}); every order purchased from {CUT} on is kept, so each of "
        f"the last {DAYS} days (from {OLDEST}) can be recomputed as before; snapshots are kept.\n"
        f"They would be archived to {tmp_path / 'a.csv.gz'} first.\n"
    )
    assert Order.objects.filter(purchase_date__lt=CUT).count() == 21
    assert not (tmp_path / "a.csv.gz").exists()


def test_the_command_removes_archives_and_reports(history, tmp_path):
    out, err = StringIO(), StringIO()
    archive = tmp_path / "old.csv.gz"
    call_command(
        "orders_retain", "--days", str(DAYS), "--archive", str(archive), "--batch-size", "10", stdout=out, stderr=err
    )
    assert out.getvalue().startswith(f"Removed 21 orders purchased before {CUT}; every order purchased from")
    assert out.getvalue().endswith(f"Archived them to {archive}.\n")
    assert err.getvalue().splitlines() == [
        "  removed 10 of 21 orders (47%)",
        "  removed 20 of 21 orders (95%)",
        "  removed 21 of 21 orders (100%)",
    ]
    assert archive.exists()


def test_nothing_to_remove_writes_no_archive(veteran, make_orders, tmp_path):
    make_orders(*day_orders(veteran, OLDEST))
    out = StringIO()
    call_command("orders_retain", "--archive", str(tmp_path / "a.csv.gz"), stdout=out)
    assert out.getvalue().startswith("Nothing to remove: every order purchased from")
    assert out.getvalue().endswith("No archive was written.\n")
    assert not (tmp_path / "a.csv.gz").exists()


def test_the_default_keeps_order_retention_days(history, settings):
    settings.ORDER_RETENTION_DAYS = 400
    out = StringIO()
    call_command("orders_retain", "--dry-run", stdout=out)
    assert "Nothing to remove: every order purchased from 2025-09-16 on is kept" in out.getvalue()


@pytest.mark.parametrize(
    "days", [str(ORDER_RETENTION_DAYS_MIN - 1), str(ORDER_RETENTION_DAYS_MAX + 1), "0", "-400", "400.5", "a year"]
)
def test_days_outside_the_bounds_are_refused_and_nothing_is_removed(history, days):
    with pytest.raises(CommandError, match=f"is not a number of days from {ORDER_RETENTION_DAYS_MIN} to"):
        call_command("orders_retain", f"--days={days}")
    assert Order.objects.filter(purchase_date__lt=CUT).count() == 21


@pytest.mark.parametrize("days", [ORDER_RETENTION_DAYS_MIN - 1, ORDER_RETENTION_DAYS_MAX + 1])
def test_the_service_refuses_days_outside_the_bounds_too(history, days):
    with pytest.raises(RetentionError, match="out of range: keep from 366 to 3653 days"):
        orders_retain(days=days, today=TODAY)


@pytest.mark.parametrize("batch_size", ["0", "100001", "ten"])
def test_a_batch_size_outside_its_bounds_is_refused(history, batch_size):
    with pytest.raises(CommandError, match="is not a number of orders from 1 to 100000"):
        call_command("orders_retain", f"--batch-size={batch_size}")


def test_an_order_retention_days_setting_outside_the_bounds_stops_start_up():
    result = import_settings("portal.settings", DEBUG="true", ORDER_RETENTION_DAYS="90")
    assert refused(result, "ORDER_RETENTION_DAYS=90 is out of range: set it from 366 to 3653, e.g. 400.")


def test_an_existing_archive_is_never_overwritten(history, tmp_path):
    archive = tmp_path / "old.csv.gz"
    archive.write_bytes(b"earlier")
    with pytest.raises(CommandError, match="exists: an archive is never overwritten"):
        call_command("orders_retain", "--days", str(DAYS), "--archive", str(archive))
    assert archive.read_bytes() == b"earlier"
    assert Order.objects.filter(purchase_date__lt=CUT).count() == 21


def test_a_dry_run_refuses_an_archive_that_a_removal_would_refuse(history, tmp_path):
    (tmp_path / "old.csv.gz").write_bytes(b"earlier")
    with pytest.raises(CommandError, match="exists: an archive is never overwritten"):
        call_command("orders_retain", "--dry-run", "--archive", str(tmp_path / "old.csv.gz"))


def test_an_archive_in_a_missing_directory_is_refused(history, tmp_path):
    with pytest.raises(CommandError, match="is not a directory: choose an archive path in an existing directory"):
        call_command("orders_retain", "--days", str(DAYS), "--archive", str(tmp_path / "missing" / "old.csv.gz"))
    assert Order.objects.filter(purchase_date__lt=CUT).count() == 21


def test_a_second_removal_at_the_same_time_is_refused(history):
    with psycopg.connect(settings_url(connection.settings_dict), autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [RETENTION_LOCK])
        with pytest.raises(RetentionError, match="Another removal of old orders is running"):
            orders_retain(days=DAYS, today=TODAY)
        # Given back explicitly: a closed connection's backend may hold it a moment longer.
        other.execute("SELECT pg_advisory_unlock(%s)", [RETENTION_LOCK])
    assert Order.objects.filter(purchase_date__lt=CUT).count() == 21
    assert orders_retain(days=DAYS, today=TODAY).removed == 21  # the lock was given back


def test_the_weekly_task_removes_nothing_unless_turned_on(history, settings, tmp_path):
    settings.ORDER_RETENTION_DAYS = DAYS
    settings.ORDER_RETENTION_ENABLED = False
    assert retain_orders() == {"enabled": False, "removed": 0}
    assert Order.objects.filter(purchase_date__lt=CUT).count() == 21

    settings.ORDER_RETENTION_ENABLED = True
    settings.ORDER_RETENTION_ARCHIVE_DIR = str(tmp_path)
    assert retain_orders() == {"enabled": True, "removed": 21, "cut": CUT.isoformat()}
    (archive,) = tmp_path.iterdir()
    assert archive.name == f"orders-before-{CUT}-20261121T150000Z.csv.gz"
    assert len(gzip.decompress(archive.read_bytes()).splitlines()) == 1 + 21


def test_the_weekly_entry_runs_on_sunday_mornings_after_the_daily_run():
    entry = app.conf.beat_schedule["order-retention"]
    assert entry["task"] == "metrics.tasks.retain_orders"
    assert entry["schedule"] == crontab(hour=4, minute=30, day_of_week="sun")
    assert entry["options"]["expires"] == 6 * 60 * 60


def test_the_plan_counts_what_a_removal_would_take(history):
    plan = orders_retention_plan(days=DAYS, today=TODAY)
    assert (plan.orders, plan.sellers, plan.earliest, plan.cut, plan.oldest_day) == (
        21,
        1,
        CUT - dt.timedelta(days=7),
        CUT,
        OLDEST,
    )
