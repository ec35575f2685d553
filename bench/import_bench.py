"""Benchmark of the order import against the floor PostgreSQL itself sets, ``psql \\copy``.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python -m bench.import_bench --rows 1000000

Creates a fresh database ``bench_import``, migrates it, creates the sellers (through the real
seller service, so they have the default settings), writes a realistic file of valid orders
into var/bench/ (kept for the next run of the same size), then measures:
  * ``import_orders`` on the file (validation, staging, merge, Prime classification);
  * the same import again: the idempotent re-import, which must change nothing;
  * the floor: ``psql \\copy`` of the same file into an unindexed table of text columns;
  * the same-result floor: ``psql \\copy`` of the rows the import wrote into an empty copy of
    the orders table (``timed_same_result``).
It prints rows per second and the ratio to the floor, and ends with one JSON line. Not a
test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import time
from pathlib import Path

import psycopg

from bench.common import admin_url, fresh_database, setup_django
from bench.orders_csv import COLUMNS, file_name, seller_token, seller_zone, write_orders_csv

BENCH_DB = "bench_import"
BENCH_DIR = Path(__file__).resolve().parent.parent / "var" / "bench"


def timed_import(path: Path) -> tuple[float, str]:
    from django.core.management import call_command

    stdout = io.StringIO()
    start = time.perf_counter()
    call_command("import_orders", str(path), stdout=stdout)
    return time.perf_counter() - start, stdout.getvalue().strip()


def timed_psql(url: str, command: str) -> float:
    """How long ``psql`` takes to run ``command`` (a ``\\copy``: the client reads the file)."""
    start = time.perf_counter()
    subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qc", command], check=True)
    return time.perf_counter() - start


def timed_copy(url: str, path: Path) -> float:
    """psql \\copy of the file into an unindexed table of text columns: the floor."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_copy_floor")
        conn.execute(f"CREATE TABLE bench_copy_floor ({', '.join(f'{c} text' for c in COLUMNS)})")
    elapsed = timed_psql(url, f"\\copy bench_copy_floor FROM '{path}' WITH (FORMAT csv, HEADER)")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE bench_copy_floor")
    return elapsed


def timed_same_result(url: str, seller_tokens: list[str], work: Path) -> float:
    """The same-result floor: ``psql \\copy`` (binary) of the rows the import wrote, already
    converted, into a table identical to the orders table (its columns, indexes, check
    constraints and the foreign key to the sellers, checked at commit as the orders' is),
    empty. The rows are read back from the orders first (not timed)."""
    rows = work.with_suffix(".same-result.bin")
    with psycopg.connect(url, autocommit=True) as conn:
        columns = [
            name
            for (name,) in conn.execute(
                "SELECT attname FROM pg_attribute WHERE attrelid = 'sellers_order'::regclass AND attnum > 0 "
                "AND NOT attisdropped AND attname <> 'id' ORDER BY attnum"
            )
        ]
        listed = ", ".join(columns)
        with (
            rows.open("wb") as out,
            conn.cursor().copy(
                f"COPY (SELECT {listed} FROM sellers_order o JOIN sellers_seller s ON s.id = o.seller_id "
                "WHERE s.merchant_token = ANY(%s)) TO STDOUT (FORMAT binary)",
                (seller_tokens,),
            ) as copy,
        ):
            for chunk in copy:
                out.write(chunk)
        conn.execute("DROP TABLE IF EXISTS bench_same_result_floor")
        conn.execute("CREATE TABLE bench_same_result_floor (LIKE sellers_order INCLUDING ALL)")
        conn.execute(
            "ALTER TABLE bench_same_result_floor ADD FOREIGN KEY (seller_id) REFERENCES sellers_seller (id) "
            "DEFERRABLE INITIALLY DEFERRED"
        )
        conn.execute("CHECKPOINT")  # the import's dirty pages are not this copy's to write
    try:
        return timed_psql(url, f"\\copy bench_same_result_floor ({listed}) FROM '{rows}' WITH (FORMAT binary)")
    finally:
        rows.unlink(missing_ok=True)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS bench_same_result_floor")


def run(args) -> dict:
    url = fresh_database(admin_url(), BENCH_DB)
    setup_django(url)
    from django.core.management import call_command

    from sellers.models import Order
    from sellers.services import seller_create

    call_command("migrate", verbosity=0)
    for index in range(1, args.sellers + 1):
        seller_create(
            merchant_token=seller_token(index), name=f"Bench seller {index}", timezone_name=seller_zone(index)
        )

    path = BENCH_DIR / file_name(rows=args.rows, sellers=args.sellers, seed=args.seed)
    if not path.exists():
        print(f"Writing {path} ...", flush=True)
        start = time.perf_counter()
        write_orders_csv(path, rows=args.rows, sellers=args.sellers, seed=args.seed)
        print(f"  written in {time.perf_counter() - start:.1f} s", flush=True)
    size_mb = path.stat().st_size / 1e6
    results: dict = {"rows": args.rows, "sellers": args.sellers, "file_mb": round(size_mb, 1)}
    print(f"Import of {args.rows} orders of {args.sellers} sellers ({size_mb:.0f} MB):", flush=True)

    elapsed, output = timed_import(path)
    results["import_s"] = round(elapsed, 2)
    results["import_rows_per_s"] = round(args.rows / elapsed)
    print(f"  import_orders      {elapsed:8.2f} s  {args.rows / elapsed:10,.0f} rows/s   {output}", flush=True)
    assert Order.objects.count() == args.rows, "every row of the file is an order"

    elapsed, output = timed_import(path)
    results["reimport_s"] = round(elapsed, 2)
    results["reimport_rows_per_s"] = round(args.rows / elapsed)
    print(f"  re-import          {elapsed:8.2f} s  {args.rows / elapsed:10,.0f} rows/s   {output}", flush=True)
    assert output.endswith(f"0 created, 0 updated, {args.rows} unchanged."), output

    elapsed = timed_same_result(url, [seller_token(index) for index in range(1, args.sellers + 1)], path)
    results["same_result_s"] = round(elapsed, 2)
    print(f"  same-result floor  {elapsed:8.2f} s  {args.rows / elapsed:10,.0f} rows/s", flush=True)
    results["import_same_result_ratio"] = round(results["import_s"] / elapsed, 2)

    elapsed = timed_copy(url, path)
    results["copy_s"] = round(elapsed, 2)
    print(f"  psql \\copy (floor) {elapsed:8.2f} s  {args.rows / elapsed:10,.0f} rows/s", flush=True)
    results["import_ratio"] = round(results["import_s"] / results["copy_s"], 1)
    results["reimport_ratio"] = round(results["reimport_s"] / results["copy_s"], 1)
    print(
        f"  import / \\copy = {results['import_ratio']}x, re-import / \\copy = {results['reimport_ratio']}x",
        flush=True,
    )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sellers", type=int, default=100)
    parser.add_argument("--seed", type=int, default=42)
    results = run(parser.parse_args())
    print(json.dumps({"bench": {"import": results}}))


if __name__ == "__main__":
    main()
