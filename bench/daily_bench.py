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
import datetime as dt
import json
import random
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from zoneinfo import ZoneInfo

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
    from django.core.management import call_command
    from django.db import connection, transaction

    from bench.common import orders_copy
    from sellers.factories import order_rows
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
    with timed("generate orders", results):
        orders_copy(order_rows(bench_orders([(s.pk, s.zone) for s in created], orders), updated_at=UPDATED_AT))
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    with timed("classify Prime orders", results):
        orders_classify_prime(seller_ids=list(Seller.objects.values_list("pk", flat=True)))


UPDATED_AT = dt.datetime.fromisoformat(f"{DAY}T08:00:00+00:00") + dt.timedelta(days=1)
CARRIERS = ("UPS Ground", "USPS Priority", "FedEx Home")
CONFIRMED, PICKUP, DELIVERED = dt.time(16), dt.time(17), dt.time(12)
STATES = ("CA", "TX", "NY", "FL", "IL", "PA", "OH", "GA", "NC", "MI", "WA", "AZ")


def bench_orders(
    sellers: list[tuple[int, ZoneInfo]],
    count: int,
    seed: float = 0.42,
    *,
    end: dt.datetime | None = None,
    days: int = 60,
    prefix: str = "B-",
) -> Iterator[tuple]:
    """``count`` orders for ``order_rows`` over the 60 days ending on DAY (``days`` ending at
    ``end``, order ids ``prefix`` and a number: the history benchmark's older days), in the seller's
    local time, as a healthy seller fulfils them: ordered before the 14:00 cutoff ships that
    day, else the next; confirmed at 16:00 and scanned at the 17:00 pickup, delivered at noon
    on the promised day, a quarter on a two-day promise. Then the shapes of sellers.factories:
    0.3 % scanned a day late, 1.5 % delivered two days late, 0.5 % never; 0.3 % outside Buy
    Shipping, 0.1 % without a tracking id; 0.2 % cancelled, a third of those by the seller.
    The seller of an order is ``sellers[floor(N * random()^3)]``, a power law, so the
    first sellers are very large."""
    from sellers.choices import CancelledBy

    rng = random.Random(seed)
    draw = rng.random
    end, span = end or UPDATED_AT, dt.timedelta(days=days)
    one_day, two_days = dt.timedelta(days=1), dt.timedelta(days=2)
    cancelled_after = dt.timedelta(minutes=20)
    for n in range(1, count + 1):
        seller_id, zone = sellers[int(len(sellers) * draw() ** 3)]
        purchased_at = end - draw() * span
        local = purchased_at.astimezone(zone)
        ship_on = local.date() + (one_day if local.hour >= 14 else dt.timedelta())
        deliver_on = ship_on + (two_days if draw() < 0.25 else one_day)
        shape = {
            "promised_ship_date": ship_on,
            "promised_delivery_date": deliver_on,
            "ship_confirmed_at": dt.datetime.combine(ship_on, CONFIRMED, tzinfo=zone),
            "first_scan_at": dt.datetime.combine(ship_on, PICKUP, tzinfo=zone),
            "delivered_at": dt.datetime.combine(deliver_on, DELIVERED, tzinfo=zone),
            "units": 1 + (draw() < 0.2) + (draw() < 0.05),
            "carrier": CARRIERS[n % 3],
            "tracking_id": f"TRK{n}",
            "ship_to_state": STATES[n % 12],
        }
        if draw() < 0.002:
            shape["cancelled"] = CancelledBy.CUSTOMER if draw() < 0.67 else CancelledBy.SELLER
            shape["cancelled_after"] = cancelled_after
        else:
            shape["late_shipment"] = draw() < 0.003
            shape["late_delivery"] = 2 if draw() < 0.015 else 0
            shape["not_delivered"] = draw() < 0.005
            shape["outside_buy_shipping"] = draw() < 0.003
            shape["no_tracking"] = draw() < 0.001
        yield seller_id, zone, f"{prefix}{n}", purchased_at, shape


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
    """Every measured run starts from the same state: no snapshots, everyone eligible, nobody
    at risk (so each run records who enters at risk, as a first run does)."""
    from django.db import connection

    from metrics.models import DailySnapshot, SellerAtRisk
    from sellers.choices import ProgrammeStatus
    from sellers.models import AuditEntry, Seller

    DailySnapshot.objects.all().delete()
    SellerAtRisk.objects.all().delete()
    AuditEntry.objects.all().delete()  # the status history is a view of it
    Seller.objects.update(status=ProgrammeStatus.ELIGIBLE)
    with connection.cursor() as cursor:
        # The sellers' and audit tables too: each run updates every seller and writes the
        # revocations' entries, and with autovacuum off (as on the benchmark's server) their
        # dead rows and stale estimates grew run by run and turned plans (the at-risk entry
        # took 110 s instead of 0.1 s by the fourth run).
        cursor.execute("VACUUM ANALYZE metrics_dailysnapshot, metrics_selleratrisk, sellers_seller, sellers_auditentry")


@contextmanager
def emails_queued(queued: list[list[int]], at_risk: list[tuple[list[int], str]] | None = None):
    """As in production, where the run hands the revocation and at-risk emails to a Celery
    worker once it commits: here the run's ``delay_on_commit`` keeps the event ids (and the
    at-risk sellers and day, in ``at_risk``) instead. The benchmark's process has no broker,
    which would otherwise send them in-process, inside the timed run: the at-risk task for
    the 6,338 sellers a first run finds at risk took 2.5 s of the first measured run."""
    from unittest import mock

    from django.db import transaction

    from metrics.tasks import send_at_risk_emails, send_revocation_emails

    at_risk = [] if at_risk is None else at_risk

    def queue(event_ids: list[int]) -> None:
        transaction.on_commit(lambda: queued.append(event_ids))

    def queue_at_risk(seller_ids: list[int], day_iso: str) -> None:
        transaction.on_commit(lambda: at_risk.append((seller_ids, day_iso)))

    with (
        mock.patch.object(send_revocation_emails, "delay_on_commit", queue),
        mock.patch.object(send_at_risk_emails, "delay_on_commit", queue_at_risk),
    ):
        yield


def measure_daily(*, day, repeat: int, naive_sample: int, results: dict, say=print) -> None:
    """run_daily for every seller against the floor query, side by side ``repeat`` times
    (medians), the floor's numbers checked equal to the portal's, and the naive way (a
    query per seller) on a sample, extrapolated. Every measured run starts with every seller
    eligible and no snapshots (a third of the sellers are revoked at full scale); the same day
    run again after them, with nobody left to revoke, is timed for context. The revocation
    and at-risk emails are queued, as in production, and their tasks are timed apart. Fills
    ``results``."""
    from django.db import connection, transaction

    from metrics.notifications import at_risk_emails_send, revocation_emails_send
    from metrics.selectors import metric_counts
    from metrics.services import daily_run
    from sellers.models import Seller

    params = {"d": day, "d7": day - dt.timedelta(days=6), "d30": day - dt.timedelta(days=29)}
    sql, keys = floor_sql()
    runs, floors, floors_jit_off = [], [], []
    for attempt in range(repeat):
        reset_evaluation()
        queued: list[list[int]] = []
        at_risk: list[tuple[list[int], str]] = []
        start = time.perf_counter()
        with emails_queued(queued, at_risk):
            outcome = daily_run(day=day)
        runs.append(time.perf_counter() - start)
        with connection.cursor() as cursor:
            start = time.perf_counter()
            cursor.execute(sql, params)
            floor_rows = cursor.fetchall()
            floors.append(time.perf_counter() - start)
            # The portal's counts run without JIT's inlining and optimisation once the orders
            # hold a long history (metrics.sql.SNAPSHOT_COUNTS_PLAN): the floor is timed without
            # JIT too, and the faster of the two is the floor, so no setting favours the portal.
            with transaction.atomic():
                cursor.execute("SET LOCAL jit = off")
                start = time.perf_counter()
                cursor.execute(sql, params)
                cursor.fetchall()
                floors_jit_off.append(time.perf_counter() - start)
        say(
            f"  daily run {attempt + 1}: run_daily {runs[-1]:.3f} s, floor query {floors[-1]:.3f} s "
            f"({floors_jit_off[-1]:.3f} s without JIT)"
        )
    results["daily_s"] = round(statistics.median(runs), 3)
    results["daily_floor_jit_s"] = round(statistics.median(floors), 3)
    results["daily_floor_no_jit_s"] = round(statistics.median(floors_jit_off), 3)
    results["daily_floor_s"] = min(results["daily_floor_jit_s"], results["daily_floor_no_jit_s"])
    results["daily_ratio"] = round(results["daily_s"] / results["daily_floor_s"], 2)
    results["snapshots"] = outcome.snapshots
    results["revoked"] = len(outcome.revoked)
    results["entered_at_risk"] = len(outcome.entered_at_risk)
    # The last run's email task, as a worker would run it. The generated sellers have no
    # users, so it loads and reads the events but renders and sends no email.
    start = time.perf_counter()
    sent = sum(revocation_emails_send(event_ids=event_ids) for event_ids in queued)
    results["revocation_email_task_s"] = round(time.perf_counter() - start, 3)
    start = time.perf_counter()
    for seller_ids, day_iso in at_risk:
        sent += at_risk_emails_send(seller_ids=seller_ids, day=dt.date.fromisoformat(day_iso))
    results["at_risk_email_task_s"] = round(time.perf_counter() - start, 3)
    # For context, not the ratio: the same day again on top of the last run, as a rerun or a
    # quiet day is, with nobody left to revoke. Each measured run above is a first run.
    with emails_queued([]):
        start = time.perf_counter()
        rerun = daily_run(day=day)
        results["daily_rerun_s"] = round(time.perf_counter() - start, 3)
    say(f"  the same day again, {len(rerun.revoked)} revoked: {results['daily_rerun_s']} s")
    say(
        f"  a worker's email tasks ({sent} emails: the generated sellers have no users): revocation of"
        f" {len(outcome.revoked)} sellers {results['revocation_email_task_s']} s, at risk for"
        f" {len(outcome.entered_at_risk)} {results['at_risk_email_task_s']} s"
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
