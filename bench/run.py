"""The portal against the database's own floor, every figure in one run on one database.

    make bench SCALE=small            # about 7 minutes: 2.5 of them the history step (6), 2-3 the replica (7)
    make bench SCALE=full             # 10,000 sellers, 3,000,000 orders, 1,000,000-row import; step 6 ~20 min more
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python -m bench.run --scale small

Creates (and at the end drops, unless --keep) a database ``bench_portal`` on the server of
DATABASE_URL, never the dev or test databases, fills it with sellers and orders over 60
days skewed by a power law (bench.daily_bench.bench_orders) plus the two defect-heavy sellers
of the report benchmark (bench.report_bench.defect_orders), every order built as the tests
and the demo build theirs (sellers.factories) and written with COPY, then measures, each side
by side with its floor in the same run:

  1. daily    ``daily_run`` for every seller vs one hand-written SQL query computing the same
              snapshot numbers (checked equal); the naive query per seller, sampled;
  2. workers  the Celery fan-out (``metrics.tasks.daily_evaluation``) with 1 and 2 real
              workers on Redis, until every snapshot of D is written;
  3. dashboard p50/p95 of /performance/ and of /api/performance/ of the largest seller under
              concurrent load on gunicorn (DEBUG off, the cache in Redis as in production)
              vs the same server's /healthz; and the first view of the seller's day after
              the daily run's background warm-up (and on an empty cache, nothing warmed);
  4. report   the largest seller's 30-day defect CSV through the view vs ``COPY ... TO
              STDOUT``; peak memory of a small and a large download, each in a fresh process;
  5. import   ``import_orders`` of a file vs ``psql \\copy`` of it into a table of text; and
              the same orders through the feed, POST /api/v1/orders in 10,000-item batches
              (``feed_rows_per_second``, ``feed_vs_import_ratio``: its time over the import's);
  6. history  the daily run, the largest seller's uncached dashboard and its 30-day defect CSV
              with 365 days of orders against 60 (``history_ratio``, the worst of the three:
              bench.history_bench);
  7. replica  the dashboard, /api/performance/ and the defect CSV of step 3's seller under load,
              without and with a real streaming replica of the server (DATABASE_REPLICA_URL),
              in turns: their p50/p95 and requests a second, and how much of the database's
              work left the primary (``replica_primary_share``, ``replica_offload_share``:
              bench.replica_bench).

Prints a table and ends with one JSON line ``{"bench": {...}}``. Timings on a shared machine
are noisy: every ratio is of figures taken in the same run, medians of repeats.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import redis

from bench import daily_bench, feed_bench, history_bench, import_bench, replica_bench, report_bench
from bench.common import (
    BENCH_SECRET_KEY,
    admin_url,
    database_exists,
    drop_database,
    fresh_database,
    with_database,
)
from bench.orders_csv import file_name, seller_token, seller_zone, write_orders_csv
from bench.serving import API_PATH, ROOT, gunicorn, largest_seller_session, load, stop_processes

BENCH_DB = "bench_portal"
BENCH_DIR = ROOT / "var" / "bench"
DAY = dt.date.fromisoformat(daily_bench.DAY)

SCALES = {
    "small": {
        "sellers": 200,
        "orders": 100_000,
        "import_rows": 100_000,
        "import_sellers": 100,
        "report_rows": 40_000,
        "report_small_rows": 10_000,
        "repeat": 3,
        "naive_sample": 50,
        "chunk_size": 25,
        "requests": 400,
        "concurrency": 4,
        "replica_csv_requests": 12,
    },
    "full": {
        "sellers": 10_000,
        "orders": 3_000_000,
        "import_rows": 1_000_000,
        "import_sellers": 100,
        "report_rows": 200_000,
        "report_small_rows": 50_000,
        "repeat": 3,
        "naive_sample": 300,
        "chunk_size": 1000,
        "requests": 400,
        "concurrency": 4,
        "replica_csv_requests": 12,
    },
}
TARGETS = {
    "import_ratio": 6.0,
    "import_same_result_ratio": 2.0,
    "daily_ratio": 1.5,
    "dashboard_p95_ratio": 3.0,
    "dashboard_errors": 0,
    "dashboard_first_view_ratio": 10.0,
    "dashboard_later_first_view_ratio": 10.0,
    "api_p95_ratio": 3.0,
    "api_errors": 0,
    "csv_ratio": 3.0,
    "csv_memory_growth": 0.10,
    "history_ratio": 1.2,
}


# The steps, in the order they run (main).
STEPS = ("daily", "workers", "dashboard", "report", "import", "history", "replica")

# The server's maintenance database, read once: setup_django points DATABASE_URL at the bench.
ADMIN_URL = admin_url()


def bench_url() -> str:
    return with_database(ADMIN_URL, BENCH_DB)


def server_env(**extra: str) -> dict[str, str]:
    """The environment of the processes the runner starts: production-like, DEBUG off,
    the bench database, tasks in-process unless a broker is given in ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND")}
    env.update(
        DATABASE_URL=bench_url(),
        DJANGO_SETTINGS_MODULE="portal.settings",
        DEBUG="false",
        SECRET_KEY=BENCH_SECRET_KEY,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    )
    env.update(extra)
    return env


def setup_django() -> None:
    os.environ.update(server_env())
    for name in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"):
        os.environ.pop(name, None)
    import django

    django.setup()
    logging.disable(logging.WARNING)  # revocation notices are not the subject


def say(text: str = "") -> None:
    print(text, flush=True)


# ---------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------


def generate(scale: dict, results: dict) -> None:
    from django.db import connection

    from sellers.models import Order
    from sellers.services import seller_create

    start = time.perf_counter()
    daily_bench.generate(scale["sellers"], scale["orders"], results)
    report_bench.generate(scale["report_rows"], scale["report_small_rows"], results)
    for index in range(1, scale["import_sellers"] + 1):
        seller_create(
            merchant_token=seller_token(index),
            name=f"Bench import seller {index}",
            timezone_name=seller_zone(index),
            enrolled_on=dt.date(2026, 1, 1),
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    results["orders"] = Order.objects.count()
    results["generate_s"] = round(time.perf_counter() - start, 1)


# ---------------------------------------------------------------------------------------
# 1. Daily evaluation
# ---------------------------------------------------------------------------------------


def measure_daily(scale: dict, results: dict) -> None:
    daily_bench.measure_daily(
        day=DAY, repeat=scale["repeat"], naive_sample=scale["naive_sample"], results=results, say=say
    )


# ---------------------------------------------------------------------------------------
# 2. Celery workers
# ---------------------------------------------------------------------------------------


def start_workers(count: int, broker: str, queue: str, log: Path) -> list[subprocess.Popen]:
    env = server_env(CELERY_BROKER_URL=broker, CELERY_TASK_DEFAULT_QUEUE=queue)
    workers = []
    for n in range(count):
        out = open(log.with_suffix(f".{n}.log"), "w")  # noqa: SIM115 - closed with the process
        workers.append(
            subprocess.Popen(
                [
                    str(ROOT / ".venv" / "bin" / "celery"),
                    "-A",
                    "portal",
                    "worker",
                    "-c",
                    "1",
                    "-Q",
                    queue,
                    "-n",
                    f"bench{n}-{os.getpid()}@%h",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    "-l",
                    "info",
                ],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        )
    deadline = time.monotonic() + 60
    for n in range(count):
        path = log.with_suffix(f".{n}.log")
        while "ready." not in path.read_text(errors="replace"):
            if time.monotonic() > deadline or workers[n].poll() is not None:
                stop_processes(workers)
                sys.exit(f"Celery worker {n} did not start: see {path}")
            time.sleep(0.2)
    return workers


def measure_workers(scale: dict, results: dict) -> None:
    from celery import Celery
    from django.db import connection

    from sellers.models import Seller

    broker = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
    expected = Seller.objects.count()  # a daily snapshot row per seller
    chunks = -(-Seller.objects.count() // scale["chunk_size"])
    results["worker_chunks"] = chunks
    for count in (1, 2):
        queue = f"bench-portal-{os.getpid()}-{count}"
        daily_bench.reset_evaluation()
        workers = start_workers(count, broker, queue, BENCH_DIR / f"worker-{count}")
        client = Celery("bench", broker=broker)
        try:
            start = time.perf_counter()
            client.send_task("metrics.tasks.daily_evaluation", args=[DAY.isoformat(), scale["chunk_size"]], queue=queue)
            deadline = time.monotonic() + 1800
            with connection.cursor() as cursor:
                while True:
                    cursor.execute("SELECT count(*) FROM metrics_dailysnapshot WHERE day = %s", [DAY])
                    if cursor.fetchone()[0] >= expected:
                        break
                    if time.monotonic() > deadline:
                        sys.exit(f"The {count}-worker run did not finish in 30 minutes: see {BENCH_DIR}/worker-*.log")
                    time.sleep(0.05)
            elapsed = time.perf_counter() - start
        finally:
            stop_processes(workers)
            with client.connection_for_write() as conn:
                conn.default_channel.client.delete(queue)
            client.close()
        results[f"workers_{count}_s"] = round(elapsed, 3)
        say(f"  {count} Celery worker(s), {chunks} chunks of {scale['chunk_size']} sellers: {elapsed:.3f} s")
    results["worker_speedup"] = round(results["workers_1_s"] / results["workers_2_s"], 2)


# ---------------------------------------------------------------------------------------
# 3. Dashboard under load
# ---------------------------------------------------------------------------------------


def measure_dashboard(scale: dict, results: dict) -> None:
    token, cookie, orders = largest_seller_session()
    results["dashboard_seller"] = token
    results["dashboard_seller_orders"] = orders
    # The cache production uses (Redis), emptied before the first view is measured.
    cache_url = os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/12")
    with gunicorn(server_env(CACHE_URL=cache_url), BENCH_DIR / "gunicorn.log") as port:
        # Warm-up: imports, template compilation, connections of both workers.
        for path in ("/healthz", "/performance/", API_PATH):
            warm = load(port, path, cookie, 20, scale["concurrency"])
            if warm["errors"]:
                sys.exit(f"GET {path} failed during warm-up: see {BENCH_DIR / 'gunicorn.log'}")
        first_views(port, cookie, cache_url, scale, results)
        floor_runs, page_runs, api_runs = [], [], []
        for attempt in range(scale["repeat"]):
            floor_runs.append(load(port, "/healthz", cookie, scale["requests"], scale["concurrency"]))
            page_runs.append(load(port, "/performance/", cookie, scale["requests"], scale["concurrency"]))
            api_runs.append(load(port, API_PATH, cookie, scale["requests"], scale["concurrency"]))
            say(
                f"  dashboard run {attempt + 1}: /performance/ p50 {page_runs[-1]['p50_ms']:.1f} ms"
                f" p95 {page_runs[-1]['p95_ms']:.1f} ms ({page_runs[-1]['errors']} errors);"
                f" {API_PATH} p50 {api_runs[-1]['p50_ms']:.1f} ms p95 {api_runs[-1]['p95_ms']:.1f} ms"
                f" ({api_runs[-1]['errors']} errors);"
                f" /healthz p50 {floor_runs[-1]['p50_ms']:.1f} ms p95 {floor_runs[-1]['p95_ms']:.1f} ms"
            )
    for label, runs in (("dashboard", page_runs), ("healthz", floor_runs), ("api", api_runs)):
        for key in ("p50_ms", "p95_ms"):
            results[f"{label}_{key}"] = round(statistics.median(run[key] for run in runs), 1)
    results["dashboard_requests"] = sum(run["ok"] + run["errors"] for run in page_runs)
    results["healthz_requests"] = sum(run["ok"] + run["errors"] for run in floor_runs)
    # Errors of both paths: the floor's would make its latency no floor.
    results["dashboard_errors"] = sum(run["errors"] for run in page_runs) + sum(run["errors"] for run in floor_runs)
    results["dashboard_p95_ratio"] = round(results["dashboard_p95_ms"] / results["healthz_p95_ms"], 2)
    results["api_requests"] = sum(run["ok"] + run["errors"] for run in api_runs)
    results["api_errors"] = sum(run["errors"] for run in api_runs)
    results["api_p95_ratio"] = round(results["api_p95_ms"] / results["healthz_p95_ms"], 2)
    results["dashboard_first_view_ratio"] = round(results["dashboard_first_view_ms"] / results["healthz_p95_ms"], 2)
    results["dashboard_cold_view_ratio"] = round(results["dashboard_cold_view_ms"] / results["healthz_p95_ms"], 2)
    results["dashboard_later_first_view_ratio"] = round(
        results["dashboard_later_first_view_ms"] / results["healthz_p95_ms"], 2
    )


def one_view(port: int, cookie: str) -> dict:
    """One request of the dashboard, timed; stops the run if it fails."""
    view = load(port, "/performance/", cookie, 1, 1)
    if view["errors"]:
        sys.exit(f"GET /performance/ failed: see {BENCH_DIR / 'gunicorn.log'}")
    return view


def first_views(port: int, cookie: str, cache_url: str, scale: dict, results: dict) -> None:
    """The first view of the seller's day, by a warm worker: on an empty cache with nothing
    warmed (``dashboard_cold_view_ms``: what a view costs that misses), and after the daily
    run's background warm-up of the seller's chunk (``dashboard_first_view_ms``), the warm-up
    run as a worker runs it, in a process of its own with the server's cache."""
    cache = redis.Redis.from_url(cache_url)
    cache.flushdb()
    cold = one_view(port, cookie)
    results["dashboard_cold_view_ms"] = round(cold["p50_ms"], 1)
    say(f"  dashboard first view, nothing warmed (empty cache): {cold['p50_ms']:.1f} ms")
    # The warm-up and the view in one five-minute bucket of the cache's key: a view in the
    # next bucket is a view after the first (metrics.presenters.cache).
    while time.time() % 300 > 290:
        time.sleep(1)
    cache.flushdb()
    script = (
        "import django, sys, time; django.setup()\n"
        "from metrics.services import seller_id_chunks\n"
        "from metrics.tasks import warm_seller_pages\n"
        "from sellers.models import Seller\n"
        "pk = Seller.objects.get(merchant_token=sys.argv[1]).pk\n"
        "chunk = next(c for c in seller_id_chunks(int(sys.argv[3])) if pk in c)\n"
        "start = time.perf_counter()\n"
        "n = warm_seller_pages(sys.argv[2], chunk)\n"
        "print(n, len(chunk), time.perf_counter() - start)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, results["dashboard_seller"], DAY.isoformat(), str(scale["chunk_size"])],
        cwd=ROOT,
        env=server_env(CACHE_URL=cache_url),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    warmed, chunk, seconds = int(out[-3]), int(out[-2]), float(out[-1])
    results["warm_chunk_s"] = round(seconds, 2)
    results["warm_sellers"] = warmed
    first = one_view(port, cookie)
    results["dashboard_first_view_ms"] = round(first["p50_ms"], 1)
    say(
        f"  the daily run's warm-up of the seller's chunk ({warmed} of {chunk} sellers warmed in the background):"
        f" {seconds:.2f} s; then the first view: {first['p50_ms']:.1f} ms"
    )
    # Later in the day: past the five-minute bucket, whose keys (the orders at risk now, the
    # JSON status) are gone; the day's keys the warm-up wrote stay (metrics.presenters.cache).
    from metrics.presenters.cache import DAY_KEY_MARK

    short = [key for key in cache.scan_iter(count=1000) if DAY_KEY_MARK.encode() not in key]
    if short:
        cache.delete(*short)
    later = one_view(port, cookie)
    results["dashboard_later_first_view_ms"] = round(later["p50_ms"], 1)
    say(
        f"  a first view later in the day (past the bucket: {len(short)} short-lived keys cleared, the day's kept):"
        f" {later['p50_ms']:.1f} ms"
    )


# ---------------------------------------------------------------------------------------
# 4. Defect report CSV
# ---------------------------------------------------------------------------------------


def measure_report(scale: dict, results: dict) -> None:
    views, floors = [], []
    for attempt in range(scale["repeat"]):
        start = time.perf_counter()
        streamed = report_bench.stream_through_view(report_bench.LARGE_TOKEN)
        views.append(time.perf_counter() - start)
        floor = report_bench.copy_floor(report_bench.LARGE_TOKEN)
        floors.append(floor["seconds"])
        assert streamed["rows"] == floor["rows"], (streamed, floor)
        say(f"  report run {attempt + 1}: view {views[-1]:.3f} s, COPY {floors[-1]:.3f} s ({streamed['rows']} rows)")
    results["csv_rows"] = streamed["rows"]
    results["csv_mb"] = round(streamed["bytes"] / 1e6, 1)
    results["csv_s"] = round(statistics.median(views), 3)
    results["csv_floor_s"] = round(statistics.median(floors), 3)
    results["csv_ratio"] = round(results["csv_s"] / results["csv_floor_s"], 2)
    small = report_bench.probe_in_subprocess(report_bench.SMALL_TOKEN, database=BENCH_DB)
    large = report_bench.probe_in_subprocess(report_bench.LARGE_TOKEN, database=BENCH_DB)
    results["csv_memory_rows"] = [small["rows"], large["rows"]]
    results["csv_peak_kb"] = [small["tracemalloc_peak_kb"], large["tracemalloc_peak_kb"]]
    results["csv_maxrss_growth_kb"] = [
        small["maxrss_after_kb"] - small["maxrss_before_kb"],
        large["maxrss_after_kb"] - large["maxrss_before_kb"],
    ]
    results["csv_memory_growth"] = round(large["tracemalloc_peak_kb"] / small["tracemalloc_peak_kb"] - 1, 3)
    say(
        f"  report memory: peak {small['tracemalloc_peak_kb']} kB at {small['rows']} rows,"
        f" {large['tracemalloc_peak_kb']} kB at {large['rows']} rows"
    )


# ---------------------------------------------------------------------------------------
# 5. Import
# ---------------------------------------------------------------------------------------


def forget_imported_orders(scale: dict) -> None:
    """A kept database (--keep, --reuse) may hold the import file's orders from an earlier
    run: they go first, so every step measures the generated data and the import new orders."""
    from django.db import connection

    from sellers.models import Order

    tokens = [seller_token(i) for i in range(1, scale["import_sellers"] + 1)]
    if Order.objects.filter(seller__merchant_token__in=tokens).delete()[0]:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE sellers_order")


def measure_import(scale: dict, results: dict) -> None:
    from sellers.models import Order

    rows, sellers = scale["import_rows"], scale["import_sellers"]
    path = BENCH_DIR / file_name(rows=rows, sellers=sellers, seed=42)
    if not path.exists():
        say(f"  writing {path} ...")
        write_orders_csv(path, rows=rows, sellers=sellers, seed=42)
    forget_imported_orders(scale)
    before = Order.objects.count()
    elapsed, output = import_bench.timed_import(path)
    assert Order.objects.count() == before + rows, "every row of the file is a new order"
    floor = import_bench.timed_copy(bench_url(), path)
    same_result = import_bench.timed_same_result(
        bench_url(), [seller_token(index) for index in range(1, sellers + 1)], path
    )
    results["import_rows"] = rows
    results["import_s"] = round(elapsed, 2)
    results["import_floor_s"] = round(floor, 2)
    results["import_ratio"] = round(elapsed / floor, 2)
    results["import_same_result_s"] = round(same_result, 2)
    results["import_same_result_ratio"] = round(elapsed / same_result, 2)
    say(
        f"  import_orders {elapsed:.2f} s ({output.splitlines()[-1]}), psql \\copy {floor:.2f} s, "
        f"the same rows into a copy of the orders table {same_result:.2f} s"
    )
    # The same orders through the feed, as new orders again.
    batches = feed_bench.json_batches(path)
    forget_imported_orders(scale)
    feed_s, created = feed_bench.timed_feed(batches)
    assert created == rows, "every item of the feed is a new order"
    results["feed_s"] = round(feed_s, 2)
    results["feed_rows_per_second"] = round(rows / feed_s)
    results["import_rows_per_second"] = round(rows / elapsed)
    results["feed_vs_import_ratio"] = round(feed_s / elapsed, 2)
    say(
        f"  POST /api/v1/orders in {len(batches)} batches of up to 10,000: {feed_s:.2f} s, "
        f"{results['feed_rows_per_second']:,} rows/s (import_orders {results['import_rows_per_second']:,} rows/s)"
    )


# ---------------------------------------------------------------------------------------
# 6. History
# ---------------------------------------------------------------------------------------


def measure_history(scale: dict, results: dict) -> None:
    history_bench.measure_history(scale=scale, day=DAY, results=results, say=say)


# ---------------------------------------------------------------------------------------
# 7. Read replica
# ---------------------------------------------------------------------------------------


def measure_replica(scale: dict, results: dict) -> None:
    from portal.streaming_replica import ReplicaUnavailable

    try:
        replica_bench.measure_replica(
            scale=scale, results=results, primary_url=bench_url(), env=server_env, log_dir=BENCH_DIR, say=say
        )
    except ReplicaUnavailable as unavailable:
        # The other steps' figures still count: the step says why it measured nothing.
        results["replica_unavailable"] = str(unavailable)
        say(f"  no replica on this machine, step 7 skipped: {unavailable}")


# ---------------------------------------------------------------------------------------


def machine() -> dict:
    with psycopg.connect(ADMIN_URL) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    memory_kb = int(next(line for line in meminfo if line.startswith("MemTotal")).split()[1])
    return {
        "nproc": os.cpu_count(),
        "ram_gb": round(memory_kb / 1024 / 1024, 1),
        "postgresql": version,
        "python": platform.python_version(),
        "date": dt.date.today().isoformat(),
    }


def verdict(name: str, value: float) -> str:
    if name not in TARGETS:
        return ""
    return "meets" if value <= TARGETS[name] else "MISSES"


def print_table(results: dict) -> None:
    r = results
    rows = [
        ("daily run, all sellers", f"{r['daily_s']:.3f} s", f"{r['daily_floor_s']:.3f} s", "daily_ratio", "<= 1.5x"),
        ("naive, query per seller", f"{r['naive_daily_s']:.3f} s", f"{r['daily_floor_s']:.3f} s",
         "naive_daily_ratio", ""),
        ("dashboard p95 (p50)", f"{r['dashboard_p95_ms']:.1f} ms ({r['dashboard_p50_ms']:.1f})",
         f"{r['healthz_p95_ms']:.1f} ms ({r['healthz_p50_ms']:.1f})", "dashboard_p95_ratio", "<= 3x"),
        ("dashboard first view", f"{r['dashboard_first_view_ms']:.1f} ms",
         f"{r['healthz_p95_ms']:.1f} ms", "dashboard_first_view_ratio", "<= 10x"),
        ("  nothing warmed", f"{r['dashboard_cold_view_ms']:.1f} ms", f"{r['healthz_p95_ms']:.1f} ms",
         "dashboard_cold_view_ratio", ""),
        ("  later in the day", f"{r['dashboard_later_first_view_ms']:.1f} ms", f"{r['healthz_p95_ms']:.1f} ms",
         "dashboard_later_first_view_ratio", "<= 10x"),
        ("/api/performance/ p95 (p50)", f"{r['api_p95_ms']:.1f} ms ({r['api_p50_ms']:.1f})",
         f"{r['healthz_p95_ms']:.1f} ms ({r['healthz_p50_ms']:.1f})", "api_p95_ratio", "<= 3x"),
        ("defect CSV, largest seller", f"{r['csv_s']:.3f} s", f"{r['csv_floor_s']:.3f} s", "csv_ratio", "<= 3x"),
        ("import_orders", f"{r['import_s']:.2f} s", f"{r['import_floor_s']:.2f} s", "import_ratio", "<= 6x"),
        ("  vs the same result", f"{r['import_s']:.2f} s", f"{r['import_same_result_s']:.2f} s",
         "import_same_result_ratio", "<= 2x"),
        ("feed, vs import_orders", f"{r['feed_s']:.2f} s", f"{r['import_s']:.2f} s", "feed_vs_import_ratio", ""),
    ]  # fmt: skip
    for cost, label in (("daily", "daily run"), ("dashboard", "dashboard, uncached"), ("csv", "defect CSV")):
        days_60, days_365 = r[f"history_{cost}_s"]
        rows.append((f"365 days: {label}", f"{days_365:.3f} s", f"{days_60:.3f} s at 60 days",
                     f"history_{cost}_ratio", ""))  # fmt: skip
    rows.append(("history, the worst of three", "", "", "history_ratio", "<= 1.2x"))
    say()
    say(f"{'measurement':<28} {'portal':>22} {'floor':>22} {'ratio':>8}  target")
    for label, portal, floor, key, target in rows:
        say(f"{label:<28} {portal:>22} {floor:>22} {r[key]:>7}x  {target} {verdict(key, r[key])}")
    say(
        f"{'dashboard errors':<28} {r['dashboard_errors']:>22} of {r['dashboard_requests']} + "
        f"{r['healthz_requests']} /healthz requests   target 0"
    )
    say(f"{'API errors':<28} {r['api_errors']:>22} of {r['api_requests']} requests   target 0")
    say(
        f"{'CSV peak memory':<28} {r['csv_peak_kb'][0]:>10} kB / {r['csv_peak_kb'][1]} kB at"
        f" {r['csv_memory_rows'][0]} / {r['csv_memory_rows'][1]} rows: growth {r['csv_memory_growth']:+.1%}"
        f" (target within 10 %) {verdict('csv_memory_growth', r['csv_memory_growth'])}"
    )
    say(
        f"{'Celery workers':<28} 1: {r['workers_1_s']:.3f} s, 2: {r['workers_2_s']:.3f} s,"
        f" speedup {r['worker_speedup']}x ({r['worker_chunks']} chunks)"
    )
    if "replica_unavailable" in r:
        say(f"read replica: not measured ({r['replica_unavailable'].splitlines()[0]})")
        return
    say("read replica, off -> on (one machine: the replica shares its CPUs):")
    for line in replica_bench.summary(r):
        say(f"  {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument("--sellers", type=int, help="override the scale's number of sellers")
    parser.add_argument("--orders", type=int, help="override the scale's number of generated orders")
    parser.add_argument("--import-rows", type=int, help="override the scale's import file rows")
    parser.add_argument("--repeat", type=int, help="measured repeats (medians are reported)")
    parser.add_argument(
        "--only",
        default=",".join(STEPS),
        help=f"comma-separated subset of {','.join(STEPS)}",
    )
    parser.add_argument("--keep", action="store_true", help="keep the bench_portal database afterwards")
    parser.add_argument("--database", default="bench_portal", help="the database to create and drop")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure the data a --keep run left in the database instead of generating it again (implies --keep)",
    )
    args = parser.parse_args()
    globals()["BENCH_DB"] = args.database
    scale = dict(SCALES[args.scale])
    for key in ("sellers", "orders", "import_rows", "repeat"):
        if getattr(args, key) is not None:
            scale[key] = getattr(args, key)
    only = set(args.only.split(","))
    # Stopped with SIGTERM: unwind, so the servers and workers it started stop too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    BENCH_DIR.mkdir(parents=True, exist_ok=True)

    results: dict = {"scale": args.scale, "machine": machine(), "day": DAY.isoformat()}
    results.update({k: scale[k] for k in ("sellers", "orders", "import_rows", "report_rows", "report_small_rows")})
    args.keep |= args.reuse
    if not (args.reuse and database_exists(ADMIN_URL, BENCH_DB)):
        fresh_database(ADMIN_URL, BENCH_DB)
    setup_django()
    started = time.perf_counter()
    try:
        from django.core.management import call_command

        from sellers.models import Order, Seller

        call_command("migrate", verbosity=0)  # a kept database may predate a migration
        if args.reuse and Seller.objects.exists():
            forget_imported_orders(scale)
            results["orders"] = Order.objects.count()
            results["generate_s"] = 0
            say(f"Reusing the data in {BENCH_DB}.")
        else:
            say(f"Generating {scale['sellers']} sellers and {scale['orders']} orders (plus the report sellers) ...")
            generate(scale, results)

        results["sellers"] = Seller.objects.count()
        say(f"  {results['sellers']} sellers, {results['orders']} orders in {results['generate_s']} s")
        steps = (
            ("daily", "1. Daily evaluation", measure_daily),
            ("workers", "2. Celery workers", measure_workers),
            ("dashboard", "3. Dashboard under load", measure_dashboard),
            ("report", "4. Defect report CSV", measure_report),
            ("import", "5. Import", measure_import),
            ("history", "6. History: 365 days of orders against 60", measure_history),
            ("replica", "7. Read replica: the pages with and without a streaming replica", measure_replica),
        )
        assert [key for key, _, _ in steps] == list(STEPS)
        for key, title, measure in steps:
            if key in only:
                say(title)
                measure(scale, results)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            drop_database(ADMIN_URL, BENCH_DB)
    results["total_s"] = round(time.perf_counter() - started, 1)
    if only >= set(STEPS):
        print_table(results)
    print(json.dumps({"bench": results}))


if __name__ == "__main__":
    main()
