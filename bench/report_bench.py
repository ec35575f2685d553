"""Benchmark of the defect report download against the floor PostgreSQL itself sets.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python -m bench.report_bench --rows 200000 --small-rows 50000

Creates a fresh database ``bench_report``, two sellers (through the real seller service)
whose 30-day windows ending on D hold ``--rows`` and ``--small-rows`` defect orders
(sellers.factories, written with COPY), runs the daily run for D, then measures:
  * (a) the 30-day CSV streamed through the real view, every byte consumed;
  * (b) the floor: PostgreSQL's ``COPY (the view's query) TO STDOUT WITH CSV`` read by
    psycopg, same rows, no Python per row;
  * (c) the memory of serving the download, small and large, each in a fresh process:
    ru_maxrss before and after streaming, and the tracemalloc peak while streaming.
A streamed download's memory does not grow with its size (SPEC section 5): the growth
``peak_large / peak_small - 1`` should be near 0 while the rows grow fourfold.
Ends with one JSON line. Not a test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from zoneinfo import ZoneInfo

from bench.common import admin_url, fresh_database, setup_django, with_database

BENCH_DB = "bench_report"
DAY = "2026-11-20"
LARGE_TOKEN = "BENCHLARGE"
SMALL_TOKEN = "BENCHSMALL"
TIMEZONE = "America/Los_Angeles"
MINUTE, HOUR = dt.timedelta(minutes=1), dt.timedelta(hours=1)


def defect_orders(
    seller_id: int, zone: ZoneInfo, prefix: str, rows: int, *, first_day_back: int = 0, days: int = 30
) -> Iterator[tuple]:
    """``rows`` defect orders for ``order_rows``, purchased over the 30 days ending on D (the
    ``days`` ending ``first_day_back`` days before D: the history benchmark's older days) at
    local times spread over the day, on a two-day promise (sellers.factories). Every order
    has at least one defect: a fifth are cancelled by the seller, the rest shipped outside
    Buy Shipping, a third of those scanned a day late, a quarter delivered two days late,
    one in seven confirmed without a tracking id; the last days' deliveries fall after D.
    One order in a thousand has a carrier name a spreadsheet would read as a formula."""
    from sellers.choices import CancelledBy

    day = dt.date.fromisoformat(DAY)
    for n in range(1, rows + 1):
        purchased_on = day - dt.timedelta(days=first_day_back + n % days)
        purchased_at = dt.datetime.combine(purchased_on, dt.time(6), tzinfo=zone) + (n % 720) * MINUTE
        shape = {
            "units": 1 + n % 3,
            "promised_delivery_date": purchased_on + dt.timedelta(days=2),
            "carrier": '=HYPERLINK("x")' if n % 1000 == 0 else "UPS Ground",
            "tracking_id": f"1Z{n}",
            "no_tracking": n % 7 == 1,
            "outside_buy_shipping": True,
        }
        if n % 5 == 0:
            shape.update(cancelled=CancelledBy.SELLER, cancelled_after=2 * HOUR)
        else:
            shape.update(late_shipment=n % 3 == 0, late_delivery=2 if n % 4 == 0 else 0)
        yield seller_id, zone, f"{prefix}{n:08d}", purchased_at, shape


def generate(large_rows: int, small_rows: int, results: dict) -> None:
    from django.core.management import call_command
    from django.db import connection

    from bench.common import orders_copy
    from sellers.factories import order_rows
    from sellers.services import seller_create, seller_user_create

    call_command("migrate", verbosity=0)
    start = time.perf_counter()
    for token, rows in ((LARGE_TOKEN, large_rows), (SMALL_TOKEN, small_rows)):
        seller = seller_create(
            merchant_token=token, name=f"Bench {token}", timezone_name=TIMEZONE, enrolled_on=dt.date(2026, 1, 1)
        )
        seller_user_create(seller=seller, username=token.lower(), password="bench password 0123")
        # No volume control was ever set, so every order is a Prime order (is_prime TRUE).
        orders = defect_orders(seller.pk, seller.zone, token[-1], rows)
        orders_copy(order_rows(orders, updated_at=dt.datetime.fromisoformat(f"{DAY}T08:00:00+00:00")))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    results["generate_s"] = round(time.perf_counter() - start, 2)
    print(f"  generated {large_rows + small_rows} orders in {results['generate_s']:.2f} s", flush=True)


def stream_through_view(token: str, window_days: int = 30, *, stop_after_chunks: int | None = None) -> dict:
    """GET the CSV through the real view as the seller's user; consume the stream."""
    from django.test import RequestFactory

    from metrics.views.performance import defects_csv
    from sellers.models import User

    request = RequestFactory().get("/performance/defects.csv", {"window": window_days})
    request.user = User.objects.select_related("seller").get(username=token.lower())
    response = defects_csv(request)
    assert response.status_code == 200, response.status_code
    size = lines = chunks = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        lines += chunk.count(b"\n")
        chunks += 1
        if stop_after_chunks is not None and chunks >= stop_after_chunks:
            break
    response.close()
    return {"bytes": size, "rows": lines - 1, "chunks": chunks}


def copy_floor(token: str, window_days: int = 30) -> dict:
    """The same query's rows as CSV by PostgreSQL's COPY, read through psycopg."""

    from django.db import connection

    from metrics.selectors import defect_report_values
    from sellers.models import Seller

    seller = Seller.objects.get(merchant_token=token)
    sql, params = defect_report_values(
        seller=seller, day=dt.date.fromisoformat(DAY), window_days=window_days
    ).query.sql_with_params()
    size = 0
    with connection.cursor() as cursor:
        statement = cursor.cursor.mogrify(sql, params)
        start = time.perf_counter()
        with cursor.cursor.copy(f"COPY ({statement}) TO STDOUT WITH (FORMAT csv, HEADER)") as copy:
            lines = 0
            for block in copy:
                size += len(block)
                lines += bytes(block).count(b"\n")
        elapsed = time.perf_counter() - start
    return {"seconds": elapsed, "bytes": size, "rows": lines - 1}


def server_side_cursor_open(token: str) -> bool:
    """Whether the view reads through a named (server-side) cursor: one shows in pg_cursors
    of the connection while the download is half-way."""
    from django.db import connection
    from django.test import RequestFactory

    from metrics.views.performance import defects_csv
    from sellers.models import User

    request = RequestFactory().get("/performance/defects.csv", {"window": 30})
    request.user = User.objects.select_related("seller").get(username=token.lower())
    response = defects_csv(request)
    chunks = iter(response.streaming_content)
    next(chunks), next(chunks)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_cursors")
        open_cursors = cursor.fetchone()[0]
    response.close()
    return open_cursors > 0


def memory_probe(token: str, database: str = BENCH_DB) -> dict:
    """Run in a fresh process: the memory of serving one seller's 30-day download."""
    setup_django(with_database(admin_url(), database))
    # Warm up: imports, the connection and the code paths of a download, first chunks only.
    stream_through_view(token, stop_after_chunks=3)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    start = time.perf_counter()
    streamed = stream_through_view(token)
    elapsed = time.perf_counter() - start
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "rows": streamed["rows"],
        "bytes": streamed["bytes"],
        "maxrss_before_kb": before,
        "maxrss_after_kb": after,
        "tracemalloc_peak_kb": round(peak / 1024, 1),
        "seconds_under_tracemalloc": round(elapsed, 2),
    }


def probe_in_subprocess(token: str, database: str = BENCH_DB) -> dict:
    output = subprocess.run(
        [sys.executable, "-m", "bench.report_bench", "--memory-probe", token, "--database", database],
        check=True,
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def run(args) -> dict:
    admin = admin_url()
    setup_django(fresh_database(admin, BENCH_DB))
    logging.disable(logging.WARNING)  # the daily run's revocation notices are not the subject

    from metrics.services import daily_run

    results: dict = {}
    print(f"Defect report, {args.rows} and {args.small_rows} defect orders in 30 days:", flush=True)
    generate(args.rows, args.small_rows, results)
    start = time.perf_counter()
    daily_run(day=dt.date.fromisoformat(DAY))
    results["daily_run_s"] = round(time.perf_counter() - start, 2)

    results["server_side_cursor"] = server_side_cursor_open(LARGE_TOKEN)
    views, floors = [], []
    for attempt in range(args.repeat):
        start = time.perf_counter()
        streamed = stream_through_view(LARGE_TOKEN)
        views.append(time.perf_counter() - start)
        floor = copy_floor(LARGE_TOKEN)
        floors.append(floor["seconds"])
        assert streamed["rows"] == floor["rows"], (streamed, floor)
        print(
            f"  run {attempt + 1}: view {views[-1]:.3f} s ({streamed['rows']} rows, {streamed['bytes'] / 1e6:.1f} MB),"
            f" COPY {floors[-1]:.3f} s ({floor['bytes'] / 1e6:.1f} MB)",
            flush=True,
        )
    results["rows"] = streamed["rows"]
    results["csv_mb"] = round(streamed["bytes"] / 1e6, 2)
    results["view_s"] = round(statistics.median(views), 3)
    results["copy_s"] = round(statistics.median(floors), 3)
    results["view_rows_per_s"] = round(results["rows"] / results["view_s"])
    results["ratio"] = round(results["view_s"] / results["copy_s"], 2)

    small = probe_in_subprocess(SMALL_TOKEN)
    large = probe_in_subprocess(LARGE_TOKEN)
    results["memory"] = {"small": small, "large": large}
    results["peak_growth"] = round(large["tracemalloc_peak_kb"] / small["tracemalloc_peak_kb"] - 1, 3)
    results["maxrss_growth_kb"] = {
        "small": small["maxrss_after_kb"] - small["maxrss_before_kb"],
        "large": large["maxrss_after_kb"] - large["maxrss_before_kb"],
    }

    print()
    print(f"  {'':28} {'rows':>9} {'seconds':>9} {'rows/s':>10}")
    view_rate = results["view_rows_per_s"]
    print(f"  {'(a) view, streamed CSV':28} {results['rows']:>9} {results['view_s']:>9.3f} {view_rate:>10}")
    copy_rate = round(results["rows"] / results["copy_s"])
    print(f"  {'(b) COPY ... TO STDOUT':28} {results['rows']:>9} {results['copy_s']:>9.3f} {copy_rate:>10}")
    print(f"  view / COPY = {results['ratio']}x")
    print(f"  server-side cursor open while streaming: {results['server_side_cursor']}")
    print()
    print(f"  {'(c) memory, fresh process':28} {'rows':>9} {'maxrss before':>14} {'after':>9} {'tracemalloc peak':>17}")
    for label, probe in (("small", small), ("large", large)):
        print(
            f"  {label:28} {probe['rows']:>9} {probe['maxrss_before_kb']:>11} kB {probe['maxrss_after_kb']:>6} kB"
            f" {probe['tracemalloc_peak_kb']:>14} kB"
        )
    print(f"  peak growth (large / small - 1) = {results['peak_growth']}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000, help="defect orders of the large seller")
    parser.add_argument("--small-rows", type=int, default=50_000, help="defect orders of the small seller")
    parser.add_argument("--repeat", type=int, default=3, help="measured runs; the median is reported")
    parser.add_argument("--memory-probe", metavar="TOKEN", help=argparse.SUPPRESS)
    parser.add_argument("--database", default=BENCH_DB, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_probe:
        print(json.dumps(memory_probe(args.memory_probe, args.database)))
        return
    print(json.dumps({"bench": {"report": run(args)}}))


if __name__ == "__main__":
    main()
