"""The sellers app's raw SQL, in one place, composed with ``psycopg.sql``.

Each function returns one statement: tables and columns are ``Identifier``s taken from the
models, fixed text is ``SQL``, values travel as named ``Placeholder``s (their names are in
each docstring) for the caller's cursor to fill. The callers decide when and in which
transaction a statement runs: ``sellers.services`` (the Prime decision, the time-zone
re-dating), ``sellers.importing`` (the order import's staging table and merge),
``Seller.volume_control_at``, ``sellers.selectors.requirements_for_sellers`` and the daily
run's revocation (``metrics.sql.sellers_revoke``), which judge the programme requirements
from ``requirement_facts``.

Plain SQL where the ORM cannot say it (a window sum over a seller's day, COPY, an upsert
that counts what it did) or says it too slowly for how often it is asked.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db.models import Field
from psycopg import sql

from sellers.choices import CONTIGUOUS_REGIONS, WEEKDAYS, WEEKEND_DAYS, Speed
from sellers.models import (
    CarrierPickup,
    CarrierService,
    OperatingDay,
    Order,
    PrimeRegion,
    Seller,
    SellerEvent,
    TrackingEvent,
    VolumeControlChange,
)
from sellers.requirements import REQUIREMENTS, cutoff_requirements

ORDERS = sql.Identifier(Order._meta.db_table)
TRACKING_EVENTS = sql.Identifier(TrackingEvent._meta.db_table)
CONTROLS = sql.Identifier(VolumeControlChange._meta.db_table)
EVENTS = sql.Identifier(SellerEvent._meta.db_table)
# The order import's staging table: temporary, so each import's is its own.
STAGING_NAME = "order_import_staging"
STAGING = sql.Identifier("pg_temp", STAGING_NAME)
# The transaction-level advisory lock under which imports merge, one at a time; a constant
# the portal uses for nothing else (the CRC-32 of "sellers.order_import").
MERGE_LOCK = 0x3037E62C


def _columns(names: Sequence[str], table: str | None = None) -> sql.Composed:
    return sql.SQL(", ").join(sql.Identifier(*((table,) if table else ()), name) for name in names)


# ---------------------------------------------------------------------------------------
# The control in force (Seller.volume_control_at)

# The control of ``%(seller)s`` in force at ``%(moment)s``: the latest that took effect by then.
# As text, for ``Manager.raw``.
VOLUME_CONTROL_AT = (
    sql.SQL(
        "SELECT * FROM {controls} WHERE seller_id = {seller} AND effective_at <= {moment} "
        "ORDER BY effective_at DESC, id DESC LIMIT 1"
    )
    .format(controls=CONTROLS, seller=sql.Placeholder("seller"), moment=sql.Placeholder("moment"))
    .as_string()
)


# ---------------------------------------------------------------------------------------
# The Prime decision (sellers.services.orders_classify_prime, SPEC section 3)


def _since(since: bool, alias: str | None = None) -> sql.Composable:
    """Whole local days from ``%(since)s`` on, or every day."""
    if not since:
        return sql.SQL("")
    return sql.SQL("AND {purchase_date} >= {since}").format(
        purchase_date=sql.Identifier(*((alias,) if alias else ()), "purchase_date"), since=sql.Placeholder("since")
    )


def controlled_sellers() -> sql.Composed:
    """Of ``%(sellers)s``, those ever paused, capped or revoked (``%(revoked)s``): only their
    orders can have been placed with the badge off."""
    return sql.SQL(
        "SELECT seller_id FROM {controls} "
        "WHERE seller_id = ANY({sellers}) AND (paused = TRUE OR daily_cap IS NOT NULL) "
        "UNION SELECT seller_id FROM {events} WHERE seller_id = ANY({sellers}) AND kind = {revoked}"
    ).format(controls=CONTROLS, events=EVENTS, sellers=sql.Placeholder("sellers"), revoked=sql.Placeholder("revoked"))


def orders_all_prime(*, since: bool) -> sql.Composed:
    """Every order of ``%(sellers)s`` (from ``%(since)s`` on) a Prime order: sellers that were
    never revoked, paused nor capped."""
    return sql.SQL(
        "UPDATE {orders} SET is_prime = TRUE WHERE seller_id = ANY({sellers}) {since} AND is_prime = FALSE"
    ).format(orders=ORDERS, sellers=sql.Placeholder("sellers"), since=_since(since))


def orders_classify_prime(*, since: bool) -> sql.Composed:
    """Decide ``is_prime`` for the orders of ``%(sellers)s`` (from ``%(since)s`` on), changing
    only the orders whose decision changed; ``%(revoked)s`` is the revocation's event kind.

    The control in force (one lateral lookup on (seller, effective_at) giving its pause and
    its cap) and the status in force (one on (seller, created_at)) decide whether the badge
    was off; the count of the day's earlier orders placed with the badge on is a window sum."""
    return sql.SQL(
        """
        WITH badge AS (
            SELECT o.id, o.seller_id, o.purchase_date, o.purchased_at, o.order_id, o.is_prime,
                   v.daily_cap,
                   CASE WHEN (v.paused AND (v.paused_until IS NULL OR o.purchased_at < v.paused_until))
                             OR e.kind = {revoked}
                        THEN 1 ELSE 0 END AS badge_off
            FROM {orders} o
            LEFT JOIN LATERAL (
                SELECT c.paused, c.paused_until, c.daily_cap
                FROM {controls} c
                WHERE c.seller_id = o.seller_id AND c.effective_at <= o.purchased_at
                ORDER BY c.effective_at DESC, c.id DESC LIMIT 1
            ) v ON TRUE
            LEFT JOIN LATERAL (
                SELECT s.kind
                FROM {events} s
                WHERE s.seller_id = o.seller_id AND s.created_at <= o.purchased_at
                ORDER BY s.created_at DESC, s.id DESC LIMIT 1
            ) e ON TRUE
            WHERE o.seller_id = ANY({sellers}) {since}
        ),
        ranked AS (
            SELECT id, is_prime, badge_off, daily_cap,
                   COALESCE(SUM(1 - badge_off) OVER (
                       PARTITION BY seller_id, purchase_date
                       ORDER BY purchased_at, order_id
                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
                   ), 0) AS on_before
            FROM badge
        ),
        decided AS (
            SELECT id, is_prime,
                   CASE WHEN badge_off = 0 AND (daily_cap IS NULL OR on_before < daily_cap)
                        THEN 1 ELSE 0 END AS prime
            FROM ranked
        )
        UPDATE {orders} SET is_prime = (d.prime = 1)
        FROM decided d
        WHERE {orders}.id = d.id AND (d.prime = 1) <> {orders}.is_prime
        """
    ).format(
        orders=ORDERS,
        controls=CONTROLS,
        events=EVENTS,
        sellers=sql.Placeholder("sellers"),
        revoked=sql.Placeholder("revoked"),
        since=_since(since, "o"),
    )


# ---------------------------------------------------------------------------------------
# A seller's time zone (sellers.services.seller_timezone_change, SPEC section 1)


def _order_column(name: str) -> sql.Identifier:
    """The column of the order field ``name`` (``seller_id`` for ``seller``)."""
    field = Order._meta.get_field(name)
    if not isinstance(field, Field) or field.column is None:
        raise ValueError(f"Order.{name} is not a field with a column of its own.")
    return sql.Identifier(field.column)


def orders_redate() -> sql.Composed:
    """Set every local date of the orders of ``%(seller)s`` in the zone ``%(zone)s``, stamping
    them ``%(now)s``: one statement, rows whose dates stay the same untouched. The SQL half of
    ``Order.set_local_dates``; the time-zone tests hold the two together."""
    pairs = [(_order_column(moment), _order_column(date)) for moment, date in Order.LOCAL_DATE_FIELDS]
    local = sql.SQL("({moment} AT TIME ZONE {zone})::date")
    zone = sql.Placeholder("zone")
    return sql.SQL(
        "UPDATE {orders} SET {dates}, {updated_at} = {now} WHERE {seller_id} = {seller} AND ({differs})"
    ).format(
        orders=ORDERS,
        dates=sql.SQL(", ").join(
            sql.SQL("{date} = ").format(date=date) + local.format(moment=moment, zone=zone) for moment, date in pairs
        ),
        updated_at=_order_column("updated_at"),
        now=sql.Placeholder("now"),
        seller_id=_order_column("seller"),
        seller=sql.Placeholder("seller"),
        differs=sql.SQL(" OR ").join(
            sql.SQL("{date} IS DISTINCT FROM ").format(date=date) + local.format(moment=moment, zone=zone)
            for moment, date in pairs
        ),
    )


# ---------------------------------------------------------------------------------------
# The order import (sellers.importing, SPEC section 6): a staging table filled by COPY, then
# one upsert. ``columns`` are the staged order columns, ``compared`` those whose change
# makes an order changed.


def sellers_share_locked() -> sql.Composed:
    """Every seller's token, id and zone, share-locked to the end of the transaction: the
    import's view of its sellers, which a zone change or a revocation (each takes the
    seller's row lock) cannot change until the import is done."""
    return sql.SQL("SELECT merchant_token, id, timezone FROM {} FOR SHARE").format(
        sql.Identifier(Seller._meta.db_table)
    )


def staging_drop() -> sql.Composed:
    return sql.SQL("DROP TABLE IF EXISTS {staging}").format(staging=STAGING)


def staging_create(columns: Sequence[str]) -> sql.Composed:
    """The staging table: a line number and the order table's own column types, no
    constraints (the rows are checked already); dropped at commit."""
    return sql.SQL(
        "CREATE TEMP TABLE {name} ON COMMIT DROP AS SELECT 0 AS line, {columns} FROM {orders} WHERE 1 = 0"
    ).format(name=sql.Identifier(STAGING_NAME), columns=_columns(columns), orders=ORDERS)


def work_mem_set() -> sql.Composed:
    """For this transaction, ``work_mem`` = ``%(work_mem)s`` (the import's hashes of the whole
    file then stay in memory; set back at its end); selects the setting it had."""
    return sql.SQL("SELECT current_setting('work_mem'), set_config('work_mem', {work_mem}, true)").format(
        work_mem=sql.Placeholder("work_mem")
    )


def staging_types() -> sql.Composed:
    """The staging table's column types (their oids), in column order, for binary COPY."""
    return sql.SQL(
        "SELECT atttypid FROM pg_attribute WHERE attrelid = {staging}::regclass AND attnum > 0 ORDER BY attnum"
    ).format(staging=sql.Literal(f"pg_temp.{STAGING_NAME}"))


def staging_copy(columns: Sequence[str]) -> sql.Composed:
    """Binary COPY into the staging table: the server converts nothing."""
    return sql.SQL("COPY {staging} (line, {columns}) FROM STDIN (FORMAT BINARY)").format(
        staging=STAGING, columns=_columns(columns)
    )


def orders_column_types(columns: Sequence[str]) -> sql.Composed:
    """The types (oids) of the orders table's ``columns``, in that order, for binary COPY."""
    return sql.SQL(
        "SELECT atttypid FROM pg_attribute a JOIN unnest({names}::text[]) WITH ORDINALITY n(name, position) "
        "ON a.attname = n.name WHERE a.attrelid = {orders}::regclass ORDER BY n.position"
    ).format(names=sql.Literal(list(columns)), orders=sql.Literal(Order._meta.db_table))


def orders_copy(columns: Sequence[str]) -> sql.Composed:
    """Binary COPY of new orders straight into the orders table (``columns``, then their
    Prime flag and stamp): a file of new orders, none of them stored, no carrier event for them."""
    return sql.SQL("COPY {orders} ({columns}, is_prime, updated_at) FROM STDIN (FORMAT BINARY)").format(
        orders=ORDERS, columns=_columns(columns)
    )


def orders_any_known() -> sql.Composed:
    """One row if an order is stored under one of the keys ``%(sellers)s`` (seller ids) and
    ``%(order_ids)s`` (their order ids, in the same order)."""
    return sql.SQL(
        "SELECT 1 FROM {orders} o JOIN unnest({sellers}::bigint[], {order_ids}::text[]) AS k(seller_id, order_id) "
        "ON o.seller_id = k.seller_id AND o.order_id = k.order_id LIMIT 1"
    ).format(orders=ORDERS, sellers=sql.Placeholder("sellers"), order_ids=sql.Placeholder("order_ids"))


def orders_stamped_with_carrier_events() -> sql.Composed:
    """One row if a carrier event names an order stamped ``%(now)s`` (those an import just
    wrote), by tracking id and carrier in any case, as ``staging_carrier_events`` matches."""
    return sql.SQL(
        "SELECT 1 FROM {events} e JOIN {orders} o ON o.tracking_id = e.tracking_id "
        "AND lower(o.carrier) = lower(e.carrier) WHERE o.updated_at = {now} AND o.tracking_id <> '' LIMIT 1"
    ).format(events=TRACKING_EVENTS, orders=ORDERS, now=sql.Placeholder("now"))


def staging_analyze() -> sql.Composed:
    """Temporary tables are never analysed by autovacuum; the merge joins on this one. Its
    row count and the join key's statistics are all the plans need: analysing every column
    cost as much as the duplicate check."""
    return sql.SQL("ANALYZE {staging} (seller_id, order_id)").format(staging=STAGING)


def staging_duplicates() -> sql.Composed:
    """Every staged line whose (seller, order id) an earlier line has, with that first line."""
    return sql.SQL(
        """
        SELECT s.line, s.seller_id, s.order_id, d.first_line
        FROM {staging} s
        JOIN (SELECT seller_id, order_id, MIN(line) AS first_line
              FROM {staging} GROUP BY seller_id, order_id HAVING COUNT(*) > 1) d
          ON d.seller_id = s.seller_id AND d.order_id = s.order_id AND s.line > d.first_line
        ORDER BY s.line
        """
    ).format(staging=STAGING)


def _changed(old: str, new: str, compared: Sequence[str]) -> sql.Composed:
    """Some compared column differs between the rows ``old`` and ``new`` (NULLs compare as values)."""
    return sql.SQL(" OR ").join(
        sql.SQL("{old} IS DISTINCT FROM {new}").format(old=sql.Identifier(old, c), new=sql.Identifier(new, c))
        for c in compared
    )


def merge_lock() -> sql.Composed:
    """Imports merge one at a time: the second waits here until the first has committed."""
    return sql.SQL("SELECT pg_advisory_xact_lock({lock})").format(lock=sql.Literal(MERGE_LOCK))


def merge_insert(columns: Sequence[str], *, existing: bool) -> sql.Composed:
    """Insert the staged orders, stamped ``%(now)s``, in one statement; per seller, how many
    it inserted and their earliest local purchase date. Without ``existing`` every staged
    order must be new (a plain insert: one that exists fails it with a unique violation);
    with it, an order that exists is left to ``merge_update`` (``DO NOTHING`` neither writes
    nor locks it), at the cost of PostgreSQL's speculative insertion of each row."""
    return sql.SQL(
        """
        WITH inserted AS (
            INSERT INTO {orders} ({columns}, is_prime, updated_at)
            SELECT {columns}, TRUE, {now} FROM {staging}
            {on_conflict}
            RETURNING seller_id, purchase_date
        )
        SELECT seller_id, COUNT(*), MIN(purchase_date) FROM inserted GROUP BY seller_id
        """
    ).format(
        orders=ORDERS,
        columns=_columns(columns),
        now=sql.Placeholder("now"),
        staging=STAGING,
        on_conflict=sql.SQL("ON CONFLICT (seller_id, order_id) DO NOTHING" if existing else ""),
    )


def merge_update(compared: Sequence[str]) -> sql.Composed:
    """Update the orders that exist and that a staged order changes, stamped ``%(now)s``;
    per seller: how many it updated, the earliest of their old and new local purchase dates
    (``old`` is the order as the statement found it) and, when ``%(lines)s``, their staged
    lines. An order that changes nothing is neither written nor locked; one ``merge_insert``
    just wrote compares equal."""
    return sql.SQL(
        """
        WITH updated AS (
            UPDATE {orders} AS o SET {updates}
            FROM {staging} s
            JOIN {orders} old ON old.seller_id = s.seller_id AND old.order_id = s.order_id
            WHERE o.id = old.id AND ({changed})
            RETURNING s.line, s.seller_id, LEAST(s.purchase_date, old.purchase_date) AS since
        )
        SELECT seller_id, COUNT(*), MIN(since), array_agg(line) FILTER (WHERE %(lines)s)
        FROM updated GROUP BY seller_id
        """
    ).format(
        orders=ORDERS,
        staging=STAGING,
        updates=sql.SQL(", ").join(
            [
                *(sql.SQL("{column} = s.{column}").format(column=sql.Identifier(c)) for c in compared),
                sql.SQL("updated_at = {now}").format(now=sql.Placeholder("now")),
            ]
        ),
        changed=_changed("old", "s", compared),
    )


def staging_lines_new() -> sql.Composed:
    """The staged lines whose order does not exist (before the merge)."""
    return sql.SQL(
        "SELECT s.line FROM {staging} s WHERE NOT EXISTS "
        "(SELECT 1 FROM {orders} o WHERE o.seller_id = s.seller_id AND o.order_id = s.order_id)"
    ).format(staging=STAGING, orders=ORDERS)


def staging_lines() -> sql.Composed:
    return sql.SQL("SELECT line FROM {staging}").format(staging=STAGING)


# ---------------------------------------------------------------------------------------
# Carrier tracking events (SPEC section 9): applied to the staged orders of an import or a
# feed batch (sellers.importing), matched by tracking id and carrier in any case.


def tracking_events_exist() -> sql.Composed:
    """One row if any carrier event is stored, else none: an import without events to apply
    skips joining its rows with them."""
    return sql.SQL("SELECT (SELECT 1 FROM {events} LIMIT 1)").format(events=TRACKING_EVENTS)


def staging_carrier_events(columns: Sequence[str]) -> sql.Composed:
    """Each staged order (its line and ``columns``) that carrier events name, with the
    moments of its ``%(first_scan)s`` events and of its ``%(delivered)s`` events, the ids
    of all of them (their ``event_id``s, in the order they happened) and the row ids of
    those still pending."""
    return sql.SQL(
        """
        WITH matched AS (
            SELECT e.tracking_id, lower(e.carrier) AS carrier_key,
                   array_agg(e.occurred_at) FILTER (WHERE e.kind = {first_scan}) AS first_scans,
                   array_agg(e.occurred_at) FILTER (WHERE e.kind = {delivered}) AS deliveries,
                   array_agg(e.event_id ORDER BY e.occurred_at, e.event_id) AS event_ids,
                   array_agg(e.id) FILTER (WHERE e.applied_at IS NULL) AS pending
            FROM {events} e
            WHERE e.tracking_id IN (SELECT tracking_id FROM {staging} WHERE tracking_id <> '')
            GROUP BY e.tracking_id, lower(e.carrier)
        )
        SELECT s.line, {columns}, m.first_scans, m.deliveries, m.event_ids, m.pending
        FROM {staging} s
        JOIN matched m ON m.tracking_id = s.tracking_id AND m.carrier_key = lower(s.carrier)
        WHERE s.purchased_at IS NOT NULL
        ORDER BY s.line
        """
    ).format(
        events=TRACKING_EVENTS,
        staging=STAGING,
        columns=_columns(columns, "s"),
        first_scan=sql.Placeholder("first_scan"),
        delivered=sql.Placeholder("delivered"),
    )


def staging_carrier_facts() -> sql.Composed:
    """Set the first scan, the delivery and their local dates of the staged ``%(lines)s``
    (arrays ``%(first_scans)s``, ``%(first_scan_dates)s``, ``%(deliveries)s``,
    ``%(delivery_dates)s`` in the same order), in one statement."""
    return sql.SQL(
        """
        UPDATE {staging} AS s
        SET first_scan_at = u.first_scan_at, first_scan_date = u.first_scan_date,
            delivered_at = u.delivered_at, delivered_date = u.delivered_date
        FROM unnest({lines}::integer[], {first_scans}::timestamptz[], {first_scan_dates}::date[],
                    {deliveries}::timestamptz[], {delivery_dates}::date[])
             AS u(line, first_scan_at, first_scan_date, delivered_at, delivered_date)
        WHERE s.line = u.line
        """
    ).format(
        staging=STAGING,
        lines=sql.Placeholder("lines"),
        first_scans=sql.Placeholder("first_scans"),
        first_scan_dates=sql.Placeholder("first_scan_dates"),
        deliveries=sql.Placeholder("deliveries"),
        delivery_dates=sql.Placeholder("delivery_dates"),
    )


def tracking_events_applied() -> sql.Composed:
    """Mark the pending events ``%(ids)s`` applied at ``%(now)s``."""
    return sql.SQL("UPDATE {events} SET applied_at = {now} WHERE id = ANY({ids}) AND applied_at IS NULL").format(
        events=TRACKING_EVENTS, now=sql.Placeholder("now"), ids=sql.Placeholder("ids")
    )


# ---------------------------------------------------------------------------------------
# The programme requirements (SPEC section 2): their facts, and each record's SQL check


def _weekdays(days: Iterable[int]) -> sql.Composed:
    """Weekday numbers as an array of the operating days' type."""
    return sql.SQL("ARRAY[{days}]::smallint[]").format(days=sql.SQL(", ").join(map(sql.Literal, sorted(days))))


def early_cutoffs_column(requirement: str) -> str:
    """The facts' column of the operated days whose cutoff is before a cutoff requirement's minimum."""
    return f"early_{requirement}"


def sellers_of(ids: str = "sellers") -> sql.Composed:
    """A query of the seller ids of the array ``%(<ids>)s``, for ``requirement_facts``."""
    return sql.SQL("SELECT unnest({ids}::bigint[])").format(ids=sql.Placeholder(ids))


def requirement_facts(*, sellers: sql.Composable | None) -> sql.Composed:
    """The facts the requirement checks judge, a row per seller (of those the query
    ``sellers`` gives, e.g. ``sellers_of()``, all when None), in columns named as the fields
    of ``sellers.requirements.Requirements``:
    ``seller_id``, ``weekend_delivery``; ``covered_regions``, ``one_day_regions`` and
    ``two_day_regions`` (contiguous regions offered at either speed, at one day, at two days);
    arrays of weekday numbers, ascending: ``days_operated``, ``days_without_pickup`` (operated
    days without a cutoff or without a carrier pickup at or after it) and, per cutoff
    requirement, ``early_cutoffs_column(name)`` (its operated days without a cutoff or with one
    before its minimum). One pass over each settings table, grouped by seller."""
    speeds = [Speed.ONE_DAY.value, Speed.TWO_DAY.value]
    days = sql.SQL("array_agg(o.weekday ORDER BY o.weekday)")
    early = [
        sql.SQL(
            "{days} FILTER (WHERE o.weekday = ANY({weekdays}) AND (o.cutoff IS NULL OR o.cutoff < {minimum}))"
            " AS {column}"
        ).format(
            days=days,
            weekdays=_weekdays(r.weekdays),
            minimum=sql.Literal(r.cutoff),
            column=sql.Identifier(early_cutoffs_column(r.name)),
        )
        for r in cutoff_requirements()
    ]
    # A pickup at or after the cutoff exists exactly when the day's last pickup (of any of
    # the seller's carrier services) is at or after it: one grouped pass over the pickups.
    last_pickups = sql.SQL(
        "SELECT c.seller_id, p.weekday, max(p.pickup_time) AS last_pickup FROM {pickups} p "
        "JOIN {services} c ON c.id = p.carrier_service_id{services_of_sellers} GROUP BY c.seller_id, p.weekday"
    )

    def among_sellers(keyword: str, *column: str) -> sql.Composable:
        """`` WHERE`` or `` AND`` the seller id ``column`` is one of ``sellers``; nothing for all."""
        if sellers is None:
            return sql.SQL("")
        return sql.SQL(" {keyword} {column} IN ({sellers})").format(
            keyword=sql.SQL(keyword), column=sql.Identifier(*column), sellers=sellers
        )

    return sql.SQL(
        "SELECT s.id AS seller_id, s.weekend_delivery, "
        "coalesce(r.covered, 0) AS covered_regions, coalesce(r.one_day, 0) AS one_day_regions, "
        "coalesce(r.two_day, 0) AS two_day_regions, "
        "coalesce(d.days_operated, '{{}}') AS days_operated, "
        "coalesce(d.days_without_pickup, '{{}}') AS days_without_pickup, "
        "{early_columns} "
        "FROM {sellers} s "
        "LEFT JOIN (SELECT seller_id, count(*) FILTER (WHERE speed = ANY({speeds})) AS covered, "
        "count(*) FILTER (WHERE speed = {one_day}) AS one_day, count(*) FILTER (WHERE speed = {two_day}) AS two_day "
        "FROM {regions} WHERE state = ANY({contiguous}){regions_of_sellers} GROUP BY seller_id) r "
        "ON r.seller_id = s.id "
        # Only the days operated matter; a day not operated has no cutoff or pickup to check.
        "LEFT JOIN (SELECT o.seller_id, {days} AS days_operated, "
        "{days} FILTER (WHERE o.cutoff IS NULL OR l.last_pickup IS NULL OR l.last_pickup < o.cutoff) "
        "AS days_without_pickup, {early} "
        "FROM {days_table} o LEFT JOIN ({last_pickups}) l ON l.seller_id = o.seller_id AND l.weekday = o.weekday "
        "WHERE o.operated{days_of_sellers} GROUP BY o.seller_id) d ON d.seller_id = s.id"
        "{sellers_filter}"
    ).format(
        early_columns=sql.SQL(", ").join(
            sql.SQL("coalesce(d.{column}, '{{}}') AS {column}").format(
                column=sql.Identifier(early_cutoffs_column(r.name))
            )
            for r in cutoff_requirements()
        ),
        sellers=sql.Identifier(Seller._meta.db_table),
        speeds=sql.Literal(speeds),
        one_day=sql.Literal(Speed.ONE_DAY.value),
        two_day=sql.Literal(Speed.TWO_DAY.value),
        regions=sql.Identifier(PrimeRegion._meta.db_table),
        contiguous=sql.Literal(sorted(CONTIGUOUS_REGIONS)),
        regions_of_sellers=among_sellers("AND", "seller_id"),
        days=days,
        last_pickups=last_pickups.format(
            pickups=sql.Identifier(CarrierPickup._meta.db_table),
            services=sql.Identifier(CarrierService._meta.db_table),
            services_of_sellers=among_sellers("WHERE", "c", "seller_id"),
        ),
        early=sql.SQL(", ").join(early),
        days_table=sql.Identifier(OperatingDay._meta.db_table),
        days_of_sellers=among_sellers("AND", "o", "seller_id"),
        sellers_filter=among_sellers("WHERE", "s", "id"),
    )


def requirement_checks(facts: str) -> dict[str, sql.Composed]:
    """Each requirement's ``check_sql`` over the facts' row ``facts`` (a row of
    ``requirement_facts``), by name in the registry's order: true when it passes."""
    columns = {
        name: sql.Identifier(facts, name)
        for name in ("covered_regions", "days_operated", "days_without_pickup", "weekend_delivery")
    }
    constants = {
        "contiguous_regions": sql.Literal(len(CONTIGUOUS_REGIONS)),
        "weekdays": _weekdays(WEEKDAYS),
        "weekend_days": _weekdays(WEEKEND_DAYS),
    }
    return {
        name: sql.SQL("({check})").format(
            check=sql.SQL(requirement.check_sql).format(
                **columns,
                **constants,
                early_cutoffs=sql.Identifier(facts, early_cutoffs_column(name))
                if requirement.minimum_cutoff is not None
                else sql.SQL("NULL"),
            )
        )
        for name, requirement in REQUIREMENTS.items()
    }
