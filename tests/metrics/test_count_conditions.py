"""The daily counts' conditions: each sum states each condition once, the longest window's sums
add no bound of their own (the query already reads only that window), and the rarely true
condition comes before the population's. The numbers themselves are held against the
plain-Python reference by the property tests (test_reference_property, test_incident_property);
these tests hold the shape that keeps the aggregate near its floor."""

from __future__ import annotations

import datetime as dt
import re

from django.db.models import F, Q

from metrics.definitions import METRIC_RULES, WINDOWS, snapshot_column
from metrics.selectors import _conjunction, _conjuncts, metric_count_rows, window_start

D = dt.date(2026, 11, 20)


def test_conjunction_states_each_condition_once_in_the_order_given():
    shipped = Q(first_scan_date__lte=D)
    late = Q(first_scan_date__gt=F("promised_ship_date")) & shipped
    combined = _conjunction(late, shipped, Q(buy_shipping=True))
    assert combined.children == [
        ("first_scan_date__gt", F("promised_ship_date")),
        ("first_scan_date__lte", D),
        ("buy_shipping", True),
    ]
    assert combined.connector == Q.AND and not combined.negated


def test_conjunction_keeps_an_or_and_a_negation_whole():
    either = Q(delivered_date__isnull=True) | Q(delivered_date__gt=D)
    negated = ~Q(tracking_id="")
    combined = _conjunction(either, negated, either, Q())
    assert combined.children == [either, negated]
    assert _conjuncts(Q()) == []


def _sums(sql: str) -> dict[str, str]:
    """Each aggregate's FILTER condition of the count query's SQL, by its column name."""
    found = re.findall(r'FILTER \(WHERE (.*?)\), 0\) AS "([a-z0-9_]+)"', sql)
    assert found, sql
    return {column: condition for condition, column in found}


def test_the_counts_state_no_condition_twice_and_no_bound_of_the_longest_window(db):
    sql = str(metric_count_rows(day=D).query)
    sums = _sums(sql)
    longest = window_start(D, max(WINDOWS)).isoformat()
    shorter = [window_start(D, w).isoformat() for w in WINDOWS if w != max(WINDOWS)]
    for column, condition in sums.items():
        conjuncts = [part.strip("() ") for part in re.split(r" AND (?![^(]*\))", condition.strip("()"))]
        assert len(conjuncts) == len(set(conjuncts)), (column, conjuncts)
        assert longest not in condition, column
        if f"_{max(WINDOWS)}_" not in column:
            assert any(start in conjuncts[0] for start in shorter), (column, conjuncts[0])
    # The longest window's bound is the query's own, once.
    assert sql.count(longest) == 1


def test_a_defect_sum_states_its_defect_before_its_population(db):
    sums = _sums(str(metric_count_rows(day=D).query))
    # Delivered late: not delivered as of D (or after the promise) before cancelled or due.
    defects = sums[snapshot_column("on_time_delivery_rate", max(WINDOWS), "defects")]
    assert defects.index('"delivered_date" IS NULL') < defects.index('"cancelled_date" IS NULL')
    # Outside Buy Shipping: the label before the scan.
    defects = sums[snapshot_column("buy_shipping_rate", max(WINDOWS), "defects")]
    assert defects.index('NOT "sellers_order"."buy_shipping"') < defects.index('"first_scan_date" <=')
    assert set(METRIC_RULES) <= {column.split("_", 2)[2] for column in sums}
