"""The read replica's measured effect (issue 18): step 7 of ``bench.run`` (``--only replica``).

Starts a real streaming replica of the bench database's server on this machine, as
tests/test_replica.py does (``portal.streaming_replica``: ``pg_basebackup -R`` on a free port,
the primary's ``shared_buffers``), then serves the largest seller's pages with gunicorn and the
Redis cache as the dashboard step does (``bench.serving``) in two ways, in turns, each on a
fresh server and an emptied cache:

  * ``off``: DATABASE_REPLICA_URL unset, every query on the primary;
  * ``on``:  DATABASE_REPLICA_URL naming the replica, the read-only pages reading from it.

Each turn: the warm-up of step 3, then the dashboard and ``/api/performance/`` under
``requests`` GETs each by ``concurrency`` clients, and the seller's 30-day defect CSV
(``csv_requests`` downloads, every byte read). Timed: p50, p95 and requests a second of each,
errors. Counted: the work of the bench database on each server during the turn, from
``pg_stat_database`` (transactions, rows returned and fetched, blocks hit or read, time spent
executing statements), read before gunicorn starts and after it has stopped and every
backend it used has ended (a backend reports its counts by the time it exits).

``replica_primary_share`` is the primary's blocks in an ``on`` turn over its blocks in an
``off`` turn (medians): what is left on the primary. ``replica_offload_share`` is the
replica's part of both servers' blocks in an ``on`` turn: what a replica on a machine of its
own takes off the primary. On this one machine the replica shares the primary's CPUs, so the
latencies measure the router's overhead more than a second machine's gain.

The replica is stopped and its folder removed when the step ends, however it ends (an error,
Ctrl-C, SIGTERM: bench.run turns it into an exit that unwinds).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis

from bench.common import with_database
from bench.serving import API_PATH, CSV_PATH, DASHBOARD_PATH, gunicorn, largest_seller_session, load

MODES = ("off", "on")
PATHS = {"dashboard": DASHBOARD_PATH, "api": API_PATH, "csv": CSV_PATH}
# pg_stat_database's counters of a database's work; blocks: hit in shared buffers plus read.
WORK = {
    "xact_commit": "xact_commit",
    "tup_returned": "tup_returned",
    "tup_fetched": "tup_fetched",
    "blocks": "blks_hit + blks_read",
    "active_ms": "active_time",
}
WORK_QUERY = f"SELECT {', '.join(WORK.values())} FROM pg_stat_database WHERE datname = %s"
# Backends of the database other than the asking one (the asking one is on ``postgres``).
BACKENDS_QUERY = "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend'"
SETTLE_SECONDS = 30
# A turn with the replica starts once it is this close behind (the router allows 30 s), or
# after CATCH_UP_SECONDS whatever its lag (then the router may serve from the primary).
CAUGHT_UP_LAG_SECONDS = 5
CATCH_UP_SECONDS = 120


def server_url(url: str, *, host: str, port: int) -> str:
    """``url`` with its host and port changed: the same user, password and database."""
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@{host}:{port}" if userinfo else f"{host}:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


def database_work(url: str, database: str) -> dict[str, float]:
    """The bench database's counters on the server of ``url``, once every backend of it has
    ended (so each has reported its counts), asked from the ``postgres`` database so the asking
    adds nothing to them."""
    deadline = time.monotonic() + SETTLE_SECONDS
    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        while conn.execute(BACKENDS_QUERY, [database]).fetchone()[0] and time.monotonic() < deadline:
            time.sleep(0.1)
        # A backend's last counts reach the shared statistics as it exits, just after it leaves
        # pg_stat_activity.
        time.sleep(0.3)
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute(WORK_QUERY, [database]).fetchone()
    if row is None:
        sys.exit(f"The server of {database} has no statistics for it: is it the bench database's server?")
    return {name: float(value or 0) for name, value in zip(WORK, row, strict=True)}


def difference(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {name: after[name] - before[name] for name in WORK}


@contextlib.contextmanager
def _replica(primary_url: str) -> Iterator[tuple[object, str]]:
    """The streaming replica of the bench database's server, with the primary's shared buffers,
    and its DATABASE_REPLICA_URL (each turn waits for it to catch up: ``caught_up``)."""
    from django.db import connections

    from portal.streaming_replica import streaming_replica

    with psycopg.connect(primary_url, autocommit=True) as conn:
        shared_buffers = conn.execute("SELECT current_setting('shared_buffers')").fetchone()[0]
    primary = connections["default"].settings_dict
    with streaming_replica(primary, settings={"shared_buffers": shared_buffers}) as replica:
        yield replica, server_url(primary_url, host=replica.host, port=replica.port)


def replica_lag(primary_url: str, replica_url: str) -> tuple[float, float]:
    """How far the replica is behind the primary now: bytes of WAL not yet replayed, and the
    seconds the router counts (since the last transaction it replayed, 0 when it has replayed
    everything)."""
    with psycopg.connect(with_database(primary_url, "postgres"), autocommit=True) as conn:
        position = conn.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()[0]
    with psycopg.connect(with_database(replica_url, "postgres"), autocommit=True) as conn:
        row = conn.execute(
            "SELECT pg_wal_lsn_diff(%s::pg_lsn, pg_last_wal_replay_lsn()),"
            " CASE WHEN pg_last_wal_replay_lsn() >= %s::pg_lsn THEN 0"
            " ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END",
            [position, position],
        ).fetchone()
    return max(float(row[0] or 0), 0.0), float(row[1] or 0)


def caught_up(primary_url: str, replica_url: str) -> float:
    """Wait (up to CATCH_UP_SECONDS) until the replica is less than CAUGHT_UP_LAG_SECONDS
    behind as the router counts it, so a turn starts with a replica the router uses; the seconds waited. A
    replica of a server others write to replays their writes too, and may fall behind again
    during the turn: the router then reads from the primary, which the step counts."""
    started = time.monotonic()
    while time.monotonic() - started < CATCH_UP_SECONDS:
        if replica_lag(primary_url, replica_url)[1] < CAUGHT_UP_LAG_SECONDS:
            break
        time.sleep(0.5)
    return time.monotonic() - started


def measure_replica(
    *,
    scale: dict,
    results: dict,
    primary_url: str,
    env: Callable[..., dict[str, str]],
    log_dir: Path,
    say: Callable[[str], None] = print,
) -> None:
    """Step 7: the pages with and without the replica, in turns (module docstring).
    ``primary_url`` is the bench database's URL, ``env(**extra)`` the servers' environment."""
    from django.db import connections

    from metrics.models import DailySnapshot
    from metrics.services import daily_run

    day = dt.date.fromisoformat(results["day"])
    if not DailySnapshot.objects.filter(day=day).exists():
        daily_run(day=day)  # the pages show D's snapshots: another step may not have computed them
    token, cookie, orders = largest_seller_session()
    database = urlsplit(primary_url).path.lstrip("/")
    cache_url = os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/12")
    cache = redis.Redis.from_url(cache_url)
    counts = {"dashboard": scale["requests"] // 2, "api": scale["requests"] // 2, "csv": scale["replica_csv_requests"]}
    concurrency = scale["concurrency"]
    runs: dict[str, dict[str, list[dict]]] = {mode: {name: [] for name in PATHS} for mode in MODES}
    work: dict[str, dict[str, dict[str, list[dict[str, float]]]]] = {
        mode: {name: {"primary": [], "replica": []} for name in PATHS} for mode in MODES
    }
    load_averages = [os.getloadavg()[0]]
    lags: list[tuple[float, float]] = []
    fallbacks = 0
    waited = 0.0

    started = time.perf_counter()
    with _replica(primary_url) as (replica, replica_url):
        results["replica_start_s"] = round(time.perf_counter() - started, 1)
        say(f"  a streaming replica on port {replica.port} (pg_basebackup and start: {results['replica_start_s']} s)")

        def both_servers() -> dict[str, dict[str, float]]:
            return {"primary": database_work(primary_url, database), "replica": database_work(replica_url, database)}

        for attempt in range(scale["repeat"]):
            for mode in MODES:
                extra = {"CACHE_URL": cache_url, **({"DATABASE_REPLICA_URL": replica_url} if mode == "on" else {})}
                # A server of its own for each page, so each page's work is counted apart.
                for name, path in PATHS.items():
                    connections.close_all()  # the runner's own backend reports its counts before they are read
                    cache.flushdb()
                    log = log_dir / f"gunicorn-replica-{mode}-{name}.log"
                    if mode == "on":
                        waited += caught_up(primary_url, replica_url)
                    before = both_servers()
                    with gunicorn(env(**extra), log) as port:
                        warm = load(port, path, cookie, max(counts[name] // 10, concurrency), concurrency)
                        if warm["errors"]:
                            sys.exit(f"GET {path} failed during warm-up: see {log}")
                        run = load(port, path, cookie, counts[name], concurrency)
                        runs[mode][name].append({**run, "served": warm["ok"] + run["ok"]})
                        lags.append(replica_lag(primary_url, replica_url))
                    after = both_servers()
                    for server in ("primary", "replica"):
                        work[mode][name][server].append(difference(after[server], before[server]))
                    fallbacks += log.read_text(errors="replace").count("Reading from the primary")
                turn = {name: runs[mode][name][-1] for name in PATHS}
                say(
                    f"  run {attempt + 1}, replica {mode:>3}: "
                    + "; ".join(
                        f"{name} p50 {turn[name]['p50_ms']:.1f} ms p95 {turn[name]['p95_ms']:.1f} ms"
                        f" {turn[name]['per_second']:.1f}/s ({turn[name]['errors']} errors)"
                        for name in PATHS
                    )
                    + "; blocks primary {:,.0f} replica {:,.0f}".format(
                        *(
                            sum(work[mode][name][server][-1]["blocks"] for name in PATHS)
                            for server in ("primary", "replica")
                        )
                    )
                )
                load_averages.append(os.getloadavg()[0])
    summarize(results, runs=runs, work=work, seller=token, orders=orders)
    results["replica_load_average"] = [round(min(load_averages), 2), round(max(load_averages), 2)]
    results["replica_max_lag_mb"] = round(max(lag[0] for lag in lags) / 1e6, 1)
    results["replica_max_lag_s"] = round(max(lag[1] for lag in lags), 1)
    # Each web process logs once when it stops using the replica (lag, failure): 0 if it served all along.
    results["replica_fallbacks"] = fallbacks
    results["replica_catch_up_s"] = round(waited, 1)
    results["replica_s"] = round(time.perf_counter() - started, 1)
    for line in summary(results):
        say(f"  {line}")


def summarize(results: dict, *, runs: dict, work: dict, seller: str, orders: int) -> None:
    """The medians of the turns, their ratios (on over off) and the shares of the work."""
    results["replica_seller"] = seller
    results["replica_seller_orders"] = orders
    for mode in MODES:
        for name in PATHS:
            for key in ("p50_ms", "p95_ms", "per_second"):
                results[f"replica_{mode}_{name}_{key}"] = round(statistics.median(r[key] for r in runs[mode][name]), 1)
    for name in PATHS:
        for key in ("p95_ms", "per_second"):
            off, on = results[f"replica_off_{name}_{key}"], results[f"replica_on_{name}_{key}"]
            results[f"replica_{name}_{key.removesuffix('_ms')}_ratio"] = round(on / off, 2) if off else None
    every_run = [run for mode in MODES for name in PATHS for run in runs[mode][name]]
    results["replica_requests"] = sum(run["ok"] + run["errors"] for run in every_run)
    results["replica_errors"] = sum(run["errors"] for run in every_run)
    # The medians of the turns' counts, by mode, page and server.
    medians = {
        mode: {
            name: {
                server: {key: round(statistics.median(turn[key] for turn in turns)) for key in WORK}
                for server, turns in work[mode][name].items()
            }
            for name in PATHS
        }
        for mode in MODES
    }
    results["replica_work"] = medians

    def share(part: float, whole: float) -> float | None:
        return round(part / whole, 3) if whole else None

    def blocks(mode: str, server: str, names=tuple(PATHS)) -> float:
        return sum(medians[mode][name][server]["blocks"] for name in names)

    results["replica_primary_share"] = share(blocks("on", "primary"), blocks("off", "primary"))
    results["replica_offload_share"] = share(blocks("on", "replica"), blocks("on", "primary") + blocks("on", "replica"))
    for name in PATHS:
        on_replica, on_primary = blocks("on", "replica", (name,)), blocks("on", "primary", (name,))
        results[f"replica_{name}_offload_share"] = share(on_replica, on_replica + on_primary)
        replica_ms, primary_ms = (medians["on"][name][side]["active_ms"] for side in ("replica", "primary"))
        results[f"replica_{name}_offload_time_share"] = share(replica_ms, replica_ms + primary_ms)
        # The database's time and blocks for one request of the page, every query on the primary:
        # the turn's counts over the requests the server answered in it (warm-up included, so
        # one first render on the emptied cache among them).
        requests = statistics.median(run["served"] for run in runs["off"][name]) or 1
        results[f"replica_off_{name}_db_ms_per_request"] = round(
            medians["off"][name]["primary"]["active_ms"] / requests, 2
        )
        results[f"replica_off_{name}_blocks_per_request"] = round(medians["off"][name]["primary"]["blocks"] / requests)


def summary(results: dict) -> list[str]:
    """The step's figures in a few lines (the step's end and bench.run's table)."""
    r = results
    lines = [
        f"{label}: p95 {r[f'replica_off_{name}_p95_ms']:.1f} -> {r[f'replica_on_{name}_p95_ms']:.1f} ms"
        f" ({r[f'replica_{name}_p95_ratio']}x), {r[f'replica_off_{name}_per_second']:.1f} -> "
        f"{r[f'replica_on_{name}_per_second']:.1f} requests/s ({r[f'replica_{name}_per_second_ratio']}x);"
        f" the replica takes {r[f'replica_{name}_offload_share']:.1%} of its blocks"
        for name, label in (("dashboard", "dashboard"), ("api", "/api/performance/"), ("csv", "defect CSV"))
    ]
    lines.append(
        f"the primary keeps {r['replica_primary_share']:.1%} of its blocks, the replica takes"
        f" {r['replica_offload_share']:.1%} of both servers' ({r['replica_errors']} errors in"
        f" {r['replica_requests']} requests; the replica up to {r['replica_max_lag_s']} s behind,"
        f" {r['replica_fallbacks']} fallbacks to the primary; load average"
        f" {r['replica_load_average'][0]}-{r['replica_load_average'][1]})"
    )
    return lines
