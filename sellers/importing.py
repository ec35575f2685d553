"""The order import (SPEC sections 6 and 9): validate a whole batch of orders, then write it
in one statement; a CSV file (``orders_import``) and the feed API's JSON (``feed``) are the
same path (``orders_write``).

The file is read once, as a stream. Each record's cells are converted to one order's values
(``OrderValues``), which ``order_problems`` judges against every rule of the import format:
that function knows nothing of files or line numbers, so whatever else brings orders (the
JSON API) applies the same rules through ``OrderBatch.judge``; the CSV layer only adds the
line (the API, the item's index). A valid record becomes the order's column values
(``order_columns``: local dates in the seller's time zone) streamed into a temporary staging
table by binary COPY. When the whole batch is valid, the carrier events known for its orders
(``TrackingEvent``, pending ones included) are applied to the staged rows under the same
rules (``with_carrier_events``), and one ``INSERT ... ON CONFLICT DO UPDATE ... WHERE
<something changed>`` merges the staging table into ``sellers_order``, so importing the same
file again touches nothing (the statements are ``sellers.sql``'s).
Any problem and nothing is written: the transaction rolls back and ``ImportRejected`` lists
every problem. A failure of the database ends in ``ImportFailed``, one sentence, with
nothing written either.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import enum
import heapq
import os
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from operator import itemgetter
from pathlib import Path
from typing import IO, NamedTuple, NoReturn, Protocol
from zoneinfo import ZoneInfo

from django.db import Error as DatabaseFailure
from django.db import IntegrityError, connection, transaction
from django.db.models import CharField
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from portal.bounds import EARLIEST_DATE
from sellers import sql as statements
from sellers.choices import SHIP_TO_CODES, CancelledBy, TrackingEventKind
from sellers.models import ORDER_UNITS_MAX, Order, Seller, local_date, zone
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


def _max_length(name: str) -> int:
    """The most characters the order's text field ``name`` holds."""
    field = Order._meta.get_field(name)
    if not isinstance(field, CharField) or field.max_length is None:
        raise TypeError(f"Order.{name} is not a text field with a maximum length.")
    return field.max_length


ORDER_ID_MAX = _max_length("order_id")
CARRIER_MAX = _max_length("carrier")
TRACKING_ID_MAX = _max_length("tracking_id")
# An order has 1 to 10,000 units (SPEC section 6), defined with the model.
UNITS_MAX = ORDER_UNITS_MAX
# An event may be stamped at most this long after the import's moment (clocks drift a little).
FUTURE_TOLERANCE = dt.timedelta(minutes=5)
# No order's moment is earlier (portal.bounds): an earlier one is a typing mistake, and near
# year 1 a moment has no local date in a zone west of UTC.
EARLIEST_MOMENT = dt.datetime.combine(EARLIEST_DATE, dt.time(), tzinfo=dt.UTC)
# Nor later than the calendar's last year, in which a local date may not exist either (the
# rule against future events refuses far earlier ones, but needs the moment first).
LAST_MOMENT = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)
# Beyond this many, problems are counted rather than listed: nobody reads a million lines.
MAX_LISTED_PROBLEMS = 1000

TIMESTAMP_EXAMPLE = "2026-11-02T09:15:00-08:00"
DATE_EXAMPLE = "2026-11-04"
UTF8_BOM = b"\xef\xbb\xbf"
SNIFF_BYTES = 4096  # the start of the file, read ahead to recognise UTF-16 and old Mac line endings

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
# The staged columns that hold the order's own values (``OrderValues``, its seller as its
# id), without the local dates derived from them.
STAGED_VALUE_COLUMNS = STAGED_COLUMNS[: -len(Order.LOCAL_DATE_FIELDS)]
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
    # Per staged position (a file's line, an API item's index): "created", "updated" or
    # "unchanged"; filled only when ``orders_write`` is asked for it.
    statuses: dict[int, str] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return self.created + self.updated + self.unchanged


class ImportFailed(Exception):
    """The database failed during the import; nothing was imported. Its text is one sentence."""


def orders_import(*, path: str | os.PathLike, progress: Progress | None = None) -> ImportResult:
    """Import an order file (SPEC section 6): all of it, or nothing and every problem.

    Raises ``ImportRejected`` listing the problems (``line N, column C: ...``), and
    ``ImportFailed`` when the database fails (a lost connection, a lock held by a concurrent
    change). ``progress``, if given, is called now and then with (bytes read, file size).
    The moment of the import, which no event may follow by more than 5 minutes, is read once
    here: it is also the ``updated_at`` of every order the import writes.
    """
    path = Path(path)
    total_bytes = path.stat().st_size
    now = timezone.now()
    try:
        return _orders_import_direct(path, total_bytes, now, progress)
    except _NotDirect:
        pass  # rolled back: nothing of it is left
    with path.open("rb") as binary:
        return orders_write(read=lambda batch: batch.read(binary, total_bytes, progress), now=now)


class _NotDirect(Exception):
    """The file's orders can't go straight into the orders table: the import takes the
    staging table (``orders_write``)."""


def _orders_import_direct(path: Path, total_bytes: int, now: dt.datetime, progress: Progress | None) -> ImportResult:
    """The import of a file of new orders, the usual daily file, in one pass: each order is
    read, judged (``OrderBatch``, the same rules) and copied straight into the orders table
    while the file is read, so the server writes the orders and their indexes on one CPU
    while Python reads the file on another; with a staging table the two came one after the
    other. It holds only when every row is valid, no order of the file is stored already or
    appears twice (the orders' unique index refuses the copy) and no carrier event names one
    of them; otherwise it is rolled back (``_NotDirect``) and the file is read again through
    the staging table, which words every problem and merges what exists. Then the orders
    that exist cost one extra reading of the file. Serialised with every other writer of
    orders by the merge lock, taken before the first order is written."""
    try:
        return _orders_import_direct_write(path, total_bytes, now, progress)
    except IntegrityError as exc:
        if sqlstate(exc) == UNIQUE_VIOLATION:
            raise _NotDirect from exc
        raise ImportFailed(database_failure(exc)) from exc
    except DatabaseFailure as exc:
        raise ImportFailed(database_failure(exc)) from exc


@transaction.atomic
def _orders_import_direct_write(
    path: Path, total_bytes: int, now: dt.datetime, progress: Progress | None
) -> ImportResult:
    with connection.cursor() as cursor:
        batch = OrderBatch(_NoStage(), now)
        batch.load_sellers()
        if _starts_with_known_orders(path, batch):
            raise _NotDirect
        cursor.execute(statements.merge_lock())
        cursor.execute(statements.orders_column_types((*STAGED_COLUMNS, "is_prime", "updated_at")))
        types = [oid for (oid,) in cursor.fetchall()]
        with (
            path.open("rb") as binary,
            connection.wrap_database_errors,
            cursor.cursor.copy(statements.orders_copy(STAGED_COLUMNS)) as copy,
        ):
            copy.set_types(types)
            orders = batch.staging = _DirectCopy(copy.write_row, now)
            try:
                batch.read(binary, total_bytes, progress)
            except _FileProblem:
                raise _NotDirect from None
            if batch.problems:
                raise _NotDirect
        cursor.execute(statements.tracking_events_exist())
        if cursor.fetchone()[0] is not None:
            cursor.execute(statements.orders_stamped_with_carrier_events(), {"now": now})
            if cursor.fetchone() is not None:
                raise _NotDirect
    _classify_prime_since(orders.since)
    return ImportResult(created=orders.rows)


# How many of a file's first records are looked up before it is copied straight into the
# orders: a file that sends orders again (their progress) usually does so from its start.
KNOWN_ORDERS_PEEK = 500


def _starts_with_known_orders(path: Path, batch: OrderBatch) -> bool:
    """Whether one of the file's first ``KNOWN_ORDERS_PEEK`` records names a stored order (or
    the file's start can't be read as orders: the staging table's reading says why). Such a
    file would only fail its direct copy after being read whole: it goes the staging way at
    once. One indexed query; a file whose known orders come later pays a second reading."""
    keys: list[tuple[int, str]] = []
    with path.open("rb") as binary:
        try:
            reader = csv.reader(_text_lines(binary), strict=True)
            header = next(reader)
            if not any(cell.strip() for cell in header):
                return True  # blank lines before the header, or none at all
            positions = _header_positions(header, 1)
            token_at, order_id_at = positions["merchant_token"], positions["order_id"]
            for cells in islice(reader, KNOWN_ORDERS_PEEK):
                seller = batch.seller(cells[token_at].strip()) if len(cells) == len(header) else None
                if seller is not None:
                    keys.append((seller.id, cells[order_id_at].strip()))
        except (StopIteration, csv.Error, _FileProblem):
            return True
    if not keys:
        return False
    seller_ids, order_ids = zip(*keys, strict=True)
    with connection.cursor() as cursor:
        cursor.execute(statements.orders_any_known(), {"sellers": list(seller_ids), "order_ids": list(order_ids)})
        return cursor.fetchone() is not None


class _Stage(Protocol):
    """Where ``OrderBatch.judge`` puts each order: a valid one's position and columns
    (``write``), an invalid one's key (``key``)."""

    def write(self, row: tuple) -> None: ...

    def key(self, line: int, seller_id: int, order_id: str) -> None: ...


class _NoStage:
    """No order is put anywhere yet (``_orders_import_direct`` reads the sellers first)."""

    def write(self, row: tuple) -> None:
        raise RuntimeError("An order was judged before the import knew where to put it.")

    def key(self, line: int, seller_id: int, order_id: str) -> None:
        raise RuntimeError("An order was judged before the import knew where to put it.")


# A staged row's purchase date: after its position, in STAGED_COLUMNS.
_PURCHASE_DATE = 1 + STAGED_COLUMNS.index("purchase_date")


class _DirectCopy:
    """Valid orders straight into the orders table's COPY (``_orders_import_direct``), as
    Prime orders stamped ``now``, counting them and each seller's earliest purchase date."""

    def __init__(self, write_row: Callable[[tuple], None], now: dt.datetime):
        self._write_row = write_row
        self._now = now
        self.rows = 0
        self.since: dict[int, dt.date] = {}

    def write(self, row: tuple) -> None:
        self._write_row((*row[1:], True, self._now))
        self.rows += 1
        seller_id, purchase_date = row[1], row[_PURCHASE_DATE]
        since = self.since.get(seller_id)
        if since is None or purchase_date < since:
            self.since[seller_id] = purchase_date

    def key(self, line: int, seller_id: int, order_id: str) -> None:
        """A row with a problem: the import takes the staging table, which reports it."""


def orders_write(*, read: Callable[[OrderBatch], None], now: dt.datetime, item_statuses: bool = False) -> ImportResult:
    """Validate and write a batch of orders from any source, all of it or nothing: the file
    import and the feed API (SPEC sections 6 and 9) are this one path.

    ``read(batch)`` converts the source's records and hands each order to ``batch.judge``
    with its position (a file's line, an item's index), which applies every rule and stages
    the valid ones. Then the duplicates are found, the carrier events known for the staged
    orders (``TrackingEvent``, pending ones included) are applied under the same rules, and
    one upsert writes what is new or changed, stamped ``now``. ``item_statuses`` asks for
    each position's outcome in ``ImportResult.statuses``. Raises ``ImportRejected`` with
    every problem (by position) and ``ImportFailed`` when the database fails.
    """
    try:
        return _orders_write(read, now, item_statuses)
    except DatabaseFailure as exc:
        # The transaction is rolled back (or died with its connection): nothing was written.
        raise ImportFailed(database_failure(exc)) from exc


@transaction.atomic
def _orders_write(read: Callable[[OrderBatch], None], now: dt.datetime, item_statuses: bool) -> ImportResult:
    with connection.cursor() as cursor:
        staging = _Staging(cursor)
        batch = OrderBatch(staging, now)
        batch.load_sellers()
        try:
            with staging.loading():
                read(batch)
        except _FileProblem as exc:
            raise ImportRejected([exc.problem]) from None
        # From here to the commit, writes of orders and carrier events wait for this one.
        staging.lock()
        events = staging.carrier_events(batch)
        if batch.problems or events.problems:
            _reject(batch.problems, staging.duplicates(batch), events.problems, unlisted=batch.unlisted)
        staging.carrier_events_apply(events, now)
        # Duplicates, the last rule, are looked for only when the insert of the new orders
        # meets a key twice: a file of new orders, inserted whole, has none (``merge``).
        result, since_by_seller = staging.merge(now, item_statuses=item_statuses, batch=batch)
        staging.drop()
    _classify_prime_since(since_by_seller)
    return result


def _classify_prime_since(since_by_seller: dict[int, dt.date]) -> None:
    """Re-decide the Prime orders of each seller an import wrote orders of, from the earliest
    local purchase date it affected: one call per distinct date, sellers grouped."""
    by_since: dict[dt.date, list[int]] = defaultdict(list)
    for seller_id, since in since_by_seller.items():
        by_since[since].append(seller_id)
    for since, seller_ids in sorted(by_since.items()):
        orders_classify_prime(seller_ids=seller_ids, since=since)


def _reject(*problems: Iterable[Problem], unlisted: int = 0) -> NoReturn:
    """Refuse the batch with its problems (each iterable in position order), the first
    ``MAX_LISTED_PROBLEMS`` listed, the rest counted with ``unlisted``."""
    merged = heapq.merge(*problems, key=_line)
    listed = list(islice(merged, MAX_LISTED_PROBLEMS))
    raise ImportRejected(listed, unlisted=sum(1 for _ in merged) + unlisted)


# ---------------------------------------------------------------------------------------
# One order's values and the rules they obey: the same for every way orders arrive.


@dataclass(frozen=True)
class SellerRef:
    """What the rules and the staging need of a seller, read once before the orders."""

    id: int
    merchant_token: str
    timezone: str
    zone: ZoneInfo


class OrderValues(NamedTuple):
    """One order's values, converted from the import format's cells (or a JSON document).

    Field names are the import's column names (``COLUMNS``). A value is ``None`` when the
    cell is empty (the event has not happened), and also when it could not be converted: the
    converter then reported it and names the field in ``order_problems``'s ``malformed``.
    Moments are aware datetimes (the file's converter gives them in UTC, which compares
    fastest); codes are normalised: ``ship_to_state`` upper case, ``cancelled_by`` lower case.
    """

    order_id: str
    merchant_token: str
    purchased_at: dt.datetime | None
    units: int | None
    promised_ship_date: dt.date | None
    promised_delivery_date: dt.date | None
    first_scan_at: dt.datetime | None
    ship_confirmed_at: dt.datetime | None
    delivered_at: dt.datetime | None
    buy_shipping: bool | None
    carrier: str
    tracking_id: str
    ship_to_state: str
    cancelled_at: dt.datetime | None
    cancelled_by: str
    cancel_requested_at: dt.datetime | None


assert OrderValues._fields == COLUMNS
# A staged row's values read back as an order (``_Staging.carrier_events``): one per field.
assert len(STAGED_VALUE_COLUMNS) == len(OrderValues._fields)

_NO_FIELDS: frozenset[str] = frozenset()


def seller_ref(seller: Seller) -> SellerRef:
    return SellerRef(seller.pk, seller.merchant_token, seller.timezone, seller.zone)


def order_values_of(order: Order) -> OrderValues:
    """A stored order's values, for the rules (the admin's edit, a carrier event's arrival)."""
    return OrderValues(
        order_id=order.order_id,
        merchant_token=order.seller.merchant_token,
        purchased_at=order.purchased_at,
        units=order.units,
        promised_ship_date=order.promised_ship_date,
        promised_delivery_date=order.promised_delivery_date,
        first_scan_at=order.first_scan_at,
        ship_confirmed_at=order.ship_confirmed_at,
        delivered_at=order.delivered_at,
        buy_shipping=order.buy_shipping,
        carrier=order.carrier,
        tracking_id=order.tracking_id,
        ship_to_state=order.ship_to_state,
        cancelled_at=order.cancelled_at,
        cancelled_by=order.cancelled_by,
        cancel_requested_at=order.cancel_requested_at,
    )


def seller_of(sellers: dict[str, SellerRef], merchant_token: str) -> SellerRef | None:
    """The seller a merchant token names, in any case (tokens are stored upper case)."""
    return sellers.get(merchant_token) or sellers.get(merchant_token.upper())


def order_problems(
    order: OrderValues,
    *,
    seller: SellerRef | None,
    now: dt.datetime,
    malformed: Collection[str] = _NO_FIELDS,
) -> list[tuple[str, str]]:
    """Every rule of SPEC section 6 on one order's values: its problems as (field, message).

    ``seller`` is the seller ``order.merchant_token`` names (``None``: no such seller); ``now``
    the moment of the import; ``malformed`` the fields whose value could not be converted:
    already reported, they are ``None`` in ``order`` but count as given (a malformed
    ``cancelled_at`` is still a cancellation). Only the duplicate rule, which compares orders,
    is not here. The hot path of a million-row import: a valid order costs few operations.
    """
    problems: list[tuple[str, str]] = []
    bad = problems.append
    (
        order_id,
        token,
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
    ) = order

    # Required values (and what each may be).
    if not order_id:
        bad(("order_id", "the order id is empty; every row needs the marketplace's order id."))
    elif len(order_id) > ORDER_ID_MAX:
        bad(
            (
                "order_id",
                f"the order id is {len(order_id)} characters long; an order id has at most {ORDER_ID_MAX} characters.",
            )
        )
    if seller is None:
        if token:
            bad(
                (
                    "merchant_token",
                    f"no seller has the merchant token '{token}'; "
                    "check it against the token shown in your portal settings.",
                )
            )
        else:
            bad(
                (
                    "merchant_token",
                    "the merchant token is empty; write the token of the seller the order belongs to, e.g. A1B2C3D4.",
                )
            )
    if purchased_at is None and "purchased_at" not in malformed:
        bad(
            (
                "purchased_at",
                "the purchase time is empty; write when the customer placed the order, "
                f"as ISO 8601 with a UTC offset or Z, e.g. {TIMESTAMP_EXAMPLE}.",
            )
        )
    if units is None:
        if "units" not in malformed:
            bad(("units", "the number of units is empty; write how many items the order has, e.g. 1."))
    elif not 1 <= units <= UNITS_MAX:
        bad(
            (
                "units",
                _(
                    "%(units)s is not a number of units: an order has from 1 to %(maximum)s units; "
                    "write how many items it has, e.g. 2."
                )
                % {"units": units, "maximum": number_format(UNITS_MAX, force_grouping=True)},
            )
        )
    if promised_ship_date is None and "promised_ship_date" not in malformed:
        bad(
            (
                "promised_ship_date",
                f"the promised ship date is empty; write the date as YYYY-MM-DD, e.g. {DATE_EXAMPLE}.",
            )
        )
    if promised_delivery_date is None and "promised_delivery_date" not in malformed:
        bad(
            (
                "promised_delivery_date",
                f"the promised delivery date is empty; write the date as YYYY-MM-DD, e.g. {DATE_EXAMPLE}.",
            )
        )
    if buy_shipping is None and "buy_shipping" not in malformed:
        bad(
            (
                "buy_shipping",
                "buy_shipping is empty; write true if the label was bought through Buy Shipping, else false.",
            )
        )
    if len(carrier) > CARRIER_MAX:
        bad(("carrier", f"the carrier is {len(carrier)} characters long; write at most {CARRIER_MAX} characters."))
    if len(tracking_id) > TRACKING_ID_MAX:
        bad(
            (
                "tracking_id",
                f"the tracking id is {len(tracking_id)} characters long; write at most {TRACKING_ID_MAX} characters.",
            )
        )
    if state and state not in SHIP_TO_CODES:
        bad(
            (
                "ship_to_state",
                f"'{state}' is not a two-letter US state or territory code; write the code, e.g. CA or NY.",
            )
        )
    if cancelled_by and cancelled_by not in CANCELLERS:
        bad(
            (
                "cancelled_by",
                f"'{cancelled_by}' is not who cancelled; write seller or customer, "
                "or leave it empty when the order was not cancelled.",
            )
        )

    # What the order's history can be (on what was given, even if malformed).
    cancelled = cancelled_at is not None or "cancelled_at" in malformed
    scanned = first_scan_at is not None or "first_scan_at" in malformed
    if cancelled or cancelled_by:
        if not cancelled_by:
            bad(
                (
                    "cancelled_by",
                    "the order has a cancellation time but cancelled_by is empty; write seller or customer, "
                    "or clear cancelled_at if the order was not cancelled.",
                )
            )
        elif not cancelled:
            bad(
                (
                    "cancelled_at",
                    f"cancelled_by is '{cancelled_by}' but cancelled_at is empty; write when the order "
                    "was cancelled, or clear cancelled_by if it was not.",
                )
            )
        elif (
            cancelled_by == CUSTOMER
            and purchased_at is not None
            and cancelled_at is not None
            and cancelled_at - purchased_at > CUSTOMER_CANCEL_WINDOW
        ):
            bad(
                (
                    "cancelled_by",
                    f"the customer cancelled {_duration(cancelled_at - purchased_at)} after the purchase, but "
                    "customers can cancel by themselves only within 30 minutes; a later cancellation is the "
                    "seller's: write seller (and the customer's request time in cancel_requested_at, if they "
                    "asked for it).",
                )
            )
        if cancelled and scanned:
            bad(
                (
                    "first_scan_at",
                    "the order is cancelled but has a first carrier scan; a cancelled order never shipped: "
                    "clear first_scan_at, or clear cancelled_at and cancelled_by if the order did ship.",
                )
            )
        # The programme counts a seller's cancellations before ship confirmation (SPEC section 6).
        if cancelled and (confirmed_at is not None or "ship_confirmed_at" in malformed):
            bad(
                (
                    "ship_confirmed_at",
                    _(
                        "the order is cancelled but its shipment was confirmed; a confirmed order can no longer be "
                        "cancelled: clear ship_confirmed_at, or clear cancelled_at and cancelled_by if the order "
                        "did ship."
                    ),
                )
            )
    if (delivered_at is not None or "delivered_at" in malformed) and not scanned:
        bad(
            (
                "delivered_at",
                "the order was delivered but has no first carrier scan; write the carrier's first scan "
                "in first_scan_at, or clear delivered_at if it was not delivered.",
            )
        )

    # When things happened: not after the import (SPEC section 6: clocks may differ by 5
    # minutes), and in their order.
    latest = now + FUTURE_TOLERANCE
    if purchased_at is not None and purchased_at > latest:
        bad(("purchased_at", in_the_future(purchased_at, now)))
    if first_scan_at is not None:
        if first_scan_at > latest:
            bad(("first_scan_at", in_the_future(first_scan_at, now)))
        if purchased_at is not None and first_scan_at < purchased_at:
            bad(("first_scan_at", _before_purchase(_("the first carrier scan"), first_scan_at, purchased_at)))
    if confirmed_at is not None:
        if confirmed_at > latest:
            bad(("ship_confirmed_at", in_the_future(confirmed_at, now)))
        if purchased_at is not None and confirmed_at < purchased_at:
            bad(
                (
                    "ship_confirmed_at",
                    _before_purchase(_("the ship confirmation"), confirmed_at, purchased_at),
                )
            )
    if delivered_at is not None:
        if delivered_at > latest:
            bad(("delivered_at", in_the_future(delivered_at, now)))
        if first_scan_at is not None and delivered_at < first_scan_at:
            bad(
                (
                    "delivered_at",
                    _(
                        "the delivery (%(delivered)s) is before the first carrier scan (%(scanned)s); a parcel is "
                        "delivered after the carrier first scans it: check both timestamps and their UTC offsets."
                    )
                    % {"delivered": _shown(delivered_at), "scanned": _shown(first_scan_at)},
                )
            )
    if cancelled_at is not None:
        if cancelled_at > latest:
            bad(("cancelled_at", in_the_future(cancelled_at, now)))
        if purchased_at is not None and cancelled_at < purchased_at:
            bad(("cancelled_at", _before_purchase(_("the cancellation"), cancelled_at, purchased_at)))
    if requested_at is not None:
        if requested_at > latest:
            bad(("cancel_requested_at", in_the_future(requested_at, now)))
        if purchased_at is not None and requested_at < purchased_at:
            bad(
                (
                    "cancel_requested_at",
                    _before_purchase(_("the cancellation request"), requested_at, purchased_at),
                )
            )

    # The promises: made at the purchase, for its local date or later, delivery after shipping.
    purchase_date = hour_local_date(purchased_at, seller.zone) if purchased_at is not None and seller else None
    # A purchase date implies a seller; checking it too narrows its type.
    if (
        promised_ship_date is not None
        and purchase_date is not None
        and seller is not None
        and promised_ship_date < purchase_date
    ):
        bad(
            (
                "promised_ship_date",
                _promise_precedes_purchase("ship", promised_ship_date, purchase_date, seller),
            )
        )
    if promised_delivery_date is not None:
        if purchase_date is not None and seller is not None and promised_delivery_date < purchase_date:
            bad(
                (
                    "promised_delivery_date",
                    _promise_precedes_purchase("delivery", promised_delivery_date, purchase_date, seller),
                )
            )
        elif promised_ship_date is not None and promised_delivery_date < promised_ship_date:
            bad(
                (
                    "promised_delivery_date",
                    _(
                        "the promised delivery date %(delivery)s is before the promised ship date %(ship)s; an "
                        "order can't be delivered before it ships: check both dates."
                    )
                    % {"delivery": promised_delivery_date, "ship": promised_ship_date},
                )
            )
    return problems


def with_carrier_events(
    order: OrderValues, *, first_scans: Iterable[dt.datetime], deliveries: Iterable[dt.datetime]
) -> OrderValues:
    """The order with its carrier's tracking events applied (SPEC section 9): its first scan
    is the earliest of its own and its first-scan events', its delivery the earliest delivery
    event (else its own). The one definition, for orders arriving after their events
    (``orders_write``) and events arriving after their orders (``sellers.tracking``); the
    result must still pass ``order_problems``."""
    first_scan_at = min((*first_scans, *((order.first_scan_at,) if order.first_scan_at else ())), default=None)
    delivered_at = min(deliveries, default=None) or order.delivered_at
    if first_scan_at == order.first_scan_at and delivered_at == order.delivered_at:
        return order
    return order._replace(first_scan_at=first_scan_at, delivered_at=delivered_at)


# The UTC offset of each (zone, UTC date, UTC hour) an import has met, or None when the
# offset changes within that hour (a transition); bounded, as imports come and go.
_HOUR_OFFSETS: dict[tuple[dt.tzinfo, int, int], dt.timedelta | None] = {}
_HOUR_OFFSETS_MAX = 100_000
_HOUR_LAST_MICROSECOND = dt.timedelta(hours=1, microseconds=-1)


def hour_local_date(moment: dt.datetime, tz: dt.tzinfo) -> dt.date:
    """``local_date`` (the moment's date in the zone) for the import's hot path: a zone's
    offset is looked up once per UTC hour that a batch's moments fall in, where each
    conversion costs a lookup in the zone's transitions. The offset is used only when it is
    the same at the hour's first and last microsecond (zones change offset at most once in
    an hour); an hour with a transition, or a moment not in UTC, is converted as
    ``local_date`` converts it. tests/sellers/test_import_local_dates.py holds the two equal
    around every transition of every zone."""
    if moment.tzinfo is not dt.UTC:
        return local_date(moment, tz)
    key = (tz, moment.toordinal(), moment.hour)
    try:
        offset = _HOUR_OFFSETS[key]
    except KeyError:
        start = moment.replace(minute=0, second=0, microsecond=0)
        first = start.astimezone(tz).utcoffset()
        offset = first if first == (start + _HOUR_LAST_MICROSECOND).astimezone(tz).utcoffset() else None
        if len(_HOUR_OFFSETS) >= _HOUR_OFFSETS_MAX:
            _HOUR_OFFSETS.clear()
        _HOUR_OFFSETS[key] = offset
    if offset is None:
        return local_date(moment, tz)
    return (moment + offset).date()


def order_columns(order: OrderValues, seller: SellerRef) -> tuple:
    """A valid order's values as ``sellers_order`` stores them (``STAGED_COLUMNS``), with
    the local dates of its purchase and events in the seller's time zone."""
    tz = seller.zone
    purchased_at = order.purchased_at
    first_scan_at = order.first_scan_at
    confirmed_at = order.ship_confirmed_at
    delivered_at = order.delivered_at
    cancelled_at = order.cancelled_at
    requested_at = order.cancel_requested_at
    return (
        seller.id,
        order.order_id,
        purchased_at,
        order.units,
        order.promised_ship_date,
        order.promised_delivery_date,
        first_scan_at,
        confirmed_at,
        delivered_at,
        order.buy_shipping,
        order.carrier,
        order.tracking_id,
        order.ship_to_state,
        cancelled_at,
        order.cancelled_by,
        requested_at,
        # Order.LOCAL_DATE_FIELDS, in its order.
        hour_local_date(purchased_at, tz) if purchased_at else None,
        hour_local_date(first_scan_at, tz) if first_scan_at else None,
        hour_local_date(confirmed_at, tz) if confirmed_at else None,
        hour_local_date(delivered_at, tz) if delivered_at else None,
        hour_local_date(cancelled_at, tz) if cancelled_at else None,
        hour_local_date(requested_at, tz) if requested_at else None,
    )


assert tuple(f for _, f in Order.LOCAL_DATE_FIELDS) == STAGED_COLUMNS[-6:]
assert tuple(m for m, _ in Order.LOCAL_DATE_FIELDS) == ("purchased_at", *OPTIONAL_TIMESTAMP_COLUMNS)


def _shown(moment: dt.datetime) -> str:
    """A moment in a message: ISO 8601 in UTC, so that the moments a message compares read
    alike whatever offsets the file wrote them with (and no summer time shifts them)."""
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def in_the_future(moment: dt.datetime, now: dt.datetime) -> str:
    return _(
        "%(moment)s is more than 5 minutes after the moment of this import (%(now)s); an event can't be "
        "imported before it has happened: check the date, the year and the UTC offset."
    ) % {"moment": _shown(moment), "now": _shown(now)}


def _before_purchase(event: str, moment: dt.datetime, purchased_at: dt.datetime) -> str:
    return _(
        "%(event)s (%(moment)s) is before the purchase (%(purchase)s); nothing happens to an order before it "
        "is placed: check both timestamps and their UTC offsets."
    ) % {"event": event, "moment": _shown(moment), "purchase": _shown(purchased_at)}


def _promise_precedes_purchase(label: str, promised: dt.date, purchase_date: dt.date, seller: SellerRef) -> str:
    return (
        f"the promised {label} date {promised} is before the purchase date {purchase_date} "
        f"(purchased_at as a date in the seller's time zone, {seller.timezone}); "
        "a promise can't precede the purchase: check the date and purchased_at's UTC offset."
    )


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
# Reading the file: its records' cells converted to OrderValues, each problem with its line


class _FileProblem(Exception):
    """A problem with the file as a whole: reading stops at once."""

    def __init__(self, problem: Problem):
        self.problem = problem
        super().__init__(str(problem))


# Problems of a row are listed in the order of the format's columns.
_COLUMN_ORDER = {name: i for i, name in enumerate(COLUMNS)}


def _column_order(problem: tuple[str, str]) -> int:
    return _COLUMN_ORDER[problem[0]]


@dataclass
class OrderBatch:
    """One batch of orders on its way in: ``judge`` applies the rules to each order and
    stages the valid ones, collecting the problems by position. ``read`` reads an import
    file record by record into it; the feed API hands it JSON items (``feed.orders``)."""

    staging: _Stage
    now: dt.datetime
    problems: list[Problem] = field(default_factory=list)
    unlisted: int = 0
    sellers: dict[str, SellerRef] = field(default_factory=dict)
    tokens: dict[int, str] = field(default_factory=dict)
    # Positions are a file's lines (``read``), else the indexes of a batch's items.
    from_file: bool = False

    def read(self, binary: IO[bytes], total_bytes: int, progress: Progress | None) -> None:
        self.from_file = True
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
            # The record's cells in COLUMNS order.
            pick: Callable[[list[str]], tuple[str, ...]] = itemgetter(*(positions.get(name, width) for name in COLUMNS))
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
                    row(pick(cells), line)
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
        connection can run no other query.

        Read under a share lock held to the end of the import: a change of a seller's zone
        (whose local dates the rows are converted to) or of its status (which decides Prime
        orders) takes the seller's row lock, so it waits for the import or the import waits
        for it, and the orders are never dated or decided by a state that changed meanwhile."""
        with connection.cursor() as cursor:
            cursor.execute(statements.sellers_share_locked())
            sellers = cursor.fetchall()
        self.sellers = {token: SellerRef(pk, token, name, zone(name)) for token, pk, name in sellers}
        self.tokens = {ref.id: token for token, ref in self.sellers.items()}

    def token_of(self, seller_id: int) -> str:
        return self.tokens[seller_id]

    def row(self, cells: tuple[str, ...], line: int) -> None:
        """Convert one record's cells (in ``COLUMNS`` order) to an order's values, judge them
        (``order_problems``) and stage the order, or report each problem on the record's line.

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
            state,
            cancelled_cell,
            cancelled_by,
            requested_cell,
        ) = map(str.strip, cells)
        seller = seller_of(self.sellers, token)
        tz = seller.zone if seller is not None else dt.UTC
        problems: list[tuple[str, str]] = []  # first those of cells that can't be converted

        purchased_at = cell_moment(purchased_cell, "purchased_at", tz, problems) if purchased_cell else None
        units = _cell_units(units_cell, problems) if units_cell else None
        promised_ship_date = cell_date(ship_date_cell, "promised_ship_date", problems) if ship_date_cell else None
        promised_delivery_date = (
            cell_date(delivery_date_cell, "promised_delivery_date", problems) if delivery_date_cell else None
        )
        first_scan_at = cell_moment(first_scan_cell, "first_scan_at", tz, problems) if first_scan_cell else None
        confirmed_at = cell_moment(confirmed_cell, "ship_confirmed_at", tz, problems) if confirmed_cell else None
        delivered_at = cell_moment(delivered_cell, "delivered_at", tz, problems) if delivered_cell else None
        cancelled_at = cell_moment(cancelled_cell, "cancelled_at", tz, problems) if cancelled_cell else None
        requested_at = cell_moment(requested_cell, "cancel_requested_at", tz, problems) if requested_cell else None
        buy_shipping = BOOLEANS.get(buy_shipping_cell)
        if buy_shipping is None and buy_shipping_cell:
            buy_shipping = BOOLEANS.get(buy_shipping_cell.lower())
            if buy_shipping is None:
                problems.append(
                    (
                        "buy_shipping",
                        f"'{buy_shipping_cell}' is not a yes/no value; write true or false (1/0 and yes/no work too).",
                    )
                )
        if state and state not in SHIP_TO_CODES:
            state = state.upper()
        if cancelled_by and cancelled_by not in CANCELLERS:
            cancelled_by = cancelled_by.lower()

        order = OrderValues._make(
            (
                order_id,
                token,
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
            )
        )
        self.judge(order, seller, problems, line)

    def judge(
        self, order: OrderValues, seller: SellerRef | None, problems: list[tuple[str, str]], position: int
    ) -> None:
        """Apply every rule to one order (``order_problems``) and stage it, or report its
        problems at ``position``. ``problems`` are those its source's converter found already
        (a field named in one is malformed: ``None`` in ``order`` but given)."""
        malformed = frozenset(name for name, _ in problems) if problems else _NO_FIELDS
        problems += order_problems(order, seller=seller, now=self.now, malformed=malformed)
        if problems:
            problems.sort(key=_column_order)
            for name, message in problems:
                self.add(Problem(position, name, message))
            order_id = order.order_id
            if seller is not None and order_id and len(order_id) <= ORDER_ID_MAX:
                self.staging.key(position, seller.id, order_id)  # so duplicates are reported too
            return
        if seller is None:  # order_problems reports an order without a seller
            raise RuntimeError(f"Item {position}: an order without a seller passed the rules.")
        self.staging.write((position, *order_columns(order, seller)))

    def seller(self, merchant_token: str) -> SellerRef | None:
        return seller_of(self.sellers, merchant_token)


def cell_moment(cell: str, name: str, tz: dt.tzinfo, problems: list[tuple[str, str]]) -> dt.datetime | None:
    """An ISO 8601 timestamp with a UTC offset or Z, as a moment in UTC, or its problem
    reported (``tz`` only shapes the example in the message)."""
    try:
        moment = dt.datetime.fromisoformat(cell)
    except ValueError:
        message = f"'{cell}' is not a timestamp; write it as ISO 8601 with a UTC offset or Z, e.g. {TIMESTAMP_EXAMPLE}."
    else:
        if moment.tzinfo is not None:
            try:
                # In UTC, the rules compare moments without looking up each one's offset again.
                utc = moment if moment.tzinfo is dt.UTC else moment.astimezone(dt.UTC)
            except OverflowError:  # year 1 or 9999, pushed off the calendar by its offset
                utc = LAST_MOMENT
            if EARLIEST_MOMENT <= utc < LAST_MOMENT:
                return utc
            if utc >= LAST_MOMENT:
                problems.append((name, f"'{cell}' is not a moment of this era; check the year."))
                return None
            problems.append(
                (
                    name,
                    f"'{cell}' is before {EARLIEST_DATE}; nothing in the programme happened that early: check the "
                    "year.",
                )
            )
            return None
        example = moment.replace(tzinfo=tz).isoformat().replace("+00:00", "Z")
        if len(cell) <= 10:
            message = (
                f"'{cell}' is a date without a time; write the moment as ISO 8601 with a UTC offset or Z, "
                f"e.g. {example}."
            )
        else:
            message = f"'{cell}' has no UTC offset; write it as ISO 8601 with an offset or Z, e.g. {example}."
    problems.append((name, message))
    return None


def cell_date(cell: str, name: str, problems: list[tuple[str, str]]) -> dt.date | None:
    # date.fromisoformat also takes 20261104 and week dates; the format is YYYY-MM-DD only.
    if len(cell) == 10 and cell[4] == "-" and cell[7] == "-":
        try:
            return dt.date.fromisoformat(cell)
        except ValueError:
            pass
    problems.append((name, f"'{cell}' is not a date; write it as YYYY-MM-DD, e.g. {DATE_EXAMPLE}."))
    return None


def _cell_units(cell: str, problems: list[tuple[str, str]]) -> int | None:
    """A whole number, however large or small: ``order_problems`` judges its range."""
    digits = cell[1:] if cell[0] in "+-" else cell
    if digits.isdecimal() and digits.isascii() and len(digits) <= 30:
        return int(cell)
    problems.append(
        ("units", f"'{cell}' is not a number of units; write a whole number from 1 to {UNITS_MAX:,}, e.g. 2.")
    )
    return None


def _line(problem: Problem) -> int:
    return problem.line


def _text_lines(binary: IO[bytes]) -> Iterator[str]:
    """The file's physical lines as text, refusing binary content and anything not UTF-8."""
    peek = getattr(binary, "peek", None)
    if peek is not None:
        _refuse_unreadable_text(peek(SNIFF_BYTES)[:SNIFF_BYTES])
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


def _refuse_unreadable_text(head: bytes) -> None:
    """Name what a file's first bytes show it is when a CSV reader would misread it:
    UTF-16 text (every other byte of its ASCII header is zero) or old Mac line endings
    (carriage returns alone, which leave the whole file one line)."""
    pairs = head[: min(len(head), 64) // 2 * 2]
    first, second = pairs[0::2], pairs[1::2]  # of each pair of bytes
    ascii_as_utf16 = bool(pairs) and ((all(first) and not any(second)) or (all(second) and not any(first)))
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or ascii_as_utf16:
        raise _FileProblem(
            Problem(
                1,
                None,
                _(
                    'the file is UTF-16 text (as Excel saves "Unicode Text"), not UTF-8; save it as CSV UTF-8 '
                    "(comma-separated), or convert it, e.g. iconv -f UTF-16 -t UTF-8 orders.csv > orders-utf8.csv, "
                    "and import that file."
                ),
            )
        )
    first_line = head.split(b"\n", 1)[0]
    carriage_return = first_line.find(b"\r")
    if 0 <= carriage_return < len(first_line) - 1:  # a CR inside the line, not the end of a CRLF
        raise _FileProblem(
            Problem(
                1,
                None,
                _(
                    "the lines of the file end with a carriage return only (old Mac line endings), so its rows "
                    "can't be told apart; save it again as CSV UTF-8 (comma-separated), or convert it, e.g. "
                    "tr '\\r' '\\n' < orders.csv > orders-lf.csv, and import that file."
                ),
            )
        )


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


# ---------------------------------------------------------------------------------------
# Staging and merging: the statements are sellers.sql's.


@dataclass
class _CarrierEvents:
    """What the carrier events known for a batch's orders do to them (``_Staging.carrier_events``)."""

    problems: list[Problem] = field(default_factory=list)
    # The staged lines whose carrier facts change, and their new facts (first scan and its
    # local date, delivery and its local date), in the same order.
    lines: list[int] = field(default_factory=list)
    facts: list[tuple] = field(default_factory=list)
    # The ids of pending events that the batch's orders take.
    pending: list[int] = field(default_factory=list)


class _Staging:
    """A temporary table of validated rows, filled by binary COPY, then merged."""

    def __init__(self, cursor):
        self.cursor = cursor
        cursor.execute(statements.staging_drop())
        cursor.execute(statements.staging_create(STAGED_COLUMNS))
        # The duplicate check and the merge hash the whole file: let them do it in memory
        # for this transaction (the setting is put back in ``drop``).
        cursor.execute(statements.work_mem_set(), {"work_mem": WORK_MEM})
        self._work_mem = cursor.fetchone()[0]

    @contextmanager
    def loading(self) -> Iterator[None]:
        """While open, ``write`` stages a row: the rows stream through COPY."""
        # Binary COPY: the server converts nothing, and psycopg dumps dates and moments in C.
        self.cursor.execute(statements.staging_types())
        types = [oid for (oid,) in self.cursor.fetchall()]
        # The driver's own cursor copies: its errors are made Django's, as the wrapper's are.
        with (
            connection.wrap_database_errors,
            self.cursor.cursor.copy(statements.staging_copy(STAGED_COLUMNS)) as copy,
        ):
            copy.set_types(types)
            self.write = copy.write_row
            yield
        self.staged = self.cursor.cursor.rowcount
        self.cursor.execute(statements.staging_analyze())

    def key(self, line: int, seller_id: int, order_id: str) -> None:
        """Stage only an invalid row's key, so duplicates of it are found as well."""
        self.write((line, seller_id, order_id, *([None] * (len(STAGED_COLUMNS) - 2))))

    def duplicates(self, batch: OrderBatch) -> Iterator[Problem]:
        """SPEC section 6: the same (merchant token, order id) twice in the file (or batch),
        in line order."""
        self.cursor.execute(statements.staging_duplicates())
        item, whole = ("line", "file") if batch.from_file else ("item", "batch")
        for line, seller_id, order_id, first_line in self.cursor:
            yield Problem(
                line,
                "order_id",
                f"order {order_id} of {batch.token_of(seller_id)} already appears on {item} {first_line}; each "
                f"order may appear only once in a {whole}: keep the {'row' if batch.from_file else item} with "
                "its latest state.",
            )

    def lock(self) -> None:
        """Imports (and carrier events, ``sellers.tracking``) write one at a time: the second
        waits here until the first has committed (SPEC section 6: two imports at once report
        exactly what each did), then each statement sees the first's orders and events."""
        self.cursor.execute(statements.merge_lock())

    def carrier_events(self, batch: OrderBatch) -> _CarrierEvents:
        """The carrier events known for the staged orders (SPEC section 9), applied to each
        under every rule of the import (``with_carrier_events``, ``order_problems``): the
        orders' new carrier facts, the pending events they take and the problems, by line.
        Events stored for an order already (applied) are applied again, so an order sent
        again without its carrier facts keeps them."""
        found = _CarrierEvents()
        self.cursor.execute(statements.tracking_events_exist())
        if self.cursor.fetchone()[0] is None:
            return found  # no event at all: nothing to join a million rows with
        self.cursor.execute(
            statements.staging_carrier_events(STAGED_VALUE_COLUMNS),
            {"first_scan": TrackingEventKind.FIRST_SCAN.value, "delivered": TrackingEventKind.DELIVERED.value},
        )
        for line, seller_id, *values, first_scans, deliveries, event_ids, pending in self.cursor.fetchall():
            seller = batch.sellers[batch.token_of(seller_id)]
            order = OrderValues(values[0], seller.merchant_token, *values[1:])
            with_events = with_carrier_events(order, first_scans=first_scans or (), deliveries=deliveries or ())
            problems = order_problems(with_events, seller=seller, now=batch.now)
            if problems:
                events = ", ".join(event_ids)
                for name, message in sorted(problems, key=_column_order):
                    found.problems.append(
                        Problem(line, name, f"with the carrier's tracking events {events} applied, {message}")
                    )
                continue
            found.pending.extend(pending or ())
            if with_events != order:
                found.lines.append(line)
                found.facts.append(
                    (
                        with_events.first_scan_at,
                        local_date(with_events.first_scan_at, seller.zone),
                        with_events.delivered_at,
                        local_date(with_events.delivered_at, seller.zone),
                    )
                )
        return found

    def carrier_events_apply(self, events: _CarrierEvents, now: dt.datetime) -> None:
        """Write the carrier facts into the staged orders (so the merge compares the orders
        as they will be) and mark the pending events they take as applied at ``now``."""
        if events.lines:
            first_scans, first_scan_dates, deliveries, delivery_dates = zip(*events.facts, strict=True)
            self.cursor.execute(
                statements.staging_carrier_facts(),
                {
                    "lines": events.lines,
                    "first_scans": list(first_scans),
                    "first_scan_dates": list(first_scan_dates),
                    "deliveries": list(deliveries),
                    "delivery_dates": list(delivery_dates),
                },
            )
        if events.pending:
            self.cursor.execute(statements.tracking_events_applied(), {"ids": events.pending, "now": now})

    def merge(
        self, now: dt.datetime, *, batch: OrderBatch, item_statuses: bool = False
    ) -> tuple[ImportResult, dict[int, dt.date]]:
        """Write what is new and what changed, stamped ``now``: one insert of the new orders,
        then, unless every staged order was new, one update of those it changes; count them
        (and, with ``item_statuses``, tell each staged position's outcome).

        Returns the counts and, per seller with a new or changed order, the earliest local
        purchase date affected (old or new), from which its Prime orders must be re-decided.
        Runs under the lock taken by ``lock``. Refuses the batch (``ImportRejected``) when it
        has an order twice, the one rule left to check: the insert meets its key twice.
        """
        staged = self.staged
        new_lines: list[int] = []
        if item_statuses:
            self.cursor.execute(statements.staging_lines_new())
            new_lines = [line for (line,) in self.cursor.fetchall()]
        since_by_seller: dict[int, dt.date] = {}
        result = ImportResult()
        for seller_id, created, since in self._insert(now, batch):
            result.created += created
            since_by_seller[seller_id] = since
        updated_lines: list[int] = []
        if result.created < staged:
            self.cursor.execute(statements.merge_update(COMPARED_COLUMNS), {"now": now, "lines": item_statuses})
            for seller_id, updated, since, lines in self.cursor.fetchall():
                result.updated += updated
                updated_lines.extend(lines or ())
                since_by_seller[seller_id] = min(since, since_by_seller.get(seller_id, since))
        result.unchanged = staged - result.created - result.updated
        if item_statuses:
            self.cursor.execute(statements.staging_lines())
            result.statuses = dict.fromkeys((line for (line,) in self.cursor.fetchall()), "unchanged")
            result.statuses.update(dict.fromkeys(new_lines, "created"))
            result.statuses.update(dict.fromkeys(updated_lines, "updated"))
        return result, since_by_seller

    def _insert(self, now: dt.datetime, batch: OrderBatch) -> list[tuple[int, int, dt.date]]:
        """Insert the staged orders that are new: first as if all were (a plain insert, a
        third cheaper than one that looks for conflicts, as a file of new orders is; its
        unique index also proves the batch has no order twice), and when a key is met twice,
        again from the savepoint, once the batch is known to have no duplicate, leaving the
        orders that exist alone."""
        try:
            with transaction.atomic():
                self.cursor.execute(statements.merge_insert(STAGED_COLUMNS, existing=False), {"now": now})
                return self.cursor.fetchall()
        except IntegrityError as exc:
            if sqlstate(exc) != UNIQUE_VIOLATION:
                raise
        duplicates = self.duplicates(batch)
        first = next(duplicates, None)
        if first is not None:
            _reject([first], duplicates)
        self.cursor.execute(statements.merge_insert(STAGED_COLUMNS, existing=True), {"now": now})
        return self.cursor.fetchall()

    def drop(self) -> None:
        self.cursor.execute(statements.staging_drop())
        self.cursor.execute(statements.work_mem_set(), {"work_mem": self._work_mem})


# ---------------------------------------------------------------------------------------
# Database failures: one sentence for the person who ran the import

# SQLSTATEs of a transaction that lost to another: a serialization failure, a deadlock, a
# lock not granted in time (lock_timeout).
CONCURRENCY_FAILURES = frozenset({"40001", "40P01", "55P03"})
UNIQUE_VIOLATION = "23505"


class FailureKind(enum.Enum):
    """What a database failure was, for the sentence that tells it (the import's here, the
    feed's in ``feed.services``)."""

    CONCURRENT = "concurrent"  # lost to another transaction: doing it again may work
    CONNECTION = "connection"  # the connection broke or the server shut down
    OTHER = "other"


def sqlstate(exc: DatabaseFailure) -> str:
    """The SQLSTATE of a database failure ("" when the driver raised it itself): Django wraps
    the driver's error, which has it."""
    return getattr(exc.__cause__ or exc, "sqlstate", None) or ""


def database_failure_kind(exc: DatabaseFailure) -> tuple[FailureKind, str]:
    """What kind of failure ``exc`` is, and its reason in the database's own words (its
    first line)."""
    cause = exc.__cause__ or exc
    reason = next(iter(str(cause).strip().splitlines()), "") or type(cause).__name__
    state = sqlstate(exc)
    if state in CONCURRENCY_FAILURES:
        return FailureKind.CONCURRENT, reason
    # Class 08 and the server's shutdowns (57P...) end the connection; the driver's own errors
    # (no SQLSTATE) mean it broke or closed.
    if state.startswith(("08", "57P")) or not state:
        return FailureKind.CONNECTION, reason
    return FailureKind.OTHER, reason


def database_failure(exc: DatabaseFailure) -> str:
    """What went wrong, in one sentence with what to do: a concurrent change, a lost
    connection, or else the database's own words."""
    kind, reason = database_failure_kind(exc)
    if kind is FailureKind.CONCURRENT:
        return _(
            "Another import or change of the same orders was running at the same time (%(reason)s), so nothing "
            "was imported; import the file again."
        ) % {"reason": reason}
    if kind is FailureKind.CONNECTION:
        return _(
            "The connection to the database failed during the import (%(reason)s), so nothing was imported; "
            "check that the database is running and reachable, and import the file again."
        ) % {"reason": reason}
    return _(
        "The database failed during the import (%(reason)s), so nothing was imported; import the file again, "
        "and if this happens again, report this message."
    ) % {"reason": reason}
