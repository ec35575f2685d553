"""The defect report as CSV (SPEC section 5), streamed.

Rows come from a server-side cursor (``QuerySet.iterator``) a chunk at a time and leave as
text a chunk at a time, so serving a report of a million rows takes as much memory as one
of a hundred. The rows and flags are decided in the database (``defect_report_values``);
here they are only written out.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence

from metrics.definitions import REPORT_FLAGS
from metrics.selectors import REPORT_VALUE_FIELDS, defect_report_values
from sellers.models import Seller

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

# Rows fetched from the database cursor at a time, and rows written per chunk of the
# response: both bound the memory of a download, whatever its size.
FETCH_ROWS = 2000
ROWS_PER_CHUNK = 500

# A spreadsheet reads a cell starting with one of these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(text: str) -> str:
    """A text cell a spreadsheet shows as text: a leading formula character is quoted with
    an apostrophe, which spreadsheets take as "this is text" and do not display."""
    return f"'{text}" if text.startswith(FORMULA_PREFIXES) else text


def _flag(value: bool) -> str:
    return "X" if value else ""


def _as_is(value):
    # csv.writer writes None as an empty cell, a date as its ISO form, a number as digits.
    return value


# How each column of ``REPORT_VALUE_FIELDS`` becomes a cell, decided once, not per row.
_CELL_FORMATS = tuple(
    escape_cell if name in {"order_id", "carrier", "tracking_id"} else _flag if name in REPORT_FLAGS else _as_is
    for name in REPORT_VALUE_FIELDS
)


def report_cells(values: tuple) -> list:
    """One report row as CSV cells: ISO dates (empty when absent), ``X`` for a flag,
    escaped text."""
    return [cell(value) for cell, value in zip(_CELL_FORMATS, values, strict=True)]


class _Echo:
    """A file that hands back what is written, so csv.writer formats one line at a time."""

    def write(self, text: str) -> str:
        return text


def csv_chunks(
    rows: Iterable[tuple], *, header: Sequence[str] = HEADER, cells: Callable[[tuple], list] = report_cells
) -> Iterator[str]:
    """The header, then the rows as CSV text in chunks of ``ROWS_PER_CHUNK`` lines; ``cells``
    turns one database row into its CSV cells (the defect report's by default)."""
    writer = csv.writer(_Echo(), lineterminator="\r\n")
    yield writer.writerow(header)
    chunk: list[str] = []
    for row in rows:
        chunk.append(writer.writerow(cells(row)))
        if len(chunk) >= ROWS_PER_CHUNK:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)


def defect_report_chunks(*, seller: Seller, day: dt.date, window_days: int) -> Iterator[str]:
    """The seller's defect report for the window ending on D, streamed from a server-side
    cursor (PostgreSQL declares a named cursor for ``iterator``)."""
    rows = defect_report_values(seller=seller, day=day, window_days=window_days).iterator(chunk_size=FETCH_ROWS)
    return csv_chunks(rows)


def report_filename(*, seller: Seller, day: dt.date, window_days: int) -> str:
    """Names the seller, window and D, e.g. ``defects-NWHOME01-30d-2026-11-20.csv``."""
    return f"defects-{seller.merchant_token}-{window_days}d-{day.isoformat()}.csv"
