"""Cost that does not grow with history (issue 18): the daily run, the dashboard and the
defect report read the orders only through an index range on the purchase date, so a year of
older orders adds nothing to what they read (bench/history_bench.py measures it).

Each statement these three run on ``sellers_order`` is explained with sequential scans
priced out (``enable_seqscan = off``): a statement with no index-usable condition on the
purchase date still scans the table, or reaches it only by seller, and fails here. On a
small test table the planner would otherwise pick a sequential scan for every query, which
says nothing about a large one."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from metrics import sql as statements
from metrics.report import csv_lines_sql
from metrics.selectors import REPORT_VALUE_FIELDS, defect_report_values
from metrics.services import daily_run
from sellers.factories import D, OrderFactory
from sellers.models import Order

pytestmark = pytest.mark.django_db

ORDERS = Order._meta.db_table
# The daily counts go into a temporary table (metrics.sql.snapshot_counts_create).
CREATE_AS = " ON COMMIT DROP AS "


@pytest.fixture
def history(seller, make_orders, clock):
    """Orders in the 30-day window ending on D, some late, and older ones up to a year back."""
    recent = [OrderFactory.build(seller=seller, purchased_on=D - dt.timedelta(days=n)) for n in range(0, 30, 3)]
    late = [OrderFactory.build(seller=seller, purchased_on=D - dt.timedelta(days=n), late=True) for n in (4, 12)]
    older = [OrderFactory.build(seller=seller, purchased_on=D - dt.timedelta(days=n)) for n in range(31, 365, 20)]
    make_orders(*recent, *late, *older)


def order_statements(queries: list[dict]) -> list[str]:
    """The statements of ``queries`` that read the orders, each as a statement to explain."""
    statements = []
    for query in queries:
        text = query["sql"]
        if ORDERS not in text:
            continue
        if CREATE_AS in text:
            text = text.split(CREATE_AS, 1)[1]
        if text.lstrip().upper().startswith(("SELECT", "WITH", "UPDATE", "DELETE")):
            statements.append(text)
    return statements


def explained(statement: str, *settings: str) -> dict:
    """The plan of ``statement`` (``EXPLAIN (FORMAT JSON)``, its top object) under ``settings``
    (statements run first in a savepoint, rolled back after: the test's later statements run
    under the settings they would have had)."""
    with transaction.atomic(), connection.cursor() as cursor:
        for setting in settings:
            cursor.execute(setting)
        cursor.execute(f"EXPLAIN (FORMAT JSON) {statement}")
        plan = cursor.fetchone()[0]
        transaction.set_rollback(True)
    return (json.loads(plan) if isinstance(plan, str) else plan)[0]


def order_nodes(node: dict) -> list[dict]:
    """The nodes of the plan ``node`` that read ``sellers_order`` or one of its indexes."""
    own = [node] if node.get("Relation Name") == ORDERS or node.get("Index Name", "").startswith("order_") else []
    return own + [scan for child in node.get("Plans", []) for scan in order_nodes(child)]


def order_scans(statement: str) -> list[dict]:
    """The plan nodes of ``statement`` that read ``sellers_order``, sequential scans priced out."""
    return order_nodes(explained(statement, "SET LOCAL enable_seqscan = off")["Plan"])


def assert_window_scans(scans: list[dict], statement: str) -> None:
    assert scans, statement
    assert not [s for s in scans if s["Node Type"] == "Seq Scan"], f"scans every order:\n{statement}"
    conditions = " ".join(s.get("Index Cond", "") + s.get("Recheck Cond", "") for s in scans)
    assert "purchase_date" in conditions, f"reads the orders without a purchase date range:\n{statement}"


def assert_reads_the_window_only(statements: list[str]) -> None:
    assert statements, "the orders were read"
    for statement in statements:
        assert_window_scans(order_scans(statement), statement)


def test_the_daily_run_reads_only_the_window_of_orders(history):
    with CaptureQueriesContext(connection) as queries:
        daily_run(day=D)
    assert_reads_the_window_only(order_statements(queries.captured_queries))


def counts_with_settings(queries: list[dict]) -> tuple[str, str]:
    """The daily counts' query (the statement of ``snapshot_counts_create``) and the last
    ``set_config`` statement before it: the planner settings it ran under."""
    in_force = ""
    for query in queries:
        if "set_config(" in query["sql"]:
            in_force = query["sql"]
        elif CREATE_AS in query["sql"]:
            return query["sql"].split(CREATE_AS, 1)[1], in_force
    raise AssertionError("the daily run counted no orders")


def test_the_daily_counts_read_the_window_however_cheap_a_scan_of_the_table_looks(history):
    """The counts are explained under the settings they ran under and nothing more: on a test
    table of a few orders, analysed, the planner would scan the table, as it did on a large one (its page
    estimate for a window of dates ignores how the rows lie), so the settings must keep them on
    the purchase-date index. JIT, priced in here at any cost, may compile but neither inline
    nor optimise: their time followed the table's size, not the window's. The run's later
    statements, and a caller's, run under the settings they had before."""
    settings = statements.settings_current(list(statements.SNAPSHOT_COUNTS_PLAN))
    with connection.cursor() as cursor:
        cursor.execute(settings)
        before = cursor.fetchone()
    with CaptureQueriesContext(connection) as queries:
        daily_run(day=D)
    with connection.cursor() as cursor:
        cursor.execute(settings)
        assert cursor.fetchone() == before
    counts, in_force = counts_with_settings(queries.captured_queries)
    assert in_force, "the counts ran under the planner's defaults"
    every_step = [
        f"SET LOCAL {name} = 0" for name in ("jit_above_cost", "jit_inline_above_cost", "jit_optimize_above_cost")
    ]
    plan = explained(counts, f"ANALYZE {ORDERS}", "SET LOCAL jit = on", *every_step, in_force)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = on")  # as in the plan above, whatever the server's own setting
        cursor.execute("SELECT pg_jit_available()")
        (jit_available,) = cursor.fetchone()
        transaction.set_rollback(True)
    assert ("JIT" in plan) is jit_available  # a server built without JIT compiles nothing at all
    if jit_available:
        options = plan["JIT"]["Options"]
        assert options["Inlining"] is False and options["Optimization"] is False, options
        assert options["Expressions"] is True, options
    assert_window_scans(order_nodes(plan["Plan"]), counts)


def test_while_the_orders_hold_a_few_windows_the_counts_may_scan_the_table(seller, make_orders, clock):
    """A portal's first months: the window is most of the table, and the planner's table
    scan is the cheaper plan, so it is not priced out, nor JIT (below the costs at which it
    inlines and optimises, its compilation pays): the planner's defaults stand."""
    make_orders(*(OrderFactory.build(seller=seller, purchased_on=D - dt.timedelta(days=n)) for n in range(0, 60, 5)))
    with CaptureQueriesContext(connection) as queries:
        daily_run(day=D)
    _counts, in_force = counts_with_settings(queries.captured_queries)
    assert in_force == ""


def test_the_uncached_dashboard_reads_only_the_window_of_orders(history, seller, client, seller_user, locmem_cache):
    daily_run(day=D)
    client.force_login(seller_user)
    locmem_cache.clear()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("metrics:dashboard"))
    assert response.status_code == 200
    assert_reads_the_window_only(order_statements(queries.captured_queries))


def test_the_defect_report_reads_only_the_window_of_orders(history, seller):
    daily_run(day=D)
    statement, params = csv_lines_sql(defect_report_values(seller=seller, day=D, window_days=30), REPORT_VALUE_FIELDS)
    with connection.cursor() as cursor:
        text = cursor.cursor.mogrify(statement.as_string(cursor.cursor.connection), params)
    assert_reads_the_window_only([text])


@pytest.mark.parametrize(
    "statement",
    [
        f"SELECT sum(units) FROM {ORDERS} WHERE seller_id = 1",  # every day the seller ever had
        f"SELECT sum(units) FROM {ORDERS} WHERE purchased_at >= now() - interval '30 days'",  # no index on it
    ],
)
def test_the_check_catches_a_statement_that_reads_the_whole_history(statement, history):
    with pytest.raises(AssertionError):
        assert_reads_the_window_only([statement])
