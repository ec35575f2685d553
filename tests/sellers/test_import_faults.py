"""The order import when the database fails or another import runs at once (SPEC section 6).

A lost connection or a lock problem ends in one sentence and a non-zero exit, with nothing
written; two overlapping imports at once report exactly what each created and updated.
These need real concurrent transactions and a server whose connections a test can end.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest
from django.db import connection, connections

from portal.devdb import settings_url
from sellers.importing import orders_import
from sellers.models import Order
from tests.sellers.test_import_orders import csv_file, order

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
IMPORT_MOMENT = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def database_url() -> str:
    return settings_url(connection.settings_dict)


def start_import_command(path: Path, **environ: str) -> subprocess.Popen:
    """``manage.py import_orders`` in a process of its own, as an operator runs it."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "SECRET_KEY": "import-fault-test-secret-key-long-enough-for-django-0123456789",
        "DATABASE_URL": database_url(),
        "PYTHONPATH": str(ROOT),
        "LOG_LEVEL": "WARNING",  # stderr holds what the command says, not the apps' start-up notes
        **environ,
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "import_orders", str(path)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_a_backend_waiting_on_a_lock(watcher: psycopg.Connection, *, besides: int) -> int:
    """The pid of the import's connection once it waits for the lock another transaction holds."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        row = watcher.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
            "AND pid NOT IN (pg_backend_pid(), %s)",
            [besides],
        ).fetchone()
        if row:
            return row[0]
        time.sleep(0.05)
    raise AssertionError("the import never waited for the locked order")


@pytest.fixture
def locked_order(seller, tmp_path, clock):
    """An imported order A-1, held (row-locked) by another transaction until the test ends."""
    clock.move_to(IMPORT_MOMENT)
    orders_import(path=csv_file(tmp_path, order("A-1"), name="before.csv"))
    with psycopg.connect(database_url()) as holder:
        holder.execute("SELECT 1 FROM sellers_order WHERE order_id = 'A-1' FOR UPDATE")
        yield holder
        holder.rollback()


def a_file_that_changes_the_locked_order(tmp_path: Path) -> Path:
    """New orders first (written before the import reaches A-1), then a change of A-1."""
    return csv_file(tmp_path, *(order(f"B-{i}") for i in range(50)), order("A-1", units="2"), name="orders.csv")


def assert_nothing_was_written():
    assert list(Order.objects.values_list("order_id", "units")) == [("A-1", 1)]


def test_a_connection_lost_during_an_import_ends_in_one_sentence_and_writes_nothing(locked_order, tmp_path):
    process = start_import_command(a_file_that_changes_the_locked_order(tmp_path))
    with psycopg.connect(database_url(), autocommit=True) as watcher:
        pid = wait_for_a_backend_waiting_on_a_lock(watcher, besides=locked_order.info.backend_pid)
        watcher.execute("SELECT pg_terminate_backend(%s)", [pid])
    stdout, stderr = process.communicate(timeout=60)

    assert process.returncode == 1
    assert stdout == ""
    assert stderr == (
        "CommandError: The connection to the database failed during the import (terminating connection due to "
        "administrator command), so nothing was imported; check that the database is running and reachable, "
        "and import the file again.\n"
    )
    locked_order.rollback()
    assert_nothing_was_written()


def test_a_lock_held_too_long_by_a_concurrent_change_ends_in_one_sentence_and_writes_nothing(locked_order, tmp_path):
    # An operator's lock_timeout: the import gives up waiting for the order another transaction holds.
    process = start_import_command(a_file_that_changes_the_locked_order(tmp_path), PGOPTIONS="-c lock_timeout=300")
    stdout, stderr = process.communicate(timeout=60)

    assert process.returncode == 1
    assert stdout == ""
    assert stderr == (
        "CommandError: Another import or change of the same orders was running at the same time (canceling "
        "statement due to lock timeout), so nothing was imported; import the file again.\n"
    )
    locked_order.rollback()
    assert_nothing_was_written()


def test_a_deadlock_with_a_concurrent_change_ends_in_one_sentence_and_writes_nothing(seller, tmp_path, clock):
    clock.move_to(IMPORT_MOMENT)
    orders_import(path=csv_file(tmp_path, order("A-1"), order("A-2"), name="before.csv"))
    # The import changes A-1, then A-2; another transaction holds A-2, then asks for A-1.
    path = csv_file(tmp_path, order("A-1", units="2"), order("A-2", units="2"), name="orders.csv")
    with psycopg.connect(database_url()) as other, psycopg.connect(database_url(), autocommit=True) as watcher:
        # The other transaction waits long before looking for a deadlock: the import finds it.
        other.execute("SET LOCAL deadlock_timeout = '60s'")
        other.execute("SELECT 1 FROM sellers_order WHERE order_id = 'A-2' FOR UPDATE")
        process = start_import_command(path, PGOPTIONS="-c deadlock_timeout=2000")
        wait_for_a_backend_waiting_on_a_lock(watcher, besides=other.info.backend_pid)
        other.execute("SELECT 1 FROM sellers_order WHERE order_id = 'A-1' FOR UPDATE")  # waits until the import fails
        stdout, stderr = process.communicate(timeout=60)
        other.rollback()

    assert process.returncode == 1
    assert stdout == ""
    assert stderr.startswith(
        "CommandError: Another import or change of the same orders was running at the same time (deadlock detected)"
    )
    assert stderr.count("\n") == 1
    assert sorted(Order.objects.values_list("order_id", "units")) == [("A-1", 1), ("A-2", 1)]


@pytest.mark.parametrize("overlap_changes", [False, True], ids=["same overlapping rows", "changed overlapping rows"])
def test_two_overlapping_imports_at_once_report_exactly_what_each_did(seller, tmp_path, clock, overlap_changes):
    clock.move_to(IMPORT_MOMENT)
    units = "2" if overlap_changes else "1"
    first = csv_file(tmp_path, *(order(f"A-{i:05d}") for i in range(1500)), name="first.csv")
    second = csv_file(
        tmp_path,
        *(order(f"A-{i:05d}", units=units if i < 1500 else "1") for i in range(500, 2000)),
        name="second.csv",
    )
    barrier = threading.Barrier(2)
    results, errors = {}, []

    def run(path: Path) -> None:
        try:
            barrier.wait(timeout=10)
            results[path.name] = orders_import(path=path)
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(path,)) for path in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert Order.objects.count() == 2000
    counts = [(r.created, r.updated, r.unchanged) for r in results.values()]
    assert sum(created for created, _, _ in counts) == 2000
    if overlap_changes:
        # Whichever went second changed the 1,000 orders both files hold.
        assert sorted(counts) == [(500, 1000, 0), (1500, 0, 0)]
    else:
        assert sorted(counts) == [(500, 0, 1000), (1500, 0, 0)]


def test_an_import_during_a_time_zone_change_dates_its_orders_in_the_zone_that_was_committed(seller, tmp_path):
    # 23:30 on Nov. 1 in Los Angeles is Nov. 2 in New York.
    late_evening = order("TZ-1", purchased_at="2026-11-01T23:30:00-07:00", promised_ship_date="2026-11-02")
    with psycopg.connect(database_url()) as changing_zone:
        # A zone change in progress: the seller's row is locked and its zone not yet committed.
        changing_zone.execute("UPDATE sellers_seller SET timezone = 'America/New_York' WHERE id = %s", [seller.pk])
        process = start_import_command(csv_file(tmp_path, late_evening))
        with psycopg.connect(database_url(), autocommit=True) as watcher:
            wait_for_a_backend_waiting_on_a_lock(watcher, besides=changing_zone.info.backend_pid)
        changing_zone.commit()
    _stdout, stderr = process.communicate(timeout=60)

    assert process.returncode == 0, stderr
    assert Order.objects.get(order_id="TZ-1").purchase_date == dt.date(2026, 11, 2)
