"""The defect report as CSV (SPEC section 5), written by the database and streamed.

The database writes each CSV line (``metrics.sql.csv_lines``): the cells formatted and quoted as
Python's ``csv.writer`` would (``QUOTE_MINIMAL``, ``\\r\\n``), text cells that a spreadsheet
would run as a formula escaped (``escape_cell``), flags as ``X``. Python only passes the
lines on: a server-side cursor fetches ``FETCH_ROWS`` lines at a time and each
batch leaves as one chunk of the response, so serving a report of a million rows takes as
much memory as one of a hundred, and barely more time than ``COPY ... TO STDOUT``.
The rows and flags are decided in the database too (``defect_report_values``).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator, Sequence

from django.db.models import F, QuerySet
from psycopg import sql

from metrics import sql as statements
from metrics.definitions import REPORT_FLAGS
from metrics.selectors import DELIVERY_AS_OF_D, FIRST_SCAN_AS_OF_D, REPORT_VALUE_FIELDS, defect_report_values
from metrics.sql import DATE, FLAG, NUMBER, TEXT
from portal.routers import read_connection
from sellers.models import Order, Seller

# The columns that describe an order (SPEC section 5), before the report's flag columns;
# the orders-behind-a-metric download shares them.
ORDER_COLUMNS: tuple[str, ...] = (
    "order_id",
    "purchase_date",
    "units",
    "promised_ship_date",
    "first_scan_date",
    "promised_delivery_date",
    "delivery_date",
    "carrier",
    "tracking_id",
)
HEADER: tuple[str, ...] = (*ORDER_COLUMNS, *(label for label, _rule, _py in REPORT_FLAGS.values()))

# Lines fetched from the database cursor at a time; each batch is one chunk of the response.
# It bounds the memory of a download, whatever its size.
FETCH_ROWS = 2000

# A spreadsheet reads a cell starting with one of these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# csv.writer (QUOTE_MINIMAL) quotes a cell holding one of these.
QUOTED_CHARACTERS = (",", '"', "\r", "\n")
LINE_END = "\r\n"

# The kind of every field the downloads write (``ORDER_VALUE_FIELDS``, the report's flags,
# the population's ``is_defect``).
CELL_KINDS: dict[str, str] = {
    "order_id": TEXT,
    "purchase_date": DATE,
    "units": NUMBER,
    "promised_ship_date": DATE,
    FIRST_SCAN_AS_OF_D: DATE,
    "promised_delivery_date": DATE,
    DELIVERY_AS_OF_D: DATE,
    "carrier": TEXT,
    "tracking_id": TEXT,
    "is_defect": FLAG,
    **dict.fromkeys(REPORT_FLAGS, FLAG),
}


def escape_cell(text: str) -> str:
    """A text cell a spreadsheet shows as text: a leading formula character is quoted with
    an apostrophe, which spreadsheets take as "this is text" and do not display."""
    return f"'{text}" if text.startswith(FORMULA_PREFIXES) else text


def _ordering_names(rows: QuerySet) -> list[str]:
    """The field names ``rows`` are ordered by, e.g. ["purchased_at", "order_id"]."""
    names = []
    for name in rows.query.order_by:
        if not isinstance(name, str):
            raise TypeError(f"CSV rows are ordered by field names (a leading - for descending), not by {name!r}.")
        names.append(name)
    return names


def csv_lines_sql(rows: QuerySet, fields: Sequence[str]) -> tuple[sql.Composed, tuple]:
    """The statement (and its parameters) selecting one column: each row of ``rows`` as its
    CSV line, in the order of ``rows``; a cell per name of ``fields`` (model fields or
    annotations of ``rows``), written as its ``CELL_KINDS`` says."""
    ordering = _ordering_names(rows)
    sort_keys = {f"_csv_sort_{i}": F(name.lstrip("-")) for i, name in enumerate(ordering)}
    inner = rows.annotate(**sort_keys).values_list(*fields, *sort_keys).order_by()
    query, params = inner.query.sql_with_params()
    statement = statements.csv_lines(
        query,
        [(name, CELL_KINDS[name]) for name in fields],
        [(key, name.startswith("-")) for key, name in zip(sort_keys, ordering, strict=True)],
        formula_prefixes=FORMULA_PREFIXES,
        quoted=QUOTED_CHARACTERS,
        line_end=LINE_END,
    )
    return statement, params


class _Echo:
    """The header line, written by csv.writer itself."""

    def write(self, text: str) -> str:
        return text

    def line(self, cells: Sequence[str]) -> str:
        return csv.writer(self, lineterminator=LINE_END).writerow(cells)


def fetch_batches(cursor) -> Iterator[list[tuple]]:
    """The cursor's rows, ``FETCH_ROWS`` at a time."""
    while batch := cursor.fetchmany(FETCH_ROWS):
        yield batch


def csv_chunks(rows: QuerySet, fields: Sequence[str], *, header: Sequence[str]) -> Iterator[str]:
    """The header, then the rows of ``rows`` as CSV lines (``csv_lines_sql``), streamed from
    a server-side cursor a batch of ``FETCH_ROWS`` lines per chunk."""
    yield _Echo().line(header)
    statement, params = csv_lines_sql(rows, fields)
    with read_connection(Order).chunked_cursor() as cursor:
        cursor.execute(statement, params)
        for batch in fetch_batches(cursor):
            yield "".join([line for (line,) in batch])


def defect_report_chunks(*, seller: Seller, day: dt.date, window_days: int) -> Iterator[str]:
    """The seller's defect report for the window ending on D, streamed."""
    rows = defect_report_values(seller=seller, day=day, window_days=window_days)
    return csv_chunks(rows, REPORT_VALUE_FIELDS, header=HEADER)


def report_filename(*, seller: Seller, day: dt.date, window_days: int) -> str:
    """Names the seller, window and D, e.g. ``defects-NWHOME01-30d-2026-11-20.csv``."""
    return f"defects-{seller.merchant_token}-{window_days}d-{day.isoformat()}.csv"
