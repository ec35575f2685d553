"""The metrics app's raw SQL, in one place, composed with ``psycopg.sql``.

Each function returns one statement: tables and columns are ``Identifier``s, fixed text and
the SQL halves of the metric rules (``metrics.definitions``) are ``SQL``, constants are
``Literal``s and values travel as named ``Placeholder``s (their names are in each docstring)
for the caller's cursor to fill. A statement wrapped around a query the ORM compiled keeps
that query's positional ``%s`` parameters instead. The callers decide when and in which
transaction a statement runs: ``metrics.services`` (the daily snapshot upsert, the
revocation),
``metrics.selectors`` (the dashboard's state), ``metrics.report`` (CSV lines) and
``metrics.retention`` (removing old orders).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Collection, Mapping, Sequence

from django.db import models
from psycopg import sql

from metrics.definitions import (
    AT_RISK_SQL,
    METRIC_DEFINITIONS,
    METRICS,
    PASSES_SQL,
    RATE_SQL,
    REASON_ORDER,
    SNAPSHOT_KEYS,
    SNAPSHOT_KINDS,
    snapshot_column,
)
from metrics.definitions import threshold_column as threshold
from metrics.models import DailySnapshot, SellerAtRisk
from metrics.reasons import MetricReason, RequirementReason
from sellers import sql as seller_statements
from sellers.choices import ProgrammeStatus
from sellers.models import AuditEntry, Order, Seller, SellerEvent
from sellers.requirements import REQUIREMENTS

SNAPSHOTS = sql.Identifier(DailySnapshot._meta.db_table)
# The transaction-level advisory lock under which thresholds change, one at a time; a
# constant the portal uses for nothing else (the CRC-32 of "metrics.threshold_set").
THRESHOLD_LOCK = 0x2B9E8AA1


def threshold_lock() -> sql.Composed:
    """Threshold changes one at a time: the second reads the values in force after the first
    has committed."""
    return sql.SQL("SELECT pg_advisory_xact_lock({lock})").format(lock=sql.Literal(THRESHOLD_LOCK))


# ---------------------------------------------------------------------------------------
# The dashboard's state (metrics.selectors.seller_dashboard_state)


def _dashboard_state() -> sql.Composed:
    latest = sql.SQL("FROM {snapshots} WHERE seller_id = {seller} ORDER BY day DESC LIMIT 1").format(
        snapshots=SNAPSHOTS, seller=sql.Placeholder("seller")
    )
    return sql.SQL(
        "SELECT (SELECT day {latest}), (SELECT computed_at {latest}), "
        "(SELECT id FROM {audit} WHERE seller_id = {seller} ORDER BY created_at DESC, id DESC LIMIT 1)"
    ).format(latest=latest, audit=sql.Identifier(AuditEntry._meta.db_table), seller=sql.Placeholder("seller"))


# The latest day of ``%(seller)s`` and when its snapshots were written, and its latest audit
# entry: each a short scan of an index. Composed once: every dashboard view runs it.
DASHBOARD_STATE = _dashboard_state().as_string()


# ---------------------------------------------------------------------------------------
# The daily snapshot upsert (metrics.services.snapshots_compute): the counts into a
# temporary table, then one INSERT ... SELECT ... ON CONFLICT that judges every metric.

SNAPSHOT_COUNTS = sql.Identifier("snapshot_counts")

# The planner settings the counts run under, and only they (``snapshot_counts_create``).
# The counts read one window of purchase dates; the planner prices a bitmap scan of that
# range as if its rows lay on every page of the table (its page estimate ignores the order
# rows lie in), so once the table holds a few windows it scans the whole table instead: at
# full bench scale 458,000 blocks with 365 days of orders where the window lies on 73,000.
# Without sequential scans it reads the window's pages through ``order_purchase_date`` (or
# the table in the index's order, when that is how the rows lie), in parallel as before.
# And JIT's plain compilation only: whether to inline and optimise is decided from that cost
# estimate, which grows with the table, not with the window: past 500,000 it inlined and
# optimised for 9 s of CPU across the three processes, and the statement ran no faster (5.8 s
# against 5.4 s without JIT). Plain compilation costs little and pays: the same counts read
# through the index took 1.40 s with it against 1.62 s with no JIT at all (full scale).
# While the orders hold only a few windows of purchase dates (a portal's first months, the
# benchmark's 60 days), the window is a large share of the table and scanning the table is
# the cheaper plan, and the estimate stays below the costs at which JIT inlines and
# optimises; its plain compilation pays there too (the floor query: 1.25-1.37 s with it, 1.48-1.55 s
# without, full scale): the planner's defaults stand (``SNAPSHOT_COUNTS_PLAN_SHORT``).
SNAPSHOT_COUNTS_PLAN = {"enable_seqscan": "off", "jit_inline_above_cost": "-1", "jit_optimize_above_cost": "-1"}
SNAPSHOT_COUNTS_PLAN_SHORT: dict[str, str] = {}
# How many windows of purchase dates the orders may hold before the counts leave the table
# scan out: the oldest purchase date at most this many windows before D's.
SNAPSHOT_COUNTS_SHORT_WINDOWS = 3


def orders_oldest_purchase_date() -> sql.Composed:
    """One row: the earliest purchase date of any order (``order_purchase_date`` answers it)."""
    return sql.SQL("SELECT MIN(purchase_date) FROM {orders}").format(orders=sql.Identifier(Order._meta.db_table))


def settings_current(names: Sequence[str]) -> sql.Composed:
    """One row: the value in force of each setting of ``names``, in that order."""
    return sql.SQL("SELECT {values}").format(
        values=sql.SQL(", ").join(sql.SQL("current_setting({name})").format(name=sql.Literal(n)) for n in names)
    )


def settings_set(settings: Mapping[str, str]) -> sql.Composed:
    """Each of ``settings`` set to its value until the end of the transaction (``SET LOCAL``),
    or until set again: the caller sets back the values ``settings_current`` read."""
    return sql.SQL("SELECT {calls}").format(
        calls=sql.SQL(", ").join(
            sql.SQL("set_config({name}, {value}, true)").format(name=sql.Literal(n), value=sql.Literal(v))
            for n, v in settings.items()
        )
    )


def snapshot_counts_drop() -> sql.Composed:
    return sql.SQL("DROP TABLE IF EXISTS {counts}").format(counts=SNAPSHOT_COUNTS)


def snapshot_counts_create(counts: str) -> sql.Composed:
    """The temporary table of the ORM's query ``counts`` (its parameters positional), dropped
    at commit. CREATE TABLE AS may run the aggregate in parallel, a data-modifying statement
    never does."""
    return sql.SQL("CREATE TEMP TABLE {counts} ON COMMIT DROP AS {query}").format(
        counts=SNAPSHOT_COUNTS, query=sql.SQL(counts)
    )


def snapshot_upsert(*, counted: Collection[str], some_sellers: bool) -> sql.Composed:
    """A snapshot row per seller (of ``%(sellers)s`` when ``some_sellers``) for the day
    ``%(day)s``, written at ``%(now)s``, each metric judged in SQL against its threshold
    ``%(threshold_<metric>)s``: the counts of ``snapshot_counts`` (only its ``counted``
    columns; the others are 0), zeros for a seller without orders. A row already counted in
    another time zone stays as it was. Merged in key order so concurrent runs take row locks
    in the same order (no deadlock)."""
    columns = [threshold(name) for name in METRICS]
    values: list[sql.Composable] = [sql.Identifier("t", threshold(name)) for name in METRICS]
    for window_days, name in SNAPSHOT_KEYS:
        figures = {
            kind: (
                sql.SQL("coalesce({column}, 0)").format(column=sql.Identifier("c", column))
                if (column := snapshot_column(name, window_days, kind)) in counted
                else sql.SQL("0")
            )
            for kind in SNAPSHOT_KINDS
        }
        passing = sql.SQL(PASSES_SQL).format(
            **figures,
            threshold=sql.Identifier("t", threshold(name)),
            higher_is_better=sql.Literal(METRIC_DEFINITIONS[name].higher_is_better),
        )
        columns.extend(snapshot_column(name, window_days, kind) for kind in (*figures, "passing"))
        values.extend((*figures.values(), passing))
    thresholds = sql.SQL(", ").join(
        sql.SQL("{value}::numeric AS {name}").format(
            value=sql.Placeholder(threshold(name)), name=sql.Identifier(threshold(name))
        )
        for name in METRICS
    )
    return sql.SQL(
        "INSERT INTO {snapshots} (seller_id, day, computed_at, timezone, {columns}) "
        "SELECT s.id, {day}::date, {now}, s.timezone, {values} "
        "FROM {sellers} s LEFT JOIN {counts} c ON c.seller_id = s.id "
        "CROSS JOIN (SELECT {thresholds}) t "
        "{filter} ORDER BY s.id "
        "ON CONFLICT (seller_id, day) DO UPDATE SET {updates} WHERE {timezone} = EXCLUDED.timezone"
    ).format(
        snapshots=SNAPSHOTS,
        columns=sql.SQL(", ").join(map(sql.Identifier, columns)),
        day=sql.Placeholder("day"),
        now=sql.Placeholder("now"),
        values=sql.SQL(", ").join(values),
        sellers=sql.Identifier(Seller._meta.db_table),
        counts=SNAPSHOT_COUNTS,
        thresholds=thresholds,
        filter=sql.SQL("WHERE s.id = ANY({sellers})").format(sellers=sql.Placeholder("sellers"))
        if some_sellers
        else sql.SQL(""),
        updates=sql.SQL(", ").join(
            sql.SQL("{column} = EXCLUDED.{column}").format(column=sql.Identifier(c)) for c in (*columns, "computed_at")
        ),
        timezone=sql.Identifier(DailySnapshot._meta.db_table, "timezone"),
    )


# ---------------------------------------------------------------------------------------
# The revocation (metrics.services.sellers_revoke): the failing metrics and requirements of
# D, the compare-and-set, the status and the status history's entries in one statement.


# The settings the revocation's statement runs under, and only it. Doubles written as text
# in their shortest form that reads back as the same double (the default since PostgreSQL 12,
# set whatever the session's), as Python's ``repr`` writes a float: the reasons' rates are
# written so. And no JIT: the statement handles a row per seller, but its many expressions
# (fourteen reasons, six checks) and the row estimates of freshly written snapshots make its
# cost look large: JIT compiled it for 5.4 s of a 6.7 s run at full scale, for a statement
# that runs in well under a second.
REVOCATION_SETTINGS = {"extra_float_digits": "1", "jit": "off"}


def _day_end(day: sql.Composable, zone: sql.Composable) -> sql.Composed:
    """The moment the local date ``day`` ends in the zone ``zone`` (both SQL expressions): the
    SQL half of ``sellers.models.day_end``."""
    return sql.SQL("(({day} + 1)::timestamp AT TIME ZONE {zone})").format(day=day, zone=zone)


def _json_float(value: sql.Composable) -> sql.Composed:
    """The double ``value`` as the JSON number ``json.dumps`` writes for it (NULL: null): its
    shortest digits, and a whole number with its ``.0``, so it reads back as a float."""
    return sql.SQL(
        "to_jsonb(CASE WHEN {value} = trunc({value}) THEN round(({value})::numeric, 1) "
        "ELSE ({value})::text::numeric END)"
    ).format(value=value)


def _metric_reason(row: str, window_days: int, name: str) -> sql.Composed:
    """The failing metric ``name`` of the window of the snapshot row ``row`` as its reason's
    JSON (``MetricReason.to_json``): the rate shown, the rate judged (for a metric with Buy
    Shipping protection, or when units were excused), the threshold exactly as stored, the
    units; ``excused_units`` only when some were. tests/metrics/test_revocation_sql.py holds
    it equal to the ``MetricReason`` the metric definitions give."""
    definition = METRIC_DEFINITIONS[name]
    figures = {kind: sql.Identifier(row, snapshot_column(name, window_days, kind)) for kind in SNAPSHOT_KINDS}
    higher_is_better = sql.Literal(definition.higher_is_better)
    counted = sql.SQL("{defects} - {protected} - {excused}").format(**figures)
    rate = sql.SQL(RATE_SQL).format(
        population=figures["population"], defects=figures["defects"], higher_is_better=higher_is_better
    )
    eligibility_rate: sql.Composable = _json_float(
        sql.SQL(RATE_SQL).format(population=figures["population"], defects=counted, higher_is_better=higher_is_better)
    )
    if not definition.buy_shipping_protection:
        eligibility_rate = sql.SQL("CASE WHEN {excused} <> 0 THEN {rate} END").format(
            excused=figures["excused"], rate=eligibility_rate
        )
    values: dict[str, sql.Composable] = {
        "metric": sql.Literal(name),
        "window_days": sql.Literal(window_days),
        "rate": _json_float(rate),
        "eligibility_rate": eligibility_rate,
        "threshold": sql.SQL("{threshold}::text").format(threshold=sql.Identifier(row, threshold(name))),
        "population_units": figures["population"],
        "defect_units": figures["defects"],
        "protected_units": figures["protected"],
    }
    optional = {"excused_units": figures["excused"]}
    recorded = {field.name for field in dataclasses.fields(MetricReason)}
    if recorded != {*values, *optional}:
        raise RuntimeError(
            f"The SQL metric reason writes {sorted({*values, *optional})}, the record has {sorted(recorded)}."
        )
    pairs = sql.SQL(", ").join(
        sql.SQL("{key}, {value}").format(key=sql.Literal(key), value=value)
        for key, value in {"kind": sql.Literal(MetricReason.kind), **values}.items()
    )
    return sql.SQL(
        "jsonb_build_object({pairs}) || CASE WHEN {excused} <> 0 THEN jsonb_build_object({key}, {excused}) "
        "ELSE '{{}}'::jsonb END"
    ).format(pairs=pairs, excused=optional["excused_units"], key=sql.Literal("excused_units"))


def _failing(items: Sequence[tuple[sql.Composable, sql.Composable]]) -> sql.Composed:
    """The JSON values of the items whose condition holds, in order, as an array of jsonb."""
    return sql.SQL("array_remove(ARRAY[{items}]::jsonb[], NULL)").format(
        items=sql.SQL(", ").join(
            sql.SQL("CASE WHEN {condition} THEN {value} END").format(condition=condition, value=value)
            for condition, value in items
        )
    )


def sellers_revoke(*, some_sellers: bool) -> sql.Composed:
    """Revoke, on D ``%(day)s``, the eligible sellers (``%(eligible)s``; of ``%(sellers)s``
    when ``some_sellers``) with a failing metric in either window of D's snapshot row or a
    failing requirement (warnings aside; only when D is their latest computed day, since the
    settings are judged as they are now), and return a row per seller revoked: its id, its
    status history entry's id and its current zone, in id order.

    The reasons are the failing metrics' ``MetricReason`` then the failing requirements'
    ``RequirementReason``, in REASON_ORDER then the registry's order, as JSON.

    A compare-and-set: the sellers with reasons are locked in id order and re-read (a seller
    another run revoked meanwhile, or whose status changed at or after
    ``%(snapshots_from)s``, is left alone), and a seller reinstated at or after the end of D
    (in the zone D was counted in, its snapshot's, else its current one) is judged again the
    next day. Those left become ``%(not_eligible)s`` at ``%(now)s`` and get their status
    history entry: the audit entry of ``SellerEvent.entry`` (its ``%(action)s``,
    ``%(summary)s``, ``%(before)s``, ``%(after)s`` and ``%(reason)s``) with the reasons in
    ``after``'s ``reasons``; ``%(reinstated)s`` is the reinstatement's event kind."""
    sellers = sql.Identifier(Seller._meta.db_table)
    metric_reasons = _failing(
        [
            (
                sql.SQL("NOT {passing}").format(
                    passing=sql.Identifier("d", snapshot_column(name, window_days, "passing"))
                ),
                _metric_reason("d", window_days, name),
            )
            for window_days, name in REASON_ORDER
        ]
    )
    checks = seller_statements.requirement_checks("f")
    requirement_reasons = _failing(
        [
            (
                sql.SQL("NOT {check}").format(check=checks[name]),
                sql.SQL("{reason}::jsonb").format(
                    reason=sql.Literal(json.dumps(RequirementReason(requirement=name).to_json()))
                ),
            )
            for name, requirement in REQUIREMENTS.items()
            if not requirement.warning_only
        ]
    )
    return sql.SQL(
        "WITH chunk AS (SELECT s.id FROM {sellers} s WHERE s.status = {eligible}{of_sellers}), "
        "reasons AS (SELECT c.id AS seller_id, {metric_reasons} || CASE WHEN EXISTS "
        "(SELECT 1 FROM {snapshots} later WHERE later.seller_id = c.id AND later.day > {day}) "
        "THEN '{{}}'::jsonb[] ELSE {requirement_reasons} END AS reasons "
        "FROM chunk c LEFT JOIN {snapshots} d ON d.seller_id = c.id AND d.day = {day} "
        "LEFT JOIN ({facts}) f ON f.seller_id = c.id), "
        "candidates AS (SELECT s.id, s.timezone FROM {sellers} s "
        "WHERE s.id IN (SELECT seller_id FROM reasons WHERE cardinality(reasons) > 0) AND s.status = {eligible} "
        "AND (s.status_changed_at IS NULL OR s.status_changed_at < {snapshots_from}) ORDER BY s.id FOR UPDATE), "
        "revoked AS (SELECT c.id, c.timezone FROM candidates c "
        "LEFT JOIN {snapshots} d ON d.seller_id = c.id AND d.day = {day} "
        "WHERE NOT EXISTS (SELECT 1 FROM {events} e WHERE e.seller_id = c.id AND e.kind = {reinstated} "
        "AND e.created_at >= {end_of_day})), "
        "status AS (UPDATE {sellers} s SET status = {not_eligible}, status_changed_at = {now} "
        "FROM revoked r WHERE s.id = r.id), "
        "entries AS (INSERT INTO {audit} (seller_id, actor_id, action, summary, before, after, reason, created_at) "
        "SELECT r.id, NULL, {action}, {summary}, {before}::jsonb, "
        "{after}::jsonb || jsonb_build_object('reasons', to_jsonb(x.reasons)), {reason}, {now} "
        "FROM revoked r JOIN reasons x ON x.seller_id = r.id ORDER BY r.id RETURNING id, seller_id) "
        "SELECT e.seller_id, e.id, r.timezone FROM entries e JOIN revoked r ON r.id = e.seller_id ORDER BY e.seller_id"
    ).format(
        sellers=sellers,
        eligible=sql.Placeholder("eligible"),
        of_sellers=sql.SQL(" AND s.id = ANY({sellers})").format(sellers=sql.Placeholder("sellers"))
        if some_sellers
        else sql.SQL(""),
        metric_reasons=metric_reasons,
        requirement_reasons=requirement_reasons,
        snapshots=SNAPSHOTS,
        day=sql.SQL("{day}::date").format(day=sql.Placeholder("day")),
        end_of_day=_day_end(
            sql.SQL("{day}::date").format(day=sql.Placeholder("day")), sql.SQL("coalesce(d.timezone, c.timezone)")
        ),
        # The chunk's sellers whatever their status (the join to ``chunk`` keeps the eligible):
        # for all sellers, one pass over each settings table with no filter.
        facts=seller_statements.requirement_facts(sellers=seller_statements.sellers_of() if some_sellers else None),
        snapshots_from=sql.Placeholder("snapshots_from"),
        events=sql.Identifier(SellerEvent._meta.db_table),
        reinstated=sql.Placeholder("reinstated"),
        not_eligible=sql.Placeholder("not_eligible"),
        now=sql.Placeholder("now"),
        audit=sql.Identifier(AuditEntry._meta.db_table),
        action=sql.Placeholder("action"),
        summary=sql.Placeholder("summary"),
        before=sql.Placeholder("before"),
        after=sql.Placeholder("after"),
        reason=sql.Placeholder("reason"),
    )


# ---------------------------------------------------------------------------------------
# At-risk entry (metrics.services.sellers_entered_at_risk), from the stored snapshot rows:
# per seller, not per order.


def _seller_at_risk(row: str) -> sql.Composed:
    """SQL half of ``metrics.definitions.seller_at_risk`` over the snapshot row ``row`` joined
    to its seller ``s``: eligible, and some (window, metric) at risk (``AT_RISK_SQL``)."""
    metrics_at_risk = sql.SQL(" OR ").join(
        sql.SQL(AT_RISK_SQL).format(
            **{kind: sql.Identifier(row, snapshot_column(name, window_days, kind)) for kind in SNAPSHOT_KINDS},
            threshold=sql.Identifier(row, threshold(name)),
            higher_is_better=sql.Literal(METRIC_DEFINITIONS[name].higher_is_better),
        )
        for window_days, name in SNAPSHOT_KEYS
    )
    # An eligible seller's last status change is its reinstatement (if any): figures of a day
    # that ended before it were answered by it, as on the dashboard.
    after_reinstatement = sql.SQL("(s.status_changed_at IS NULL OR s.status_changed_at < {end})").format(
        end=_day_end(sql.Identifier(row, "day"), sql.Identifier(row, "timezone"))
    )
    return sql.SQL("(s.status = {eligible} AND {after_reinstatement} AND ({metrics_at_risk}))").format(
        eligible=sql.Literal(str(ProgrammeStatus.ELIGIBLE)),
        after_reinstatement=after_reinstatement,
        metrics_at_risk=metrics_at_risk,
    )


def _latest_rows_of_day(*, some_sellers: bool) -> sql.Composed:
    """The snapshot rows ``d`` of the day ``%(day)s`` (of ``%(sellers)s`` when ``some_sellers``)
    that are their seller's latest, joined to the seller ``s``: recomputing an earlier day
    never changes whether a seller is at risk now.

    The sellers with a later day are one set of distinct ids, read once and hashed (``NOT IN``;
    ``seller_id`` is never null), however many later rows a recomputed old day has. As a
    correlated ``NOT EXISTS``, right after the day's rows were written to a table whose
    statistics still said it was empty, the planner checked each row of the day against the
    whole unique index: 60 s for 10,000 sellers."""
    return sql.SQL(
        "FROM {snapshots} d JOIN {sellers} s ON s.id = d.seller_id "
        "WHERE d.day = {day}{filter} "
        "AND d.seller_id NOT IN (SELECT DISTINCT later.seller_id FROM {snapshots} later WHERE later.day > {day})"
    ).format(
        snapshots=SNAPSHOTS,
        sellers=sql.Identifier(Seller._meta.db_table),
        day=sql.Placeholder("day"),
        filter=sql.SQL(" AND d.seller_id = ANY({sellers})").format(sellers=sql.Placeholder("sellers"))
        if some_sellers
        else sql.SQL(""),
    )


def at_risk_leave(*, some_sellers: bool) -> sql.Composed:
    """Forget the sellers whose latest row, of the day ``%(day)s``, is not at risk (they have
    room again, or are not eligible any more): a later entry is a new one."""
    return sql.SQL(
        "DELETE FROM {at_risk} r USING (SELECT d.seller_id {rows} AND NOT {at_risk_now}) gone "
        "WHERE r.seller_id = gone.seller_id"
    ).format(
        at_risk=sql.Identifier(SellerAtRisk._meta.db_table),
        rows=_latest_rows_of_day(some_sellers=some_sellers),
        at_risk_now=_seller_at_risk("d"),
    )


def at_risk_enter(*, some_sellers: bool) -> sql.Composed:
    """Record the sellers whose latest row, of the day ``%(day)s``, is at risk, at ``%(now)s``,
    and return the ids of those that were not at risk already: the entries. A seller already
    recorded (a recomputation, a second run at once) conflicts and is not returned."""
    return sql.SQL(
        "INSERT INTO {at_risk} (seller_id, since, entered_at) "
        "SELECT d.seller_id, d.day, {now} {rows} AND {at_risk_now} ORDER BY d.seller_id "
        "ON CONFLICT (seller_id) DO NOTHING RETURNING seller_id"
    ).format(
        at_risk=sql.Identifier(SellerAtRisk._meta.db_table),
        now=sql.Placeholder("now"),
        rows=_latest_rows_of_day(some_sellers=some_sellers),
        at_risk_now=_seller_at_risk("d"),
    )


# ---------------------------------------------------------------------------------------
# CSV lines written by the database (metrics.report)

# How a column becomes a CSV cell: escaped and quoted text, ``X`` or empty, an ISO date, digits.
TEXT, FLAG, DATE, NUMBER = "text", "flag", "date", "number"


def _cell(column: sql.Composable, kind: str, *, formula_prefixes: Sequence[str], quoted: Sequence[str]):
    """``column``'s value as its CSV cell (never NULL): a text cell starting with one of
    ``formula_prefixes`` gets a leading apostrophe, one holding one of ``quoted`` is quoted."""
    if kind == FLAG:
        return sql.SQL("CASE WHEN {column} THEN 'X' ELSE '' END").format(column=column)
    if kind == NUMBER:
        return sql.SQL("COALESCE(CAST({column} AS TEXT), '')").format(column=column)
    if kind == DATE:
        # The date output follows DateStyle; to_char is ISO whatever it is.
        return sql.SQL("COALESCE(to_char({column}, 'YYYY-MM-DD'), '')").format(column=column)
    text = sql.SQL("COALESCE({column}, '')").format(column=column)
    escaped = sql.SQL("(CASE WHEN substr({text}, 1, 1) IN ({prefixes}) THEN '''' || {text} ELSE {text} END)").format(
        text=text, prefixes=sql.SQL(", ").join(map(_text, formula_prefixes))
    )
    needs_quotes = sql.SQL(" OR ").join(
        sql.SQL("strpos({text}, {c}) > 0").format(text=text, c=_text(c)) for c in quoted
    )
    return sql.SQL(
        """CASE WHEN {needs_quotes} THEN '"' || replace({escaped}, '"', '""') || '"' ELSE {escaped} END"""
    ).format(needs_quotes=needs_quotes, escaped=escaped)


def _text(text: str) -> sql.Composable:
    """A string constant; control characters through chr(), so the statement stays one line of text."""
    return (
        sql.SQL("chr({code})").format(code=sql.Literal(ord(text))) if text in ("\t", "\r", "\n") else sql.Literal(text)
    )


def csv_lines(
    rows: str,
    cells: Sequence[tuple[str, str]],
    order: Sequence[tuple[str, bool]],
    *,
    formula_prefixes: Sequence[str],
    quoted: Sequence[str],
    line_end: str,
) -> sql.Composed:
    """One column: each row of the ORM's query ``rows`` (its parameters positional) as its
    CSV line ending in ``line_end``, a cell per (column, kind) of ``cells``, ordered by the
    (column, descending) pairs of ``order``."""
    row = sql.SQL(" || ',' || ").join(
        _cell(sql.Identifier("r", name), kind, formula_prefixes=formula_prefixes, quoted=quoted) for name, kind in cells
    )
    end = sql.SQL(" || ").join(map(_text, line_end))
    ordering = sql.SQL(", ").join(
        sql.SQL("{column}{direction}").format(
            column=sql.Identifier("r", name), direction=sql.SQL(" DESC" if desc else "")
        )
        for name, desc in order
    )
    return sql.SQL("SELECT {row} || {end} FROM ({rows}) r{order_by}").format(
        row=row, end=end, rows=sql.SQL(rows), order_by=sql.SQL(" ORDER BY ") + ordering if order else sql.SQL("")
    )


# ---------------------------------------------------------------------------------------
# Order retention (metrics.retention): the orders purchased before a cut date, removed a
# batch at a time, each batch in its own short transaction.

ORDERS = sql.Identifier(Order._meta.db_table)
SELLERS = sql.Identifier(Seller._meta.db_table)
# The session-level advisory lock one removal holds from its first batch to its last, so two
# never run at once; a constant the portal uses for nothing else (the CRC-32 of
# "metrics.orders_retain").
RETENTION_LOCK = 0x7B0FA7AD
# Moments in the archive as the import reads them: ISO 8601 in UTC.
ARCHIVE_MOMENT = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'


def retention_lock_try() -> sql.Composed:
    """True when this session now holds the retention lock, false when another one does."""
    return sql.SQL("SELECT pg_try_advisory_lock({lock})").format(lock=sql.Literal(RETENTION_LOCK))


def retention_unlock() -> sql.Composed:
    return sql.SQL("SELECT pg_advisory_unlock({lock})").format(lock=sql.Literal(RETENTION_LOCK))


def retention_count() -> sql.Composed:
    """The orders whose local purchase date is before ``%(cut)s``: how many, of how many
    sellers, and the earliest purchase date among them (by the purchase date index)."""
    return sql.SQL(
        "SELECT count(*), count(DISTINCT seller_id), min(purchase_date) FROM {orders} WHERE purchase_date < {cut}"
    ).format(orders=ORDERS, cut=sql.Placeholder("cut"))


def _archive_cell(name: str) -> sql.Composable:
    """Column ``name`` of the import format (SPEC section 6) from a removed order ``o`` and its
    seller ``s``: moments in UTC, dates as YYYY-MM-DD, booleans as true/false."""
    if name == "merchant_token":
        return sql.Identifier("s", name)
    field = Order._meta.get_field(name)
    column = sql.Identifier("o", name)
    if isinstance(field, models.DateTimeField):
        return sql.SQL("to_char({column} AT TIME ZONE 'UTC', {format})").format(
            column=column, format=sql.Literal(ARCHIVE_MOMENT)
        )
    if isinstance(field, models.DateField):
        return sql.SQL("to_char({column}, 'YYYY-MM-DD')").format(column=column)
    if isinstance(field, models.BooleanField):
        return sql.SQL("CASE WHEN {column} THEN 'true' ELSE 'false' END").format(column=column)
    return column


def retention_delete(*, archive_columns: Sequence[str] | None) -> sql.Composed:
    """Remove up to ``%(batch)s`` orders purchased before ``%(cut)s`` (by the purchase date
    index). With ``archive_columns``, as ``COPY ... TO STDOUT``: a CSV line of those columns of
    the import format per order removed, so exactly what is removed is archived."""
    batch = sql.SQL("o.id IN (SELECT id FROM {orders} WHERE purchase_date < {cut} LIMIT {batch})").format(
        orders=ORDERS, cut=sql.Placeholder("cut"), batch=sql.Placeholder("batch")
    )
    if archive_columns is None:
        return sql.SQL("DELETE FROM {orders} o WHERE {batch}").format(orders=ORDERS, batch=batch)
    # The archive names each order's seller by its merchant token: joined only for it.
    return sql.SQL(
        "COPY (DELETE FROM {orders} o USING {sellers} s WHERE s.id = o.seller_id AND {batch} RETURNING {cells}) "
        "TO STDOUT (FORMAT csv)"
    ).format(
        orders=ORDERS,
        sellers=SELLERS,
        batch=batch,
        cells=sql.SQL(", ").join(_archive_cell(name) for name in archive_columns),
    )


# ---------------------------------------------------------------------------------------
# Root causes (metrics.insights.root_causes): a metric's defect units in every breakdown at
# once, one pass over its defect orders.

# The sets the defect units are grouped by, in ``GROUPING()`` order: each set's grouping bits
# (a bit per column of ROOT_CAUSE_COLUMNS, set when the column is not grouped; the first
# column the highest bit).
ROOT_CAUSE_COLUMNS = ("carrier", "local_weekday", "ship_to_state", "local_hour")
ROOT_CAUSE_SETS: tuple[tuple[str, ...], ...] = (
    (),
    ("carrier",),
    ("local_weekday",),
    ("ship_to_state",),
    ("local_weekday", "local_hour"),
)


def root_cause_grouping(columns: Sequence[str]) -> int:
    """The ``GROUPING()`` value of the rows grouped by ``columns`` (ROOT_CAUSE_SETS)."""
    width = len(ROOT_CAUSE_COLUMNS)
    return sum(1 << (width - 1 - i) for i, name in enumerate(ROOT_CAUSE_COLUMNS) if name not in columns)


def root_cause_groups(defects: str) -> sql.Composed:
    """Each set of ROOT_CAUSE_SETS over the ORM's query ``defects`` (its parameters
    positional; its columns ROOT_CAUSE_COLUMNS, ``units`` and ``after_cutoff``, 1 or 0) in
    one pass: the columns ``grouping_set`` (``root_cause_grouping``), ROOT_CAUSE_COLUMNS,
    ``units``, ``orders`` and ``after`` (the units bought after the cutoff), ordered by set,
    then by units (descending) and value, as the breakdowns list them."""
    columns = [sql.Identifier("d", name) for name in ROOT_CAUSE_COLUMNS]
    listed = sql.SQL(", ").join(columns)
    sets = sql.SQL(", ").join(
        sql.SQL("({})").format(sql.SQL(", ").join(sql.Identifier("d", name) for name in names))
        for names in ROOT_CAUSE_SETS
    )
    return sql.SQL(
        "SELECT GROUPING({listed}) AS grouping_set, {listed}, SUM(d.units) AS units, COUNT(*) AS orders, "
        "COALESCE(SUM(d.units) FILTER (WHERE d.after_cutoff = 1), 0) AS after "
        "FROM ({defects}) d GROUP BY GROUPING SETS ({sets}) ORDER BY grouping_set, units DESC, {listed}"
    ).format(listed=listed, defects=sql.SQL(defects), sets=sets)


# ---------------------------------------------------------------------------------------
# Orders at risk (metrics.insights.at_risk): their counts and the projection's sums in one
# row, over rows whose risk was classified once.


def _among(conditions: Mapping[str, Sequence[object]]) -> sql.Composable:
    """Each column of ``conditions`` among its values; every row without conditions."""
    if not conditions:
        return sql.SQL("TRUE")
    return sql.SQL(" AND ").join(
        sql.SQL("{column} IN ({values})").format(
            column=sql.Identifier("r", column), values=sql.SQL(", ").join(map(sql.Literal, values))
        )
        for column, values in conditions.items()
    )


def at_risk_totals(
    rows: str,
    *,
    counts: Mapping[str, Mapping[str, Sequence[object]]],
    sums: Mapping[str, Mapping[str, Sequence[object]]],
) -> sql.Composed:
    """One row over the ORM's query ``rows`` (its parameters positional; a ``units`` column):
    for each name of ``counts`` how many rows, and of ``sums`` how many units, meet its
    conditions (``_among``: each column of ``rows`` among its values)."""
    items = [
        sql.SQL("COUNT(*) FILTER (WHERE {where}) AS {name}").format(where=_among(c), name=sql.Identifier(name))
        for name, c in counts.items()
    ] + [
        sql.SQL("COALESCE(SUM(r.units) FILTER (WHERE {where}), 0) AS {name}").format(
            where=_among(c), name=sql.Identifier(name)
        )
        for name, c in sums.items()
    ]
    return sql.SQL("SELECT {items} FROM ({rows}) r").format(items=sql.SQL(", ").join(items), rows=sql.SQL(rows))
