"""Benchmark of the daily evaluation against the floor PostgreSQL itself sets.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python -m bench.daily_bench --sellers 10000 --orders 3000000

Creates (or with --reuse keeps) a database ``bench_daily``, fills it with sellers (through
the real seller service, so they have the default settings) and orders over 60 days,
skewed so a few sellers are very large, then measures in one run:
  * run_daily for every seller (counts, snapshot upsert, evaluation);
  * the floor: one hand-written SQL query computing the same snapshot numbers;
  * the naive approach, a query per seller, on a sample, extrapolated.
It checks the floor's numbers equal the portal's before printing, and ends with one JSON
line. Not a test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from contextlib import contextmanager

from bench.common import admin_url, database_exists, fresh_database, setup_django, with_database

BENCH_DB = "bench_daily"
DAY = "2026-11-20"


@contextmanager
def timed(label: str, results: dict):
    start = time.perf_counter()
    yield
    results[label] = round(time.perf_counter() - start, 3)
    print(f"  {label:<32} {results[label]:>9.3f} s", flush=True)


def prepare_database(url: str, reuse: bool) -> bool:
    """Create the bench database; True if it already holds data to reuse."""
    if reuse and database_exists(url, BENCH_DB):
        return True
    fresh_database(url, BENCH_DB)
    return False


def generate(sellers: int, orders: int, results: dict) -> None:
    import datetime as dt

    from django.core.management import call_command
    from django.db import connection, transaction

    from sellers.models import Seller
    from sellers.services import orders_classify_prime, seller_defaults_create

    call_command("migrate", verbosity=0)
    zones = ["America/Los_Angeles", "America/New_York", "America/Chicago", "America/Denver", "Europe/Berlin"]
    with timed("generate sellers", results), transaction.atomic():
        created = Seller.objects.bulk_create(
            Seller(
                name=f"Bench seller {i}",
                merchant_token=f"BENCH{i:06d}",
                timezone=zones[i % len(zones)],
                enrolled_on=dt.date(2026, 1, 1),
            )
            for i in range(1, sellers + 1)
        )
        for seller in created:
            seller_defaults_create(seller=seller)
    # Orders over the 60 days ending on DAY (see ORDERS_SQL).
    with timed("generate orders", results), connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.42)")
        cursor.execute(ORDERS_SQL, {"sellers": sellers, "orders": orders, "day": f"{DAY} 08:00+00"})
        cursor.execute("ANALYZE")
    with timed("classify Prime orders", results):
        orders_classify_prime(seller_ids=list(Seller.objects.values_list("pk", flat=True)))


# Orders in the seller's local time, as a healthy seller fulfils them: ordered before the
# 14:00 cutoff ships that day, else the next; scanned at the 17:00 pickup (0.3 % a day
# late), delivered at noon on the promised day (1.5 % late, 0.5 % never); 0.2 % cancelled,
# a third of those by the seller. seller index = ceil(N * random()^3), a power law, so the
# first sellers are very large. "+ 0 * n" ties each lateral draw to its row (uncorrelated,
# PostgreSQL would draw once).
ORDERS_SQL = """
INSERT INTO sellers_order (
    seller_id, order_id, purchased_at, units, promised_ship_date, promised_delivery_date,
    first_scan_at, ship_confirmed_at, delivered_at, buy_shipping, carrier, tracking_id,
    ship_to_state, cancelled_at, cancelled_by, cancel_requested_at,
    purchase_date, first_scan_date, ship_confirmed_date, delivered_date, cancelled_date,
    cancel_requested_date, is_prime, updated_at)
SELECT seller_id, order_id, purchased_at, units, ship_date, ship_date + transit_days,
       first_scan_at, first_scan_at - interval '1 hour', delivered_at, buy_shipping, carrier, tracking_id,
       state, cancelled_at, cancelled_by, NULL,
       local_purchase::date, (first_scan_at AT TIME ZONE tz)::date,
       ((first_scan_at - interval '1 hour') AT TIME ZONE tz)::date, (delivered_at AT TIME ZONE tz)::date,
       (cancelled_at AT TIME ZONE tz)::date, NULL, TRUE, now()
FROM (
    SELECT l.*,
           CASE WHEN cancel THEN NULL
                ELSE (ship_date + late_scan + time '17:00') AT TIME ZONE tz END AS first_scan_at,
           CASE WHEN cancel OR never_delivered THEN NULL
                ELSE (ship_date + transit_days + late_delivery + time '12:00') AT TIME ZONE tz END AS delivered_at
    FROM (
        SELECT g.*, s.id AS seller_id, s.timezone AS tz, g.purchased_at AT TIME ZONE s.timezone AS local_purchase,
               (g.purchased_at AT TIME ZONE s.timezone)::date
                   + (extract(hour FROM g.purchased_at AT TIME ZONE s.timezone) >= 14)::int AS ship_date,
               CASE WHEN g.cancel THEN g.purchased_at + interval '20 minutes' END AS cancelled_at,
               CASE WHEN NOT g.cancel THEN '' WHEN g.r1 < 0.67 THEN 'customer' ELSE 'seller' END AS cancelled_by
        FROM (
            SELECT n, 'B-' || n AS order_id,
                   greatest(1, ceil(%(sellers)s * power(random(), 3)))::int AS seller_idx,
                   p.purchased_at, 1 + (random() < 0.2)::int + (random() < 0.05)::int AS units,
                   1 + (random() < 0.25)::int AS transit_days,
                   (random() < 0.003)::int AS late_scan,
                   (random() < 0.015)::int * 2 AS late_delivery,
                   random() < 0.005 AS never_delivered,
                   random() < 0.997 AS buy_shipping,
                   (ARRAY['UPS Ground', 'USPS Priority', 'FedEx Home'])[1 + (n %% 3)] AS carrier,
                   CASE WHEN random() < 0.001 THEN '' ELSE 'TRK' || n END AS tracking_id,
                   (ARRAY['CA','TX','NY','FL','IL','PA','OH','GA','NC','MI','WA','AZ'])[1 + (n %% 12)] AS state,
                   c.cancel, random() AS r1
            FROM generate_series(1, %(orders)s) n
            CROSS JOIN LATERAL (SELECT timestamptz %(day)s + interval '1 day'
                                       - (random() + 0 * n) * interval '60 days' AS purchased_at) p
            CROSS JOIN LATERAL (SELECT random() + 0 * n < 0.002 AS cancel) c
        ) g
        JOIN sellers_seller s ON s.merchant_token = 'BENCH' || lpad(g.seller_idx::text, 6, '0')
    ) l
) o
"""

FLOOR_SQL = """
WITH w AS (
    SELECT o.seller_id, o.units,
           o.purchase_date >= %(d7)s AS in7,
           o.first_scan_date <= %(d)s AS shipped,
           o.first_scan_date <= %(d)s AND o.first_scan_date > o.promised_ship_date AS shipped_late,
           (o.cancelled_date IS NULL OR o.cancelled_date > %(d)s) AS not_cancelled,
           (o.cancelled_date IS NULL OR o.cancelled_date > %(d)s) AND o.promised_delivery_date <= %(d)s AS due,
           o.buy_shipping,
           o.ship_confirmed_date <= %(d)s AS confirmed,
           o.tracking_id = '' AS no_tracking,
           o.cancelled_date <= %(d)s AND o.cancelled_by = 'seller'
               AND (o.cancel_requested_at IS NULL OR o.cancel_requested_at > o.cancelled_at) AS seller_cancel,
           (o.delivered_date IS NULL OR o.delivered_date > %(d)s OR o.delivered_date > o.promised_delivery_date)
               AS not_on_time,
           o.promised_delivery_date - o.purchase_date AS promise_days
    FROM sellers_order o JOIN sellers_seller s ON s.id = o.seller_id
    WHERE o.is_prime AND o.purchase_date BETWEEN %(d30)s AND %(d)s
      AND o.purchase_date >= s.enrolled_on
      AND NOT EXISTS (SELECT 1 FROM sellers_sellerevent e WHERE e.seller_id = o.seller_id
                      AND e.kind = 'reinstated' AND e.day <= %(d)s AND e.created_at > o.purchased_at)
)
SELECT seller_id,
{columns}
FROM w GROUP BY seller_id
"""

FLOOR_METRICS = {
    "on_time_shipment_rate": ("shipped", "shipped_late AND due AND not_on_time"),
    "on_time_delivery_rate": ("due", "not_on_time"),
    "buy_shipping_rate": ("shipped", "NOT buy_shipping"),
    "cancellation_rate": ("TRUE", "seller_cancel"),
    "valid_tracking_rate": ("confirmed", "(no_tracking OR shipped IS NOT TRUE)"),
    "one_day_delivery_speed": ("not_cancelled", "promise_days > 1"),
    "two_day_delivery_speed": ("not_cancelled", "promise_days > 2"),
}


def floor_sql() -> tuple[str, list[tuple[int, str, str]]]:
    columns, keys = [], []
    for window, window_filter in ((7, "in7"), (30, "TRUE")):
        for name, (population, defects) in FLOOR_METRICS.items():
            columns.append(f"  coalesce(sum(units) FILTER (WHERE {window_filter} AND {population}), 0)")
            keys.append((window, name, "population"))
            columns.append(f"  coalesce(sum(units) FILTER (WHERE {window_filter} AND {population} AND {defects}), 0)")
            keys.append((window, name, "defects"))
        protected = "due AND not_on_time AND shipped AND buy_shipping"
        columns.append(f"  coalesce(sum(units) FILTER (WHERE {window_filter} AND {protected}), 0)")
        keys.append((window, "on_time_delivery_rate", "protected"))
    return FLOOR_SQL.format(columns=",\n".join(columns)), keys


def reset_evaluation() -> None:
    """Every measured run starts from the same state: no snapshots, everyone eligible."""
    from django.db import connection

    from metrics.models import DailySnapshot
    from sellers.choices import ProgrammeStatus
    from sellers.models import AuditEntry, Seller, SellerEvent

    DailySnapshot.objects.all().delete()
    SellerEvent.objects.all().delete()
    AuditEntry.objects.all().delete()
    Seller.objects.update(status=ProgrammeStatus.ELIGIBLE)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE metrics_dailysnapshot")


@contextmanager
def emails_queued(queued: list[list[int]]):
    """As in production, where the run hands the revocation emails to a Celery worker once
    it commits: here the run's ``delay_on_commit`` keeps the event ids instead (the
    benchmark's process has no broker, which would otherwise send them in-process)."""
    from unittest import mock

    from django.db import transaction

    from metrics.tasks import send_revocation_emails

    def queue(event_ids: list[int]) -> None:
        transaction.on_commit(lambda: queued.append(event_ids))

    with mock.patch.object(send_revocation_emails, "delay_on_commit", queue):
        yield


def measure_daily(*, day, repeat: int, naive_sample: int, results: dict, say=print) -> None:
    """run_daily for every seller against the floor query, side by side ``repeat`` times
    (medians), the floor's numbers checked equal to the portal's, and the naive way (a
    query per seller) on a sample, extrapolated. Every measured run starts with every seller
    eligible and no snapshots (a third of the sellers are revoked at full scale); the same day
    run again after them, with nobody left to revoke, is timed for context. The revocation
    emails are queued, as in production, and their task is timed apart. Fills ``results``."""
    import datetime as dt

    from django.db import connection

    from metrics.notifications import revocation_emails_send
    from metrics.selectors import metric_counts
    from metrics.services import daily_run
    from sellers.models import Seller

    params = {"d": day, "d7": day - dt.timedelta(days=6), "d30": day - dt.timedelta(days=29)}
    sql, keys = floor_sql()
    runs, floors = [], []
    for attempt in range(repeat):
        reset_evaluation()
        queued: list[list[int]] = []
        start = time.perf_counter()
        with emails_queued(queued):
            outcome = daily_run(day=day)
        runs.append(time.perf_counter() - start)
        with connection.cursor() as cursor:
            start = time.perf_counter()
            cursor.execute(sql, params)
            floor_rows = cursor.fetchall()
            floors.append(time.perf_counter() - start)
        say(f"  daily run {attempt + 1}: run_daily {runs[-1]:.3f} s, floor query {floors[-1]:.3f} s")
    results["daily_s"] = round(statistics.median(runs), 3)
    results["daily_floor_s"] = round(statistics.median(floors), 3)
    results["daily_ratio"] = round(results["daily_s"] / results["daily_floor_s"], 2)
    results["snapshots"] = outcome.snapshots
    results["revoked"] = len(outcome.revoked)
    # The last run's email task, as a worker would run it. The generated sellers have no
    # users, so it loads and reads the events but renders and sends no email.
    start = time.perf_counter()
    sent = sum(revocation_emails_send(event_ids=event_ids) for event_ids in queued)
    results["revocation_email_task_s"] = round(time.perf_counter() - start, 3)
    # For context, not the ratio: the same day again on top of the last run, as a rerun or a
    # quiet day is, with nobody left to revoke. Each measured run above is a first run.
    with emails_queued([]):
        start = time.perf_counter()
        rerun = daily_run(day=day)
        results["daily_rerun_s"] = round(time.perf_counter() - start, 3)
    say(f"  the same day again, {len(rerun.revoked)} revoked: {results['daily_rerun_s']} s")
    say(
        f"  revocation email task for {len(outcome.revoked)} sellers (a worker's; {sent} emails):"
        f" {results['revocation_email_task_s']} s"
    )

    # The floor computes the same numbers as the portal: checked before the ratio is trusted.
    portal = metric_counts(day=day)
    for row in floor_rows:
        seller_id, values = row[0], row[1:]
        for (window, name, kind), value in zip(keys, values, strict=True):
            assert getattr(portal[(seller_id, window)][name], kind) == value, (seller_id, window, name, kind)
    results["daily_floor_matches"] = True

    sample = list(Seller.objects.order_by("?").values_list("pk", flat=True)[:naive_sample])
    start = time.perf_counter()
    for seller_id in sample:
        metric_counts(day=day, seller_ids=[seller_id])
    per_seller = (time.perf_counter() - start) / max(len(sample), 1)
    results["naive_sample"] = len(sample)
    results["naive_daily_s"] = round(per_seller * Seller.objects.count(), 3)
    results["naive_daily_ratio"] = round(results["naive_daily_s"] / results["daily_floor_s"], 1)
    say(f"  naive, a query per seller ({len(sample)} sampled, extrapolated): {results['naive_daily_s']:.3f} s")


def run(args) -> dict:
    import datetime as dt

    url = admin_url()
    results: dict = {"sellers": args.sellers, "orders": args.orders}
    reused = prepare_database(url, args.reuse)
    setup_django(with_database(url, BENCH_DB))
    from sellers.models import Order, Seller

    if not reused:
        generate(args.sellers, args.orders, results)
    results["orders"] = Order.objects.count()
    results["sellers"] = Seller.objects.count()
    print(f"Daily evaluation, {results['sellers']} sellers, {results['orders']} orders:", flush=True)
    measure_daily(
        day=dt.date.fromisoformat(DAY),
        repeat=args.repeat,
        naive_sample=args.naive_sample,
        results=results,
        say=lambda text: print(text, flush=True),
    )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sellers", type=int, default=10_000)
    parser.add_argument("--orders", type=int, default=3_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="measured runs; the median is reported")
    parser.add_argument("--naive-sample", type=int, default=300)
    parser.add_argument("--reuse", action="store_true", help="keep the data of a previous run of the same size")
    results = run(parser.parse_args())
    print(json.dumps({"bench": {"daily": results}}))


if __name__ == "__main__":
    main()
