"""Cost against days of history: the same window's work with 60 and with 365 days of orders.

Step 6 of ``bench.run`` (``--only history``). On the bench database as the other steps
leave it (60 days of orders ending on D), it times, for the same D and the same sellers:

  * ``daily_run`` for every seller (a first run: every seller eligible, no snapshots);
  * the largest seller's dashboard, rendered through the view on an empty cache (Django's
    test client, the whole request: session, seller, the content and its insights);
  * that seller's 30-day defect CSV through the view, every byte consumed;

each with the blocks of the orders table and its indexes it read (the server's counts);

then copies the database (``CREATE DATABASE ... TEMPLATE``) and adds older days of orders
to the copy for the same sellers, generated as the recent ones are
(``daily_bench.bench_orders`` and ``report_bench.defect_orders``, the same volume a day,
written with COPY), up to 180 and then 365 days before D. At each point the two databases
are measured in turn, a run on one then a run on the other, so a machine whose load drifts
weighs on both sides alike (``history_points``, which ``bench.chart --history`` draws). The
copy is dropped at the end; the bench database itself is never changed.
Each cost's ratio is its 365-day median over the 60-day median of the same turns; ``history_ratio`` is the
worst of the three (target <= 1.2x: the work of a window does not grow with the history).
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
import warnings
from collections.abc import Callable

HISTORY_DAYS = 365
# The days of orders measured after the generated 60: the chart's points, the last the ratio's.
HISTORY_POINTS = (180, HISTORY_DAYS)
# Timed runs in each state, at least: a ratio against 1.2 needs more than three on a busy machine.
HISTORY_REPEAT = 5
RECENT_DAYS = 60  # what bench.daily_bench.bench_orders generates
REPORT_DAYS = 30  # what bench.report_bench.defect_orders generates
HISTORY_PREFIX = "H"
COSTS = ("daily", "dashboard", "csv")


def history_orders_remove() -> int:
    """Remove the older days' orders (a kept database may hold them from an interrupted
    run); the number removed."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM sellers_order WHERE order_id LIKE %s", [HISTORY_PREFIX + "%"])
        removed = cursor.rowcount
    if removed:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE sellers_order")
    return removed


def history_orders_add(scale: dict, *, days_from: int, days_to: int) -> int:
    """The days ``days_from`` to ``days_to`` before D (beyond the generated 60), for the same
    sellers at the same volume a day: the power-law sellers' orders as bench_orders makes
    them, the report sellers' defect orders as defect_orders makes them (their own go back
    30 days, so theirs start there when ``days_from`` is 60). Written with COPY, then
    classified and analysed as the generated ones are; the number of orders added."""
    from django.db import connection

    from bench import daily_bench, report_bench
    from bench.common import orders_copy
    from sellers.factories import order_rows
    from sellers.models import Seller
    from sellers.services import orders_classify_prime

    days = days_to - days_from
    bench_sellers = list(Seller.objects.filter(merchant_token__regex=r"^BENCH[0-9]{6}$").order_by("pk"))
    orders = daily_bench.bench_orders(
        [(s.pk, s.zone) for s in bench_sellers],
        round(scale["orders"] * days / RECENT_DAYS),
        seed=0.43 + days_from / 1000,
        end=daily_bench.UPDATED_AT - dt.timedelta(days=days_from),
        days=days,
        prefix=f"{HISTORY_PREFIX}{days_from}-",
    )
    added = orders_copy(order_rows(orders, updated_at=daily_bench.UPDATED_AT))
    report_from = REPORT_DAYS if days_from == RECENT_DAYS else days_from
    for token, rows in (
        (report_bench.LARGE_TOKEN, scale["report_rows"]),
        (report_bench.SMALL_TOKEN, scale["report_small_rows"]),
    ):
        seller = Seller.objects.get(merchant_token=token)
        defects = report_bench.defect_orders(
            seller.pk,
            seller.zone,
            f"{HISTORY_PREFIX}{days_from}{token[-1]}",
            round(rows * (days_to - report_from) / REPORT_DAYS),
            first_day_back=report_from,
            days=days_to - report_from,
        )
        added += orders_copy(order_rows(defects, updated_at=daily_bench.UPDATED_AT))
    orders_classify_prime(seller_ids=[s.pk for s in bench_sellers])
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE sellers_order")
    return added


def _dashboard_client(seller):
    from django.test import Client

    from sellers.models import User
    from sellers.services import seller_user_create

    user = User.objects.filter(seller=seller).order_by("pk").first() or seller_user_create(
        seller=seller, username=f"bench-{seller.pk}", password="bench password 0123"
    )
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def order_blocks() -> int:
    """The blocks of the orders table and its indexes read so far (``pg_statio_user_tables``:
    from shared buffers or not), this session's own counts flushed first."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush(), pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT heap_blks_read + heap_blks_hit + coalesce(idx_blks_read + idx_blks_hit, 0)"
            " FROM pg_statio_user_tables WHERE relid = 'sellers_order'::regclass"
        )
        return cursor.fetchone()[0]


def _timed(action: Callable[[], object], blocks: dict[str, int], cost: str) -> float:
    """The seconds ``action`` takes; the orders' blocks it read into ``blocks[cost]``, the
    fewest of its runs: the counts are the server's, so a block autovacuum reads at the same
    time counts too, never fewer."""
    before = order_blocks()
    start = time.perf_counter()
    action()
    elapsed = time.perf_counter() - start
    read = order_blocks() - before
    blocks[cost] = min(blocks.get(cost, read), read)
    return elapsed


def measure_once(*, day: dt.date, client, times: dict[str, list[float]], blocks: dict[str, int]) -> None:
    """One run of each cost, appended to ``times``; the blocks of orders each read, into
    ``blocks``."""
    from django.core.cache import cache

    from bench import daily_bench
    from metrics.services import daily_run

    daily_bench.reset_evaluation()
    with daily_bench.emails_queued([]):
        times["daily"].append(_timed(lambda: daily_run(day=day), blocks, "daily"))

    def dashboard() -> None:
        response = client.get("/performance/")
        assert response.status_code == 200, response.status_code

    def csv() -> None:
        response = client.get("/performance/defects.csv", {"window": 30})
        assert response.status_code == 200, response.status_code
        for _chunk in response.streaming_content:
            pass
        response.close()

    for _ in range(3):  # cheap and noisy: three a run
        cache.clear()
        times["dashboard"].append(_timed(dashboard, blocks, "dashboard"))
        times["csv"].append(_timed(csv, blocks, "csv"))


def use_database(name: str) -> None:
    """Django's connection to database ``name`` of the same server from the next query on."""
    from django.db import connections

    connections["default"].close()
    connections["default"].settings_dict["NAME"] = name


def measure_history(*, scale: dict, day: dt.date, results: dict, say=print) -> None:
    import psycopg
    from django.db import connections
    from django.db.models import Count

    from bench.common import admin_url, drop_database
    from sellers.models import Order, Seller

    # The test client loads the static files middleware, which warns that nothing was collected.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    removed = history_orders_remove()  # older orders a run before this way of measuring left
    if removed:
        say(f"  removed {removed:,} older orders a previous run left")
    top = Order.objects.values("seller_id").annotate(n=Count("id")).order_by("-n").first()
    seller = Seller.objects.get(pk=top["seller_id"])
    client = _dashboard_client(seller)  # its session is copied with the database
    recent_db = connections["default"].settings_dict["NAME"]
    history_db = f"{recent_db}_history"
    admin = admin_url()
    connections["default"].close()
    drop_database(admin, history_db)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {history_db} TEMPLATE {recent_db}")
    repeat = max(scale["repeat"], HISTORY_REPEAT)
    recent_orders = orders = Order.objects.count()
    points = []
    try:
        days_from = RECENT_DAYS
        for days_to in HISTORY_POINTS:
            use_database(history_db)
            start = time.perf_counter()
            added = history_orders_add(scale, days_from=days_from, days_to=days_to)
            orders += added
            say(
                f"  added {added:,} orders of days {days_from} to {days_to} before D"
                f" in {time.perf_counter() - start:.1f} s"
            )
            runs: dict[str, tuple[dict[str, list[float]], dict[str, int]]] = {}
            for name in (recent_db, history_db):
                # A first run in each state, not timed: what a change leaves cold is not the
                # cost of the window.
                use_database(name)
                measure_once(day=day, client=client, times={cost: [] for cost in COSTS}, blocks={})
                runs[name] = ({cost: [] for cost in COSTS}, {})
            for attempt in range(repeat):
                for name, label in ((recent_db, RECENT_DAYS), (history_db, days_to)):
                    use_database(name)
                    times, blocks = runs[name]
                    measure_once(day=day, client=client, times=times, blocks=blocks)
                    say(
                        f"  {label} days, run {attempt + 1}: daily run {times['daily'][-1]:.3f} s, dashboard"
                        f" {min(times['dashboard'][-3:]) * 1000:.1f} ms, CSV {min(times['csv'][-3:]):.3f} s"
                    )
            points.append({"days": days_to, "orders": orders, "recent": runs[recent_db], "history": runs[history_db]})
            days_from = days_to
    finally:
        use_database(recent_db)
        connections["default"].close()
        drop_database(admin, history_db)

    def figures(days: int, count: int, measured: tuple[dict[str, list[float]], dict[str, int]]) -> dict:
        times, blocks = measured
        return {
            "days": days,
            "orders": count,
            **{f"{cost}_s": round(statistics.median(times[cost]), 4) for cost in COSTS},
            **{f"{cost}_blocks": blocks[cost] for cost in COSTS},
        }

    results["history_seller"] = seller.merchant_token
    # Each point with the 60-day figures of its own turns, which its ratios divide by.
    results["history_points"] = [
        {**figures(p["days"], p["orders"], p["history"]), "recent": figures(RECENT_DAYS, recent_orders, p["recent"])}
        for p in points
    ]
    last = results["history_points"][-1]
    first = last["recent"]
    for cost in COSTS:
        results[f"history_{cost}_s"] = [first[f"{cost}_s"], last[f"{cost}_s"]]
        results[f"history_{cost}_ratio"] = round(last[f"{cost}_s"] / first[f"{cost}_s"], 2)
        # What the time ratio stands on, free of the machine's noise: the orders' blocks read.
        results[f"history_{cost}_blocks"] = [first[f"{cost}_blocks"], last[f"{cost}_blocks"]]
    results["history_ratio"] = max(results[f"history_{cost}_ratio"] for cost in COSTS)
    say(
        f"  with {HISTORY_DAYS} days against {RECENT_DAYS}: daily run {results['history_daily_ratio']}x,"
        f" dashboard {results['history_dashboard_ratio']}x, CSV {results['history_csv_ratio']}x"
    )
    say(
        "  blocks of orders read (60 days / 365 days): "
        + ", ".join(f"{cost} {a:,} / {b:,}" for cost in COSTS for a, b in [results[f"history_{cost}_blocks"]])
    )
