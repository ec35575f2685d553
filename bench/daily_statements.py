"""The daily run's first run timed part by part and statement by statement, on a bench database
a ``--keep`` run of ``bench.run`` left (each run starts as the benchmark's does: every seller
eligible, no snapshots):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_daily_full \\
        nice -n 5 .venv/bin/python -m bench.daily_statements --repeat 3

Prints each run's parts (the services it calls, as far as they exist in the code measured) and
the median time of each statement (its first 70 characters) over the runs. Not a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import time
from collections.abc import Callable
from unittest import mock

from bench.common import BENCH_SECRET_KEY
from bench.daily_bench import DAY

PARTS = (
    "sellers_readiness",
    "snapshots_compute",
    "sellers_evaluate",
    "requirements_for_sellers",
    "sellers_revoke",
    "orders_classify_prime",
    "sellers_entered_at_risk",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("SECRET_KEY", BENCH_SECRET_KEY)
    import django

    django.setup()
    from django.db import connection

    import metrics.services as services
    from bench.daily_bench import emails_queued, reset_evaluation

    parts: dict[str, float] = {}
    statements: dict[str, float] = {}

    def timed(name: str, function: Callable) -> Callable:
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                parts[name] = parts.get(name, 0.0) + time.perf_counter() - start

        return wrapper

    def record(execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            key = " ".join(str(sql).split())[:70]
            statements[key] = statements.get(key, 0.0) + time.perf_counter() - start

    patches = [
        mock.patch.object(services, name, timed(name, getattr(services, name)))
        for name in PARTS
        if hasattr(services, name)
    ]
    patches += [
        mock.patch.object(services.webhook_events, name, timed(name, getattr(services.webhook_events, name)))
        for name in ("status_changed_emit", "snapshot_computed_emit")
    ]
    for patch in patches:
        patch.start()
    totals, runs = [], []
    for attempt in range(1, args.repeat + 1):
        reset_evaluation()
        parts.clear()
        statements.clear()
        with emails_queued([]), connection.execute_wrapper(record):
            start = time.perf_counter()
            outcome = services.daily_run(day=dt.date.fromisoformat(DAY))
            totals.append(time.perf_counter() - start)
        runs.append(dict(statements))
        timings = ", ".join(f"{name} {seconds:.3f}" for name, seconds in parts.items())
        print(f"run {attempt}: {totals[-1]:.3f} s, {len(outcome.revoked)} revoked; {timings}", flush=True)
    print(f"daily_run median {statistics.median(totals):.3f} s; statements, median s:")
    for key in sorted(runs[-1], key=lambda k: -runs[-1][k])[:15]:
        print(f"  {statistics.median(run.get(key, 0.0) for run in runs):7.3f}  {key}")


if __name__ == "__main__":
    main()
