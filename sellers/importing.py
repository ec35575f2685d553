"""The order import (SPEC section 6): validate a whole CSV file, then write it in one statement.

The file is read once, as a stream. Each record is checked against every rule of the
import format and, if valid, converted to an order's column values (local dates in the
seller's time zone, computed with ``sellers.models.local_date``) and streamed into a
temporary staging table: COPY on PostgreSQL, batched inserts elsewhere. When the whole file
is valid, set-based SQL counts what is new and what changed, and one
``INSERT ... ON CONFLICT DO UPDATE ... WHERE <something changed>`` merges the staging table
into ``sellers_order``, so importing the same file again touches nothing. Any problem and
nothing is written: the transaction rolls back and ``ImportRejected`` lists every problem.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import heapq
import os
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from operator import itemgetter
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.utils import timezone

from sellers.choices import SHIP_TO_CODES, CancelledBy
from sellers.models import Order, Seller, local_date, zone
from sellers.services import orders_classify_prime

# The import format's columns (SPEC section 6), in the order the example file uses.
COLUMNS: tuple[str, ...] = (
    "order_id",
    "merchant_token",
    "purchased_at",
    "units",
    "promised_ship_date",
    "promised_delivery_date",
    "first_scan_at",
    "ship_confirmed_at",
    "delivered_at",
    "buy_shipping",
    "carrier",
    "tracking_id",
    "ship_to_state",
    "cancelled_at",
    "cancelled_by",
    "cancel_requested_at",
)
REQUIRED_COLUMNS: tuple[str, ...] = (
    "order_id",
    "merchant_token",
    "purchased_at",
    "units",
    "promised_ship_date",
    "promised_delivery_date",
    "buy_shipping",
)
OPTIONAL_TIMESTAMP_COLUMNS = (
    "first_scan_at",
    "ship_confirmed_at",
    "delivered_at",
    "cancelled_at",
    "cancel_requested_at",
)

BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
CUSTOMER = CancelledBy.CUSTOMER.value
CANCELLERS = frozenset({CancelledBy.SELLER.value, CUSTOMER})
# Customers may cancel by themselves only within 30 minutes of purchase (SPEC section 3).
CUSTOMER_CANCEL_WINDOW = dt.timedelta(minutes=30)
ORDER_ID_MAX = Order._meta.get_field("order_id").max_length
CARRIER_MAX = Order._meta.get_field("carrier").max_length
TRACKING_ID_MAX = Order._meta.get_field("tracking_id").max_length
UNITS_MAX = 2_147_483_647  # the database column's limit
# Beyond this many, problems are counted rather than listed: nobody reads a million lines.
MAX_LISTED_PROBLEMS = 1000

TIMESTAMP_EXAMPLE = "2026-11-02T09:15:00-08:00"
DATE_EXAMPLE = "2026-11-04"
UTF8_BOM = b"\xef\xbb\xbf"

# What the staging table holds and the merge writes: the order's columns, in Order's terms.
STAGED_COLUMNS: tuple[str, ...] = (
    "seller_id",
    "order_id",
    "purchased_at",
    "units",
    "promised_ship_date",
    "promised_delivery_date",
    "first_scan_at",
    "ship_confirmed_at",
    "delivered_at",
    "buy_shipping",
    "carrier",
    "tracking_id",
    "ship_to_state",
    "cancelled_at",
    "cancelled_by",
    "cancel_requested_at",
    *(date_field for _, date_field in Order.LOCAL_DATE_FIELDS),
)
# Every staged column but the key: what "the order changed" compares.
COMPARED_COLUMNS = STAGED_COLUMNS[2:]
MOMENT_POSITIONS = tuple(STAGED_COLUMNS.index(moment_field) for moment_field, _ in Order.LOCAL_DATE_FIELDS)
STAGING_BATCH = 5000
WORK_MEM = "128MB"
PROGRESS_EVERY = 8192  # records between progress reports

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the file, where a seller finds it: ``line N, column C: ...``."""

    line: int
    column: str | None
    message: str

    def __str__(self) -> str:
        if self.column is None:
            return f"line {self.line}: {self.message}"
        return f"line {self.line}, column {self.column}: {self.message}"


class ImportRejected(Exception):
    """The file has problems; nothing was imported."""

    def __init__(self, problems: list[Problem], unlisted: int = 0):
        self.problems = problems
        self.unlisted = unlisted
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        lines = [str(problem) for problem in self.problems]
        if self.unlisted:
            lines.append(
                f"... and {self.unlisted} more problem(s) not listed; fix the ones above and import the file again."
            )
        return lines


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def rows(self) -> int:
        return self.created + self.updated + self.unchanged


@transaction.atomic
def orders_import(*, path: str | os.PathLike, progress: Progress | None = None) -> ImportResult:
    """Import an order file (SPEC section 6): all of it, or nothing and every problem.

    Raises ``ImportRejected`` listing the problems (``line N, column C: ...``). ``progress``,
    if given, is called now and then with (bytes read, file size).
    """
    path = Path(path)
    total_bytes = path.stat().st_size
    with path.open("rb") as binary, connection.cursor() as cursor:
        staging = _Staging(cursor)
        rows = _OrderRows(staging)
        rows.load_sellers()
        try:
            with staging.loading():
                rows.read(binary, total_bytes, progress)
        except _FileProblem as exc:
            raise ImportRejected([exc.problem]) from None
        problems = heapq.merge(rows.problems, staging.duplicates(rows.token_of), key=_line)
        listed = list(islice(problems, MAX_LISTED_PROBLEMS))
        if listed:
            raise ImportRejected(listed, unlisted=sum(1 for _ in problems) + rows.unlisted)
        result, since_by_seller = staging.merge()
        staging.drop()
    by_since: dict[dt.date, list[int]] = defaultdict(list)
    for seller_id, since in since_by_seller.items():
        by_since[since].append(seller_id)
    for since, seller_ids in sorted(by_since.items()):
        orders_classify_prime(seller_ids=seller_ids, since=since)
    return result


# ---------------------------------------------------------------------------------------
# Reading and validating


class _FileProblem(Exception):
    """A problem with the file as a whole: reading stops at once."""

    def __init__(self, problem: Problem):
        self.problem = problem
        super().__init__(str(problem))


class _Invalid(Exception):
    """A malformed cell; the message says what is wrong and how to write it."""


@dataclass(frozen=True)
class _SellerRef:
    id: int
    merchant_token: str
    timezone: str
    zone: ZoneInfo


@dataclass
class _OrderRows:
    """Reads the file record by record, collecting problems and staging valid rows."""

    staging: _Staging
    problems: list[Problem] = field(default_factory=list)
    unlisted: int = 0
    sellers: dict[str, _SellerRef] = field(default_factory=dict)
    tokens: dict[int, str] = field(default_factory=dict)
    pick: Callable[[list[str]], tuple[str, ...]] | None = None  # the record's cells in COLUMNS order

    def read(self, binary: IO[bytes], total_bytes: int, progress: Progress | None) -> None:
        reader = csv.reader(_text_lines(binary), strict=True)
        records = 0
        line = 1  # where the record being read starts
        try:
            header = next(reader, None)
            while header is not None and not any(cell.strip() for cell in header):
                header = next(reader, None)  # blank lines before the header
            if header is None:
                raise _FileProblem(
                    Problem(
                        1,
                        None,
                        "the file is empty; it needs a header row naming the columns "
                        f"({','.join(REQUIRED_COLUMNS)}, ...) and then one row per order.",
                    )
                )
            header_line = reader.line_num
            positions = _header_positions(header, header_line)
            width = len(header)
            # Absent optional columns read the empty cell appended to every record.
            self.pick = itemgetter(*(positions.get(name, width) for name in COLUMNS))
            line = header_line + 1
            row = self.row
            for cells in reader:
                records += 1
                if progress is not None and records % PROGRESS_EVERY == 0:
                    progress(binary.tell(), total_bytes)
                if not any(cells):
                    line = reader.line_num + 1
                    continue  # blank lines, or a spreadsheet's empty rows
                if len(cells) != width:
                    self.add(
                        Problem(
                            line,
                            None,
                            f"this row has {len(cells)} cells but the header has {width} columns; "
                            "a value that contains a comma must be written in double quotes.",
                        )
                    )
                else:
                    cells.append("")
                    row(cells, line)
                line = reader.line_num + 1
        except csv.Error as exc:
            raise _FileProblem(
                Problem(
                    line,
                    None,
                    f"the row starting on this line can't be read as CSV ({exc}); check its double quotes: "
                    "a quote that opens a cell must close it, and a quote inside a quoted cell is written twice.",
                )
            ) from None
        if progress is not None:
            progress(total_bytes, total_bytes)

    def add(self, problem: Problem) -> None:
        if len(self.problems) < MAX_LISTED_PROBLEMS:
            self.problems.append(problem)
        else:
            self.unlisted += 1

    def load_sellers(self) -> None:
        """Every seller's token and zone, read before the rows: while COPY streams them, the
        connection can run no other query."""
        self.sellers = {
            token: _SellerRef(pk, token, name, zone(name))
            for token, pk, name in Seller.objects.values_list("merchant_token", "pk", "timezone")
        }
        self.tokens = {ref.id: token for token, ref in self.sellers.items()}

    def token_of(self, seller_id: int) -> str:
        return self.tokens[seller_id]

    def row(self, cells: list[str], line: int) -> None:
        """Check one record against every rule of SPEC section 6; stage it (or its key).

        The hot path of a million-row import: valid cells cost as few calls as possible.
        """
        (
            order_id,
            token,
            purchased_cell,
            units_cell,
            ship_date_cell,
            delivery_date_cell,
            first_scan_cell,
            confirmed_cell,
            delivered_cell,
            buy_shipping_cell,
            carrier,
            tracking_id,
            ship_to_state_cell,
            cancelled_cell,
            cancelled_by_cell,
            requested_cell,
        ) = map(str.strip, self.pick(cells))
        state = ship_to_state_cell
        problems: list[Problem] = []

        def bad(column: str, message: str) -> None:
            problems.append(Problem(line, column, message))

        if not order_id:
            bad("order_id", "the order id is empty; every row needs the marketplace's order id.")
        elif len(order_id) > ORDER_ID_MAX:
            bad(
                "order_id",
                f"the order id is {len(order_id)} characters long; an order id has at most {ORDER_ID_MAX} characters.",
            )
        seller = self.sellers.get(token) or self.sellers.get(token.upper())
        if seller is None:
            if token:
                bad(
                    "merchant_token",
                    f"no seller has the merchant token '{token}'; "
                    "check it against the token shown in your portal settings.",
                )
            else:
                bad(
                    "merchant_token",
                    "the merchant token is empty; write the token of the seller the order belongs to, e.g. A1B2C3D4.",
                )
            tz = dt.UTC
        else:
            tz = seller.zone

        purchased_at = purchase_date = None
        if purchased_cell:
            try:
                purchased_at = _moment(purchased_cell, tz)
                purchase_date = local_date(purchased_at, tz)
            except _Invalid as exc:
                bad("purchased_at", str(exc))
        else:
            bad(
                "purchased_at",
                "the purchase time is empty; write when the customer placed the order, "
                f"as ISO 8601 with a UTC offset or Z, e.g. {TIMESTAMP_EXAMPLE}.",
            )

        is_number = units_cell.isdecimal() and units_cell.isascii()
        units = int(units_cell) if is_number and len(units_cell) <= 10 else (UNITS_MAX + 1 if is_number else 0)
        if not 1 <= units <= UNITS_MAX:
            if not units_cell:
                bad("units", "the number of units is empty; write how many items the order has, e.g. 1.")
            elif units > UNITS_MAX:
                bad("units", f"{units_cell} units is more than an order can hold; write the number of items ordered.")
            else:
                bad("units", f"'{units_cell}' is not a number of units; write a whole number of at least 1, e.g. 2.")

        try:
            promised_ship_date = _date(ship_date_cell, "promised ship date")
        except _Invalid as exc:
            promised_ship_date = None
            bad("promised_ship_date", str(exc))
        try:
            promised_delivery_date = _date(delivery_date_cell, "promised delivery date")
        except _Invalid as exc:
            promised_delivery_date = None
            bad("promised_delivery_date", str(exc))

        buy_shipping = BOOLEANS.get(buy_shipping_cell)
        if buy_shipping is None:
            buy_shipping = BOOLEANS.get(buy_shipping_cell.lower())
        if buy_shipping is None:
            if buy_shipping_cell:
                bad(
                    "buy_shipping",
                    f"'{buy_shipping_cell}' is not a yes/no value; write true or false (1/0 and yes/no work too).",
                )
            else:
                bad(
                    "buy_shipping",
                    "buy_shipping is empty; write true if the label was bought through Buy Shipping, else false.",
                )

        # The optional timestamps: None when empty, _MALFORMED when reported.
        first_scan_at = _optional_moment(first_scan_cell, "first_scan_at", tz, bad) if first_scan_cell else None
        confirmed_at = _optional_moment(confirmed_cell, "ship_confirmed_at", tz, bad) if confirmed_cell else None
        delivered_at = _optional_moment(delivered_cell, "delivered_at", tz, bad) if delivered_cell else None
        cancelled_at = _optional_moment(cancelled_cell, "cancelled_at", tz, bad) if cancelled_cell else None
        requested_at = _optional_moment(requested_cell, "cancel_requested_at", tz, bad) if requested_cell else None

        if len(carrier) > CARRIER_MAX:
            bad("carrier", f"the carrier is {len(carrier)} characters long; write at most {CARRIER_MAX} characters.")
        if len(tracking_id) > TRACKING_ID_MAX:
            bad(
                "tracking_id",
                f"the tracking id is {len(tracking_id)} characters long; write at most {TRACKING_ID_MAX} characters.",
            )
        if state and state not in SHIP_TO_CODES:
            state = state.upper()
            if state not in SHIP_TO_CODES:
                bad(
                    "ship_to_state",
                    f"'{ship_to_state_cell}' is not a two-letter US state or territory code; "
                    "write the code, e.g. CA or NY.",
                )
        cancelled_by = cancelled_by_cell
        if cancelled_by and cancelled_by not in CANCELLERS:
            cancelled_by = cancelled_by.lower()
            if cancelled_by not in CANCELLERS:
                bad(
                    "cancelled_by",
                    f"'{cancelled_by_cell}' is not who cancelled; write seller or customer, "
                    "or leave it empty when the order was not cancelled.",
                )

        # Rules across cells (SPEC section 6), on what the cells say even if malformed.
        if cancelled_cell or cancelled_by_cell:
            if not cancelled_by_cell:
                bad(
                    "cancelled_by",
                    "the order has a cancellation time but cancelled_by is empty; write seller or customer, "
                    "or clear cancelled_at if the order was not cancelled.",
                )
            elif not cancelled_cell:
                bad(
                    "cancelled_at",
                    f"cancelled_by is '{cancelled_by_cell}' but cancelled_at is empty; write when the order "
                    "was cancelled, or clear cancelled_by if it was not.",
                )
            elif (
                cancelled_by == CUSTOMER
                and purchased_at is not None
                and cancelled_at is not _MALFORMED
                and cancelled_at - purchased_at > CUSTOMER_CANCEL_WINDOW
            ):
                bad(
                    "cancelled_by",
                    f"the customer cancelled {_duration(cancelled_at - purchased_at)} after the purchase, but "
                    "customers can cancel by themselves only within 30 minutes; a later cancellation is the "
                    "seller's: write seller (and the customer's request time in cancel_requested_at, if they "
                    "asked for it).",
                )
            if cancelled_cell and first_scan_cell:
                bad(
                    "first_scan_at",
                    "the order is cancelled but has a first carrier scan; a cancelled order never shipped: "
                    "clear first_scan_at, or clear cancelled_at and cancelled_by if the order did ship.",
                )
        if delivered_cell and not first_scan_cell:
            bad(
                "delivered_at",
                "the order was delivered but has no first carrier scan; write the carrier's first scan "
                "in first_scan_at, or clear delivered_at if it was not delivered.",
            )
        if purchase_date is not None and seller is not None:
            if promised_ship_date is not None and promised_ship_date < purchase_date:
                bad("promised_ship_date", _promise_precedes_purchase("ship", promised_ship_date, purchase_date, seller))
            if promised_delivery_date is not None and promised_delivery_date < purchase_date:
                bad(
                    "promised_delivery_date",
                    _promise_precedes_purchase("delivery", promised_delivery_date, purchase_date, seller),
                )

        if problems:
            for problem in problems:
                self.add(problem)
            if seller is not None and order_id and len(order_id) <= ORDER_ID_MAX:
                self.staging.key(line, seller.id, order_id)  # so duplicates are reported too
            return
        self.staging.write(
            (
                line,
                seller.id,
                order_id,
                purchased_at,
                units,
                promised_ship_date,
                promised_delivery_date,
                first_scan_at,
                confirmed_at,
                delivered_at,
                buy_shipping,
                carrier,
                tracking_id,
                state,
                cancelled_at,
                cancelled_by,
                requested_at,
                # Order.LOCAL_DATE_FIELDS, in its order.
                purchase_date,
                local_date(first_scan_at, tz) if first_scan_at else None,
                local_date(confirmed_at, tz) if confirmed_at else None,
                local_date(delivered_at, tz) if delivered_at else None,
                local_date(cancelled_at, tz) if cancelled_at else None,
                local_date(requested_at, tz) if requested_at else None,
            )
        )


_MALFORMED = object()  # a timestamp cell that could not be read (already reported)
assert tuple(f for _, f in Order.LOCAL_DATE_FIELDS) == STAGED_COLUMNS[-6:]
assert tuple(m for m, _ in Order.LOCAL_DATE_FIELDS) == ("purchased_at", *OPTIONAL_TIMESTAMP_COLUMNS)


def _line(problem: Problem) -> int:
    return problem.line


def _text_lines(binary: IO[bytes]) -> Iterator[str]:
    """The file's physical lines as text, refusing binary content and anything not UTF-8."""
    for number, raw in enumerate(binary, start=1):
        if number == 1 and raw.startswith(UTF8_BOM):
            raw = raw[len(UTF8_BOM) :]
        if b"\x00" in raw:
            raise _FileProblem(
                Problem(
                    number,
                    None,
                    "this is not a CSV text file (it contains binary data, e.g. a spreadsheet workbook); "
                    "save the orders as CSV UTF-8 (comma-separated) and import that file.",
                )
            )
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _FileProblem(
                Problem(
                    number,
                    None,
                    f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02X} at position {exc.start + 1} of this "
                    "line can't be read); save the file as CSV UTF-8 and import it again.",
                )
            ) from None


def _header_positions(header: list[str], line: int) -> dict[str, int]:
    """Map each column name to its position, or refuse the header with one clear message."""
    names = [name.strip().lower() for name in header]
    known = [name for name in names if name in COLUMNS]
    if not known:
        for separator, label in ((";", "semicolons"), ("\t", "tabs")):
            if any(name in COLUMNS for name in header[0].strip().lower().split(separator)):
                raise _FileProblem(
                    Problem(
                        line,
                        None,
                        f"the columns are separated by {label}, not commas; save the file as CSV "
                        "(comma-separated) and import it again.",
                    )
                )
        raise _FileProblem(
            Problem(
                line,
                None,
                "this is not an order import CSV file: its first line names none of the import's columns; "
                f"the file needs a comma-separated header row such as {','.join(REQUIRED_COLUMNS)}.",
            )
        )
    repeated = sorted({name for name in known if names.count(name) > 1})
    if repeated:
        raise _FileProblem(
            Problem(
                line,
                None,
                f"the header names the column(s) {', '.join(repeated)} more than once; keep one of each.",
            )
        )
    unknown = [name if name else f"(unnamed column {i + 1})" for i, name in enumerate(names) if name not in COLUMNS]
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    parts = []
    if unknown:
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, COLUMNS, n=1)
            hints.append(f"{name} (did you mean {close[0]}?)" if close else name)
        parts.append(f"the header has unknown column(s) {', '.join(hints)}")
    if missing:
        parts.append(f"the header lacks the required column(s) {', '.join(missing)}")
    if parts:
        message = " and ".join(parts)
        if unknown:
            message += f"; the accepted column names are {', '.join(COLUMNS)}."
        else:
            message += f"; add them (the required columns are {', '.join(REQUIRED_COLUMNS)})."
        raise _FileProblem(Problem(line, None, message))
    return {name: i for i, name in enumerate(names)}


def _moment(cell: str, tz) -> dt.datetime:
    """An ISO 8601 timestamp with a UTC offset or Z; ``tz`` only shapes the example in the message."""
    try:
        moment = dt.datetime.fromisoformat(cell)
    except ValueError:
        raise _Invalid(
            f"'{cell}' is not a timestamp; write it as ISO 8601 with a UTC offset or Z, e.g. {TIMESTAMP_EXAMPLE}."
        ) from None
    if moment.tzinfo is None:
        example = moment.replace(tzinfo=tz).isoformat().replace("+00:00", "Z")
        if len(cell) <= 10:
            raise _Invalid(
                f"'{cell}' is a date without a time; write the moment as ISO 8601 with a UTC offset or Z, "
                f"e.g. {example}."
            )
        raise _Invalid(f"'{cell}' has no UTC offset; write it as ISO 8601 with an offset or Z, e.g. {example}.")
    return moment


def _optional_moment(cell: str, column: str, tz, bad: Callable[[str, str], None]) -> object:
    try:
        return _moment(cell, tz)
    except _Invalid as exc:
        bad(column, str(exc))
        return _MALFORMED


def _promise_precedes_purchase(label: str, promised: dt.date, purchase_date: dt.date, seller: _SellerRef) -> str:
    return (
        f"the promised {label} date {promised} is before the purchase date {purchase_date} "
        f"(purchased_at as a date in the seller's time zone, {seller.timezone}); "
        "a promise can't precede the purchase: check the date and purchased_at's UTC offset."
    )


def _date(cell: str, label: str) -> dt.date:
    if not cell:
        raise _Invalid(f"the {label} is empty; write the date as YYYY-MM-DD, e.g. {DATE_EXAMPLE}.")
    # date.fromisoformat also takes 20261104 and week dates; the format is YYYY-MM-DD only.
    if len(cell) == 10 and cell[4] == "-" and cell[7] == "-":
        try:
            return dt.date.fromisoformat(cell)
        except ValueError:
            pass
    raise _Invalid(f"'{cell}' is not a date; write it as YYYY-MM-DD, e.g. {DATE_EXAMPLE}.")


def _duration(delta: dt.timedelta) -> str:
    minutes, seconds = divmod(int(delta.total_seconds()), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [
        f"{n} {unit}{'' if n == 1 else 's'}"
        for n, unit in ((days, "day"), (hours, "hour"), (minutes, "minute"), (seconds, "second"))
        if n
    ]
    return " ".join(parts[:2])


# ---------------------------------------------------------------------------------------
# Staging and merging: the SQL lives here, parameterised by the database vendor.


class _Staging:
    """A temporary table of validated rows, filled by COPY (PostgreSQL) or batched inserts."""

    def __init__(self, cursor):
        self.cursor = cursor
        self.postgres = connection.vendor == "postgresql"
        self.table = "pg_temp.order_import_staging" if self.postgres else "temp.order_import_staging"
        columns = ", ".join(STAGED_COLUMNS)
        cursor.execute(f"DROP TABLE IF EXISTS {self.table}")
        # The order table's own column types; no constraints, the rows are checked already.
        cursor.execute(
            f"CREATE TEMP TABLE order_import_staging {'ON COMMIT DROP ' if self.postgres else ''}"
            f"AS SELECT 0 AS line, {columns} FROM {Order._meta.db_table} WHERE 1 = 0"
        )
        self._staged = ", ".join(("line", *STAGED_COLUMNS))
        if self.postgres:
            # The duplicate check and the merge hash the whole file: let them do it in memory
            # for this transaction (the setting is put back in ``drop``).
            cursor.execute("SELECT current_setting('work_mem'), set_config('work_mem', %s, true)", [WORK_MEM])
            self._work_mem = cursor.fetchone()[0]

    @contextmanager
    def loading(self) -> Iterator[None]:
        """While open, ``write`` stages a row; on PostgreSQL the rows stream through COPY."""
        if self.postgres:
            # Binary COPY: the server converts nothing, and psycopg dumps dates and moments in C.
            self.cursor.execute(
                "SELECT atttypid FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 ORDER BY attnum",
                [self.table],
            )
            types = [oid for (oid,) in self.cursor.fetchall()]
            with self.cursor.cursor.copy(f"COPY {self.table} ({self._staged}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(types)
                self.write = copy.write_row
                yield
            # Temporary tables are never analysed by autovacuum; the merge joins on this one.
            # Its row count and the join key's statistics are all the plans need: analysing
            # every column cost as much as the duplicate check.
            self.cursor.execute(f"ANALYZE {self.table} (seller_id, order_id)")
        else:
            placeholders = ", ".join(["%s"] * (len(STAGED_COLUMNS) + 1))
            insert = f"INSERT INTO {self.table} ({self._staged}) VALUES ({placeholders})"
            adapt = connection.ops.adapt_datetimefield_value
            batch: list[list] = []

            def write(row: tuple) -> None:
                row = list(row)
                for position in MOMENT_POSITIONS:
                    row[position + 1] = adapt(row[position + 1])
                batch.append(row)
                if len(batch) >= STAGING_BATCH:
                    self.cursor.executemany(insert, batch)
                    batch.clear()

            self.write = write
            yield
            if batch:
                self.cursor.executemany(insert, batch)

    def key(self, line: int, seller_id: int, order_id: str) -> None:
        """Stage only an invalid row's key, so duplicates of it are found as well."""
        self.write((line, seller_id, order_id, *([None] * (len(STAGED_COLUMNS) - 2))))

    def duplicates(self, token_of: Callable[[int], str]) -> Iterator[Problem]:
        """SPEC section 6: the same (merchant token, order id) twice in the file, in line order."""
        self.cursor.execute(
            f"""
            SELECT s.line, s.seller_id, s.order_id, d.first_line
            FROM {self.table} s
            JOIN (SELECT seller_id, order_id, MIN(line) AS first_line
                  FROM {self.table} GROUP BY seller_id, order_id HAVING COUNT(*) > 1) d
              ON d.seller_id = s.seller_id AND d.order_id = s.order_id AND s.line > d.first_line
            ORDER BY s.line
            """
        )
        for line, seller_id, order_id, first_line in self.cursor:
            yield Problem(
                line,
                "order_id",
                f"order {order_id} of {token_of(seller_id)} already appears on line {first_line}; each order "
                "may appear only once in a file: keep the row with its latest state.",
            )

    def _changed(self, old: str, new: str) -> str:
        """SQL: some compared column differs between ``old`` and ``new`` (NULLs compare as values)."""
        distinct = "IS DISTINCT FROM" if self.postgres else "IS NOT"
        return " OR ".join(f"{old}.{c} {distinct} {new}.{c}" for c in COMPARED_COLUMNS)

    def merge(self) -> tuple[ImportResult, dict[int, dt.date]]:
        """Count what is new and what changed, then write both with one upsert.

        Returns the counts and, per seller with a new or changed order, the earliest local
        purchase date affected (old or new), from which its Prime orders must be re-decided.
        """
        orders = Order._meta.db_table
        least = "LEAST" if self.postgres else "MIN"
        changed = self._changed("o", "s")
        self.cursor.execute(
            f"""
            SELECT s.seller_id,
                   SUM(CASE WHEN o.id IS NULL THEN 1 ELSE 0 END),
                   SUM(CASE WHEN o.id IS NOT NULL AND ({changed}) THEN 1 ELSE 0 END),
                   COUNT(*),
                   MIN(CASE WHEN o.id IS NULL THEN s.purchase_date
                            WHEN {changed} THEN {least}(s.purchase_date, o.purchase_date) END)
            FROM {self.table} s
            LEFT JOIN {orders} o ON o.seller_id = s.seller_id AND o.order_id = s.order_id
            GROUP BY s.seller_id
            """
        )
        result = ImportResult()
        since_by_seller: dict[int, dt.date] = {}
        for seller_id, created, updated, rows, since in self.cursor.fetchall():
            result.created += created
            result.updated += updated
            result.unchanged += rows - created - updated
            if since is not None:
                since_by_seller[seller_id] = since if isinstance(since, dt.date) else dt.date.fromisoformat(since)
        if not result.created and not result.updated:
            return result, since_by_seller
        columns = ", ".join(STAGED_COLUMNS)
        if result.unchanged:
            # Unchanged rows leave before the upsert, not only by its WHERE: ON CONFLICT locks
            # (writes) every conflicting row, even one its WHERE then leaves alone.
            self.cursor.execute(
                f"""
                DELETE FROM {self.table} AS s
                WHERE EXISTS (SELECT 1 FROM {orders} o
                              WHERE o.seller_id = s.seller_id AND o.order_id = s.order_id AND NOT ({changed}))
                """
            )
        true = "TRUE" if self.postgres else "1"
        updates = ", ".join(f"{c} = excluded.{c}" for c in (*COMPARED_COLUMNS, "updated_at"))
        # "WHERE 1 = 1" lets SQLite tell the upsert's ON CONFLICT from a join constraint.
        self.cursor.execute(
            f"""
            INSERT INTO {orders} ({columns}, is_prime, updated_at)
            SELECT {columns}, {true}, %s FROM {self.table} WHERE 1 = 1
            ON CONFLICT (seller_id, order_id) DO UPDATE SET {updates}
            WHERE {self._changed(orders, "excluded")}
            """,
            [connection.ops.adapt_datetimefield_value(timezone.now())],
        )
        return result, since_by_seller

    def drop(self) -> None:
        self.cursor.execute(f"DROP TABLE IF EXISTS {self.table}")
        if self.postgres:
            self.cursor.execute("SELECT set_config('work_mem', %s, true)", [self._work_mem])
