"""The order import (SPEC section 6): the whole file is valid and imported, or nothing is."""

from __future__ import annotations

import datetime as dt
import io
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from sellers.importing import (
    COLUMNS,
    REQUIRED_COLUMNS,
    ImportRejected,
    OrderValues,
    SellerRef,
    order_problems,
    orders_import,
)
from sellers.models import Order
from sellers.services import seller_create, volume_control_change

pytestmark = pytest.mark.django_db

EXAMPLE = Path("/work/shared/examples/orders-example.csv")
UTC = dt.UTC

# An on-time, delivered order of SELLER01 (America/Los_Angeles, the `seller` fixture).
ON_TIME = {
    "order_id": "113-0000001",
    "merchant_token": "SELLER01",
    "purchased_at": "2026-11-02T09:15:00-08:00",
    "units": "1",
    "promised_ship_date": "2026-11-02",
    "promised_delivery_date": "2026-11-04",
    "first_scan_at": "2026-11-02T16:40:00-08:00",
    "ship_confirmed_at": "2026-11-02T15:05:00-08:00",
    "delivered_at": "2026-11-04T13:20:00-08:00",
    "buy_shipping": "true",
    "carrier": "UPS Ground",
    "tracking_id": "1Z999AA10000000001",
    "ship_to_state": "CA",
    "cancelled_at": "",
    "cancelled_by": "",
    "cancel_requested_at": "",
}
NOT_SHIPPED = {"first_scan_at": "", "ship_confirmed_at": "", "delivered_at": "", "carrier": "", "tracking_id": ""}
CANCELLED_BY_SELLER = {**NOT_SHIPPED, "cancelled_at": "2026-11-02T12:00:00-08:00", "cancelled_by": "seller"}
# When the imports in these tests run, unless a test says otherwise: after every event above.
IMPORT_MOMENT = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def import_moment(clock):
    """The clock the import reads once, at its start, to refuse events in the future."""
    clock.move_to(IMPORT_MOMENT)
    return IMPORT_MOMENT


def order(order_id: str, /, **cells: str) -> dict[str, str]:
    return {**ON_TIME, "order_id": order_id, **cells}


def csv_file(tmp_path: Path, *rows: dict[str, str], columns=COLUMNS, name: str = "orders.csv") -> Path:
    """A CSV file of the rows with the given columns, in that order; cells need no quoting here."""
    lines = [",".join(columns), *(",".join(row.get(c, "") for c in columns) for row in rows)]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def rejected(path: Path) -> list[str]:
    with pytest.raises(ImportRejected) as excinfo:
        orders_import(path=path)
    return [str(problem) for problem in excinfo.value.problems]


# --- Invalid rows: each rule names the line and the column, and nothing is imported ------

INVALID_ROWS = {
    "order id empty": ({"order_id": ""}, "order_id", "the order id is empty"),
    "order id longer than 64": ({"order_id": "X" * 65}, "order_id", "at most 64 characters"),
    "merchant token empty": ({"merchant_token": ""}, "merchant_token", "the merchant token is empty"),
    "merchant token unknown": (
        {"merchant_token": "NOSUCH99"},
        "merchant_token",
        "no seller has the merchant token 'NOSUCH99'",
    ),
    "purchased_at empty": ({"purchased_at": ""}, "purchased_at", "the purchase time is empty"),
    "purchased_at without offset": (
        {"purchased_at": "2026-11-02 09:15"},
        "purchased_at",
        "'2026-11-02 09:15' has no UTC offset; write it as ISO 8601 with an offset or Z, "
        "e.g. 2026-11-02T09:15:00-08:00.",
    ),
    "purchased_at a date only": ({"purchased_at": "2026-11-02"}, "purchased_at", "is a date without a time"),
    "purchased_at not a timestamp": (
        {"purchased_at": "yesterday"},
        "purchased_at",
        "'yesterday' is not a timestamp",
    ),
    "units empty": ({"units": ""}, "units", "the number of units is empty"),
    "units zero": ({"units": "0"}, "units", "0 is not a number of units: an order has from 1 to 10,000 units;"),
    "units negative": ({"units": "-3"}, "units", "-3 is not a number of units: an order has from 1 to 10,000 units;"),
    "units above 10,000": (
        {"units": "10001"},
        "units",
        "10001 is not a number of units: an order has from 1 to 10,000",
    ),
    # Accepted once, it broke the daily run with "integer out of range".
    "units at the database's limit": (
        {"units": "2147483647"},
        "units",
        "2147483647 is not a number of units: an order has from 1 to 10,000 units;",
    ),
    "units fractional": ({"units": "1.5"}, "units", "'1.5' is not a number of units"),
    "units words": ({"units": "two"}, "units", "'two' is not a number of units"),
    "promised ship date empty": ({"promised_ship_date": ""}, "promised_ship_date", "the promised ship date is empty"),
    "promised ship date malformed": (
        {"promised_ship_date": "11/02/2026"},
        "promised_ship_date",
        "'11/02/2026' is not a date; write it as YYYY-MM-DD",
    ),
    "promised delivery date empty": (
        {"promised_delivery_date": ""},
        "promised_delivery_date",
        "the promised delivery date is empty",
    ),
    "promised delivery date impossible": (
        {"promised_delivery_date": "2026-02-30"},
        "promised_delivery_date",
        "'2026-02-30' is not a date",
    ),
    "buy shipping empty": ({"buy_shipping": ""}, "buy_shipping", "buy_shipping is empty"),
    "buy shipping not yes or no": ({"buy_shipping": "maybe"}, "buy_shipping", "'maybe' is not a yes/no value"),
    "first scan without offset": (
        {"first_scan_at": "2026-11-02T16:40:00"},
        "first_scan_at",
        "'2026-11-02T16:40:00' has no UTC offset",
    ),
    "ship confirmation malformed": ({"ship_confirmed_at": "soon"}, "ship_confirmed_at", "'soon' is not a timestamp"),
    "delivery malformed": ({"delivered_at": "4 Nov"}, "delivered_at", "'4 Nov' is not a timestamp"),
    "cancellation request malformed": (
        {"cancel_requested_at": "2026-13-01T00:00:00Z"},
        "cancel_requested_at",
        "is not a timestamp",
    ),
    "carrier too long": ({"carrier": "C" * 101}, "carrier", "the carrier is 101 characters long"),
    "ship-to state unknown": ({"ship_to_state": "ZZ"}, "ship_to_state", "'ZZ' is not a two-letter US state"),
    "cancelled by someone else": (
        {**NOT_SHIPPED, "cancelled_at": "2026-11-02T09:20:00-08:00", "cancelled_by": "warehouse"},
        "cancelled_by",
        "'warehouse' is not who cancelled",
    ),
    "cancelled_at without cancelled_by": (
        {**NOT_SHIPPED, "cancelled_at": "2026-11-02T09:20:00-08:00"},
        "cancelled_by",
        "the order has a cancellation time but cancelled_by is empty",
    ),
    "cancelled_by without cancelled_at": (
        {**NOT_SHIPPED, "cancelled_by": "seller"},
        "cancelled_at",
        "cancelled_by is 'seller' but cancelled_at is empty",
    ),
    "customer cancellation after 30 minutes": (
        {**NOT_SHIPPED, "cancelled_at": "2026-11-02T09:45:01-08:00", "cancelled_by": "customer"},
        "cancelled_by",
        "the customer cancelled 30 minutes 1 second after the purchase",
    ),
    "cancelled order with a first scan": (
        {**CANCELLED_BY_SELLER, "first_scan_at": "2026-11-02T11:40:00-08:00"},
        "first_scan_at",
        "the order is cancelled but has a first carrier scan",
    ),
    "cancelled order with a ship confirmation": (
        {**CANCELLED_BY_SELLER, "ship_confirmed_at": "2026-11-02T11:00:00-08:00"},
        "ship_confirmed_at",
        "the order is cancelled but its shipment was confirmed; a confirmed order can no longer be cancelled",
    ),
    "first scan before the purchase": (
        {"first_scan_at": "2026-11-02T09:00:00-08:00", "ship_confirmed_at": "2026-11-02T09:20:00-08:00"},
        "first_scan_at",
        "the first carrier scan (2026-11-02T17:00:00Z) is before the purchase (2026-11-02T17:15:00Z);",
    ),
    "ship confirmation before the purchase": (
        {"ship_confirmed_at": "2026-11-02T17:10:00Z"},
        "ship_confirmed_at",
        "the ship confirmation (2026-11-02T17:10:00Z) is before the purchase (2026-11-02T17:15:00Z);",
    ),
    "cancellation before the purchase": (
        {**CANCELLED_BY_SELLER, "cancelled_at": "2026-11-01T12:00:00-08:00"},
        "cancelled_at",
        "the cancellation (2026-11-01T20:00:00Z) is before the purchase",
    ),
    "cancellation request before the purchase": (
        {**CANCELLED_BY_SELLER, "cancel_requested_at": "2026-11-02T09:14:59-08:00"},
        "cancel_requested_at",
        "the cancellation request (2026-11-02T17:14:59Z) is before the purchase",
    ),
    "delivery before the first scan": (
        {"delivered_at": "2026-11-02T16:39:00-08:00"},
        "delivered_at",
        "the delivery (2026-11-03T00:39:00Z) is before the first carrier scan (2026-11-03T00:40:00Z);",
    ),
    "purchase in the future": (
        {
            **NOT_SHIPPED,
            "purchased_at": "2030-11-02T09:15:00-08:00",
            "promised_ship_date": "2030-11-02",
            "promised_delivery_date": "2030-11-04",
        },
        "purchased_at",
        "2030-11-02T17:15:00Z is more than 5 minutes after the moment of this import (2026-11-20T12:00:00Z);",
    ),
    "first scan in the future": (
        {"first_scan_at": "2030-11-02T16:40:00-08:00", "delivered_at": ""},
        "first_scan_at",
        "2030-11-03T00:40:00Z is more than 5 minutes after the moment of this import",
    ),
    "ship confirmation in the future": (
        {"ship_confirmed_at": "2030-11-02T15:05:00-08:00"},
        "ship_confirmed_at",
        "2030-11-02T23:05:00Z is more than 5 minutes after the moment of this import",
    ),
    "delivery in the future": (
        {"delivered_at": "2030-11-04T13:20:00-08:00"},
        "delivered_at",
        "2030-11-04T21:20:00Z is more than 5 minutes after the moment of this import",
    ),
    "cancellation in the future": (
        {**CANCELLED_BY_SELLER, "cancelled_at": "2030-11-02T12:00:00-08:00"},
        "cancelled_at",
        "2030-11-02T20:00:00Z is more than 5 minutes after the moment of this import",
    ),
    "cancellation request in the future": (
        {**CANCELLED_BY_SELLER, "cancel_requested_at": "2030-11-02T11:00:00-08:00"},
        "cancel_requested_at",
        "2030-11-02T19:00:00Z is more than 5 minutes after the moment of this import",
    ),
    "delivery without a first scan": (
        {"first_scan_at": ""},
        "delivered_at",
        "the order was delivered but has no first carrier scan",
    ),
    # 2026-11-03T06:30Z is 22:30 on 2 November in Los Angeles: the 1st precedes the local date.
    "promised ship date before the local purchase date": (
        {**NOT_SHIPPED, "purchased_at": "2026-11-03T06:30:00Z", "promised_ship_date": "2026-11-01"},
        "promised_ship_date",
        "the promised ship date 2026-11-01 is before the purchase date 2026-11-02",
    ),
    "promised delivery date before the local purchase date": (
        {"promised_ship_date": "2026-11-02", "promised_delivery_date": "2026-11-01"},
        "promised_delivery_date",
        "the promised delivery date 2026-11-01 is before the purchase date 2026-11-02",
    ),
    "promised delivery date before the promised ship date": (
        {"promised_ship_date": "2026-11-03", "promised_delivery_date": "2026-11-02"},
        "promised_delivery_date",
        "the promised delivery date 2026-11-02 is before the promised ship date 2026-11-03; an order can't be "
        "delivered before it ships: check both dates.",
    ),
}


@pytest.mark.parametrize(("cells", "column", "message"), INVALID_ROWS.values(), ids=INVALID_ROWS.keys())
def test_invalid_row_is_reported_with_its_line_and_column_and_nothing_is_imported(
    seller, tmp_path, cells, column, message
):
    path = csv_file(tmp_path, order("A-1"), order("A-2", **cells), order("A-3"))

    problems = rejected(path)

    assert len(problems) == 1, problems
    assert problems[0].startswith(f"line 3, column {column}: ")
    assert message in problems[0]
    assert Order.objects.count() == 0


def test_invalid_row_leaves_existing_orders_untouched(seller, tmp_path):
    orders_import(path=csv_file(tmp_path, order("A-1", **NOT_SHIPPED), name="first.csv"))
    before = list(Order.objects.values())

    problems = rejected(csv_file(tmp_path, order("A-1"), order("A-2", units="0"), name="second.csv"))

    assert problems == [
        "line 3, column units: 0 is not a number of units: an order has from 1 to 10,000 units; write how many "
        "items it has, e.g. 2."
    ]
    assert list(Order.objects.values()) == before


def test_same_order_twice_in_the_file_is_reported_on_the_later_line(seller, tmp_path):
    path = csv_file(tmp_path, order("A-1"), order("A-2"), order("A-1", units="2"))

    assert rejected(path) == [
        "line 4, column order_id: order A-1 of SELLER01 already appears on line 2; each order may appear only "
        "once in a file: keep the row with its latest state."
    ]
    assert Order.objects.count() == 0


def test_same_order_id_for_two_sellers_is_two_orders(seller, other_seller, tmp_path):
    berlin = {"purchased_at": "2026-11-02T09:15:00+01:00", "merchant_token": "SELLER02"}
    result = orders_import(path=csv_file(tmp_path, order("A-1"), order("A-1", **berlin)))

    assert result.created == 2
    assert set(Order.objects.values_list("seller__merchant_token", "order_id")) == {
        ("SELLER01", "A-1"),
        ("SELLER02", "A-1"),
    }


def test_customer_cancellation_within_30_minutes_is_accepted(seller, tmp_path):
    cancelled = {**NOT_SHIPPED, "cancelled_at": "2026-11-02T09:45:00-08:00", "cancelled_by": "customer"}
    result = orders_import(path=csv_file(tmp_path, order("A-1", **cancelled)))

    assert result.created == 1
    assert Order.objects.get().cancelled_by == "customer"


def test_units_up_to_10000_are_accepted(seller, tmp_path):
    orders_import(path=csv_file(tmp_path, order("A-1", units="10000"), order("A-2", units="1")))

    assert sorted(Order.objects.values_list("units", flat=True)) == [1, 10000]


def test_events_up_to_5_minutes_after_the_import_moment_are_accepted(seller, tmp_path):
    five_minutes = (IMPORT_MOMENT + dt.timedelta(minutes=5)).isoformat()
    one_second_more = (IMPORT_MOMENT + dt.timedelta(minutes=5, seconds=1)).isoformat()
    path = csv_file(tmp_path, order("A-1", delivered_at=five_minutes), order("A-2", delivered_at=one_second_more))

    assert rejected(path) == [
        "line 3, column delivered_at: 2026-11-20T12:05:01Z is more than 5 minutes after the moment of this import "
        "(2026-11-20T12:00:00Z); an event can't be imported before it has happened: check the date, the year and "
        "the UTC offset."
    ]
    assert orders_import(path=csv_file(tmp_path, order("A-1", delivered_at=five_minutes), name="ok.csv")).created == 1


def test_the_import_moment_is_read_once_at_the_start(seller, tmp_path, monkeypatch):
    readings = []

    def clock():
        readings.append(IMPORT_MOMENT + dt.timedelta(days=len(readings)))
        return readings[-1]

    monkeypatch.setattr(timezone, "now", clock)
    orders_import(path=csv_file(tmp_path, order("A-1"), order("A-2")))

    assert readings == [IMPORT_MOMENT]
    assert set(Order.objects.values_list("updated_at", flat=True)) == {IMPORT_MOMENT}


def test_the_rules_judge_one_orders_values_without_a_file_or_a_line():
    """What a JSON API reuses: (field, message) problems of one order's converted values."""
    los_angeles = SellerRef(1, "SELLER01", "America/Los_Angeles", ZoneInfo("America/Los_Angeles"))
    purchased_at = dt.datetime(2026, 11, 2, 9, 15, tzinfo=ZoneInfo("America/Los_Angeles"))
    values = OrderValues(
        order_id="A-1",
        merchant_token="SELLER01",
        purchased_at=purchased_at,
        units=20_000,
        promised_ship_date=dt.date(2026, 11, 2),
        promised_delivery_date=dt.date(2026, 11, 4),
        first_scan_at=purchased_at - dt.timedelta(hours=1),
        ship_confirmed_at=None,
        delivered_at=None,
        buy_shipping=True,
        carrier="UPS Ground",
        tracking_id="1Z1",
        ship_to_state="CA",
        cancelled_at=None,
        cancelled_by="",
        cancel_requested_at=None,
    )

    problems = order_problems(values, seller=los_angeles, now=IMPORT_MOMENT)

    assert [field for field, _ in problems] == ["units", "first_scan_at"]
    assert order_problems(values._replace(units=2, first_scan_at=None), seller=los_angeles, now=IMPORT_MOMENT) == []


def test_every_problem_of_every_row_is_reported_together_in_line_order(seller, tmp_path):
    path = csv_file(
        tmp_path,
        order("A-1", units="none", buy_shipping="perhaps", ship_to_state="XX"),
        order("A-2"),
        order("A-3", merchant_token="NOSUCH99", first_scan_at=""),
        order("A-1"),
    )

    problems = rejected(path)

    assert [p.split(":")[0] for p in problems] == [
        "line 2, column units",
        "line 2, column buy_shipping",
        "line 2, column ship_to_state",
        "line 4, column merchant_token",
        "line 4, column delivered_at",
        "line 5, column order_id",
    ]
    assert Order.objects.count() == 0


def test_yes_no_and_one_zero_are_accepted_for_buy_shipping_in_any_case(seller, tmp_path):
    values = ["TRUE", "False", "1", "0", "Yes", "NO"]
    path = csv_file(tmp_path, *(order(f"A-{i}", buy_shipping=v) for i, v in enumerate(values)))

    orders_import(path=path)

    assert list(Order.objects.order_by("order_id").values_list("buy_shipping", flat=True)) == [
        True,
        False,
        True,
        False,
        True,
        False,
    ]


def test_a_long_list_of_problems_ends_with_how_many_more_there_are(seller, tmp_path, monkeypatch):
    monkeypatch.setattr("sellers.importing.MAX_LISTED_PROBLEMS", 2)
    path = csv_file(tmp_path, *(order(f"A-{i}", units="0") for i in range(5)), order("A-0"))

    with pytest.raises(ImportRejected) as excinfo:
        orders_import(path=path)

    assert [p.line for p in excinfo.value.problems] == [2, 3]
    assert excinfo.value.lines()[-1] == (
        "... and 4 more problem(s) not listed; fix the ones above and import the file again."
    )


def test_cells_are_read_without_surrounding_spaces_and_codes_in_any_case(seller, tmp_path):
    cancelled = {**NOT_SHIPPED, "cancelled_at": " 2026-11-02T10:00:00-08:00", "cancelled_by": "Seller "}
    orders_import(path=csv_file(tmp_path, order(" A-1 ", merchant_token="seller01", ship_to_state="ca", **cancelled)))

    imported = Order.objects.get()
    assert (imported.order_id, imported.seller.merchant_token) == ("A-1", "SELLER01")
    assert (imported.ship_to_state, imported.cancelled_by) == ("CA", "seller")
    assert imported.cancelled_date == dt.date(2026, 11, 2)


# --- Problems with the file as a whole: one clear message ---------------------------------


def test_empty_file_is_rejected(seller, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes(b"")

    problems = rejected(path)

    assert len(problems) == 1
    assert problems[0].startswith("line 1: the file is empty; it needs a header row")


def test_file_with_only_a_byte_order_mark_is_empty(seller, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes(b"\xef\xbb\xbf\r\n")

    assert rejected(path)[0].startswith("line 1: the file is empty")


def test_missing_required_columns_are_named(seller, tmp_path):
    columns = [c for c in COLUMNS if c not in ("units", "buy_shipping")]
    problems = rejected(csv_file(tmp_path, order("A-1"), columns=columns))

    assert problems == [
        "line 1: the header lacks the required column(s) units, buy_shipping; add them (the required columns "
        f"are {', '.join(REQUIRED_COLUMNS)})."
    ]


def test_unknown_column_is_named_with_a_suggestion_and_the_accepted_names(seller, tmp_path):
    columns = [("carier" if c == "carrier" else c) for c in COLUMNS]
    problems = rejected(csv_file(tmp_path, order("A-1", carier="UPS"), columns=columns))

    assert problems == [
        "line 1: the header has unknown column(s) carier (did you mean carrier?); "
        f"the accepted column names are {', '.join(COLUMNS)}."
    ]
    assert Order.objects.count() == 0


def test_misspelt_required_column_is_one_message(seller, tmp_path):
    columns = [("purchase_at" if c == "purchased_at" else c) for c in COLUMNS]
    problems = rejected(csv_file(tmp_path, order("A-1"), columns=columns))

    assert len(problems) == 1
    assert problems[0].startswith(
        "line 1: the header has unknown column(s) purchase_at (did you mean purchased_at?) "
        "and the header lacks the required column(s) purchased_at; the accepted column names are order_id, "
    )


def test_repeated_column_is_rejected(seller, tmp_path):
    problems = rejected(csv_file(tmp_path, order("A-1"), columns=[*COLUMNS, "units"]))

    assert problems == ["line 1: the header names the column(s) units more than once; keep one of each."]


def test_file_not_in_utf8_names_the_line_and_how_to_save_it(seller, tmp_path):
    path = csv_file(tmp_path, order("A-1"), order("A-2", carrier="La Poste"), order("A-3"))
    path.write_bytes(path.read_bytes().replace(b"La Poste", "La Posté".encode("latin-1")))

    problems = rejected(path)

    assert len(problems) == 1
    assert problems[0].startswith("line 3: the file is not UTF-8 text (byte 0xE9 at position ")
    assert problems[0].endswith("save the file as CSV UTF-8 and import it again.")
    assert Order.objects.count() == 0


def test_binary_file_is_not_csv(seller, tmp_path):
    path = tmp_path / "orders.xlsx"
    path.write_bytes(b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00b\xee\x9dh^\x01\x00\x00\x90\x04\x00\x00")

    problems = rejected(path)

    assert problems == [
        "line 1: this is not a CSV text file (it contains binary data, e.g. a spreadsheet workbook); "
        "save the orders as CSV UTF-8 (comma-separated) and import that file."
    ]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_file_says_it_is_utf16_and_how_to_save_it_as_utf8(seller, tmp_path, encoding):
    path = csv_file(tmp_path, order("A-1"))
    path.write_bytes(path.read_text(encoding="utf-8").encode(encoding))

    assert rejected(path) == [
        'line 1: the file is UTF-16 text (as Excel saves "Unicode Text"), not UTF-8; save it as CSV UTF-8 '
        "(comma-separated), or convert it, e.g. iconv -f UTF-16 -t UTF-8 orders.csv > orders-utf8.csv, "
        "and import that file."
    ]


def test_old_mac_line_endings_say_so_and_how_to_fix_them(seller, tmp_path):
    path = csv_file(tmp_path, order("A-1"), order("A-2"))
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r"))

    assert rejected(path) == [
        "line 1: the lines of the file end with a carriage return only (old Mac line endings), so its rows "
        "can't be told apart; save it again as CSV UTF-8 (comma-separated), or convert it, e.g. "
        "tr '\\r' '\\n' < orders.csv > orders-lf.csv, and import that file."
    ]


def test_text_without_the_import_columns_is_not_an_order_csv(seller, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("Dear seller,\nhere are the orders you asked for.\n", encoding="utf-8")

    problems = rejected(path)

    assert len(problems) == 1
    assert problems[0].startswith("line 1: this is not an order import CSV file: its first line names none of")


def test_semicolon_separated_file_says_so(seller, tmp_path):
    path = csv_file(tmp_path, order("A-1"))
    path.write_text(path.read_text().replace(",", ";"), encoding="utf-8")

    assert rejected(path) == [
        "line 1: the columns are separated by semicolons, not commas; save the file as CSV (comma-separated) "
        "and import it again."
    ]


def test_row_with_the_wrong_number_of_cells_is_reported(seller, tmp_path):
    path = csv_file(tmp_path, order("A-1"), order("A-2", carrier="UPS, Ground"))

    assert rejected(path) == [
        "line 3: this row has 17 cells but the header has 16 columns; a value that contains a comma must be "
        "written in double quotes."
    ]


def test_unclosed_quote_is_reported(seller, tmp_path):
    path = csv_file(tmp_path, order("A-1"), order("A-2", carrier='"UPS Ground'))

    problems = rejected(path)

    assert len(problems) == 1
    assert problems[0].startswith("line 3: the row starting on this line can't be read as CSV")
    assert "check its double quotes" in problems[0]


# --- What the import accepts ---------------------------------------------------------------


def test_byte_order_mark_is_accepted(seller, tmp_path):
    path = csv_file(tmp_path, order("A-1"))
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())

    assert orders_import(path=path).created == 1


def test_columns_in_any_order(seller, tmp_path):
    result = orders_import(path=csv_file(tmp_path, order("A-1"), columns=list(reversed(COLUMNS))))

    assert result.created == 1
    imported = Order.objects.get()
    assert (imported.order_id, imported.units, imported.carrier) == ("A-1", 1, "UPS Ground")


def test_optional_columns_may_be_absent(seller, tmp_path):
    result = orders_import(path=csv_file(tmp_path, order("A-1"), columns=REQUIRED_COLUMNS))

    assert result.created == 1
    imported = Order.objects.get()
    assert imported.first_scan_at is None
    assert imported.delivered_at is None
    assert imported.carrier == ""
    assert imported.cancelled_by == ""


def test_quoted_cells_blank_lines_and_crlf_are_read(seller, tmp_path):
    path = tmp_path / "orders.csv"
    header = ",".join(COLUMNS)
    row = ",".join(f'"{ON_TIME[c]}"' if c == "carrier" else ON_TIME[c] for c in COLUMNS)
    path.write_bytes(f"{header}\r\n\r\n{row.replace('UPS Ground', 'UPS, Ground')}\r\n,,,,,,,,,,,,,,,\r\n".encode())

    orders_import(path=path)

    assert Order.objects.get().carrier == "UPS, Ground"


def test_problems_on_a_row_after_a_multiline_cell_name_its_first_physical_line(seller, tmp_path):
    path = tmp_path / "orders.csv"
    header = ",".join(COLUMNS)
    first = ",".join('"UPS\nGround"' if c == "carrier" else ON_TIME[c] for c in COLUMNS)
    second = ",".join("0" if c == "units" else order("A-2")[c] for c in COLUMNS)
    path.write_text(f"{header}\n{first}\n{second}\n", encoding="utf-8")

    assert rejected(path)[0].startswith("line 4, column units:")


def test_the_example_file_imports(tmp_path):
    seller_create(merchant_token="EXAMPLE01", name="Example seller", enrolled_on=dt.date(2026, 1, 1))

    result = orders_import(path=EXAMPLE)

    assert (result.created, result.updated, result.unchanged) == (4, 0, 0)
    late = Order.objects.get(order_id="113-0000002")
    # Purchased 13:47 in Los Angeles on the 2nd, first scanned 16:30 there on the 3rd.
    assert (late.purchase_date, late.first_scan_date) == (dt.date(2026, 11, 2), dt.date(2026, 11, 3))
    assert late.units == 2
    assert late.buy_shipping is False
    by_seller = Order.objects.get(order_id="113-0000004")
    assert by_seller.cancelled_by == "seller"
    assert by_seller.cancel_requested_at == dt.datetime(2026, 11, 3, 22, 30, tzinfo=UTC)


# --- Re-importing ------------------------------------------------------------------------


def test_reimporting_the_same_file_changes_nothing(seller, tmp_path, clock):
    path = csv_file(tmp_path, order("A-1"), order("A-2", **NOT_SHIPPED), order("A-3", units="3"))
    first_run = dt.datetime(2026, 11, 5, 8, 0, tzinfo=UTC)
    clock.move_to(first_run)
    orders_import(path=path)
    before = list(Order.objects.order_by("order_id").values())

    clock.move_to(first_run + dt.timedelta(days=1))
    result = orders_import(path=path)

    assert (result.created, result.updated, result.unchanged) == (0, 0, 3)
    assert list(Order.objects.order_by("order_id").values()) == before
    assert {o["updated_at"] for o in before} == {first_run}


def test_a_file_of_new_orders_goes_straight_into_the_orders_and_other_files_through_the_staging_table(seller, tmp_path):
    """New orders are copied into the orders table as the file is read (no INSERT); a file
    with an order that exists is read again through the staging table, whose plain insert
    meets the stored key and gives way, from a savepoint, to the insert that leaves it to the
    update; a file whose new orders a carrier event names is read again too, and its plain
    insert (a third cheaper than the careful one) writes it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from sellers.models import TrackingEvent

    def inserts(path: Path) -> list[bool]:
        with CaptureQueriesContext(connection) as queries:
            orders_import(path=path)
        return ["ON CONFLICT" in q["sql"] for q in queries if 'INSERT INTO "sellers_order"' in q["sql"]]

    assert inserts(csv_file(tmp_path, order("A-1"), order("A-2"), name="new.csv")) == []
    assert inserts(csv_file(tmp_path, order("A-3"), order("A-1", units="2"), name="mixed.csv")) == [False, True]
    TrackingEvent.objects.create(
        event_id="EV-1",
        carrier="ups ground",
        tracking_id="1Z-NEW",
        kind="first_scan",
        occurred_at=dt.datetime(2026, 11, 2, 23, 0, tzinfo=UTC),
    )
    scanned = order("A-4", tracking_id="1Z-NEW", first_scan_at="", delivered_at="")
    assert inserts(csv_file(tmp_path, scanned, name="events.csv")) == [False]
    assert dict(Order.objects.values_list("order_id", "units")) == {"A-1": 2, "A-2": 1, "A-3": 1, "A-4": 1}
    assert Order.objects.get(order_id="A-4").first_scan_at == dt.datetime(2026, 11, 2, 23, 0, tzinfo=UTC)


def test_a_file_that_starts_with_stored_orders_is_read_once(seller, tmp_path, monkeypatch):
    """Orders sent again (their progress) go the staging way at once: the direct copy would
    only fail once the whole file was read. A known order after the first records found only
    by the copy costs a second reading."""
    from sellers import importing

    reads = []
    read = importing.OrderBatch.read
    monkeypatch.setattr(importing.OrderBatch, "read", lambda self, *args: reads.append(1) or read(self, *args))
    monkeypatch.setattr(importing, "KNOWN_ORDERS_PEEK", 2)
    orders_import(path=csv_file(tmp_path, order("A-1"), name="first.csv"))
    assert len(reads) == 1

    reads.clear()
    orders_import(path=csv_file(tmp_path, order("A-2"), order("A-1", units="3"), name="again.csv"))
    assert len(reads) == 1

    reads.clear()
    result = orders_import(
        path=csv_file(tmp_path, order("A-3"), order("A-4"), order("A-1", units="3"), name="later.csv")
    )
    assert len(reads) == 2
    assert (result.created, result.updated, result.unchanged) == (2, 0, 1)


def test_a_file_with_an_order_twice_is_refused_with_both_lines(seller, tmp_path):
    """The copy straight into the orders meets the key twice and is rolled back; the staging
    table's reading names the lines, and nothing is written."""
    with pytest.raises(ImportRejected) as rejected:
        orders_import(path=csv_file(tmp_path, order("A-1"), order("A-2"), order("A-1", units="2")))
    assert [str(p) for p in rejected.value.problems] == [
        "line 4, column order_id: order A-1 of SELLER01 already appears on line 2; each order may appear only "
        "once in a file: keep the row with its latest state."
    ]
    assert not Order.objects.exists()


def test_an_order_that_progresses_is_updated(seller, tmp_path, clock):
    first_run = dt.datetime(2026, 11, 3, 8, 0, tzinfo=UTC)
    second_run = dt.datetime(2026, 11, 5, 8, 0, tzinfo=UTC)
    clock.move_to(first_run)
    orders_import(
        path=csv_file(
            tmp_path,
            order("A-1", **NOT_SHIPPED),
            order("A-2", **NOT_SHIPPED),
            order("A-3", delivered_at=""),
            name="monday.csv",
        )
    )

    clock.move_to(second_run)
    result = orders_import(
        path=csv_file(
            tmp_path,
            order("A-1", delivered_at=""),  # scanned
            order("A-2", **NOT_SHIPPED),  # nothing new
            order("A-3"),  # delivered
            order("A-4"),
            name="thursday.csv",
        )
    )

    assert (result.created, result.updated, result.unchanged) == (1, 2, 1)
    orders = {o.order_id: o for o in Order.objects.all()}
    assert orders["A-1"].first_scan_date == dt.date(2026, 11, 2)
    assert orders["A-1"].delivered_at is None
    assert orders["A-3"].delivered_date == dt.date(2026, 11, 4)
    assert {k: o.updated_at for k, o in orders.items()} == {
        "A-1": second_run,
        "A-2": first_run,
        "A-3": second_run,
        "A-4": second_run,
    }


# --- Local dates: the seller's time zone, across DST -------------------------------------


def test_purchase_late_in_the_evening_keeps_its_local_date_though_utc_is_the_next_day(seller, tmp_path):
    # 23:30 in Los Angeles on 2 November is 07:30 UTC on the 3rd.
    orders_import(path=csv_file(tmp_path, order("A-1", purchased_at="2026-11-02T23:30:00-08:00", **NOT_SHIPPED)))

    imported = Order.objects.get()
    assert imported.purchased_at == dt.datetime(2026, 11, 3, 7, 30, tzinfo=UTC)
    assert imported.purchase_date == dt.date(2026, 11, 2)


def test_utc_timestamps_get_the_local_date_across_the_spring_forward(seller, tmp_path):
    # Los Angeles moves from UTC-8 to UTC-7 at 10:00 UTC on 8 March 2026.
    path = csv_file(
        tmp_path,
        order(
            "A-1",
            purchased_at="2026-03-08T07:30:00Z",  # 23:30 PST on the 7th
            promised_ship_date="2026-03-07",
            promised_delivery_date="2026-03-09",
            first_scan_at="2026-03-08T10:30:00Z",  # 03:30 PDT on the 8th
            ship_confirmed_at="2026-03-08T09:30:00Z",  # 01:30 PST on the 8th
            delivered_at="2026-03-10T07:30:00Z",  # 00:30 PDT on the 10th
        ),
    )

    orders_import(path=path)

    imported = Order.objects.get()
    assert imported.purchase_date == dt.date(2026, 3, 7)
    assert imported.first_scan_date == dt.date(2026, 3, 8)
    assert imported.ship_confirmed_date == dt.date(2026, 3, 8)
    # With the winter offset this would still be the 9th.
    assert imported.delivered_date == dt.date(2026, 3, 10)


def test_european_seller_gets_berlin_local_dates_across_the_autumn_change(other_seller, tmp_path):
    # Berlin leaves summer time (UTC+2) for UTC+1 at 01:00 UTC on 25 October 2026.
    path = csv_file(
        tmp_path,
        order(
            "B-1",
            merchant_token="SELLER02",
            purchased_at="2026-10-24T22:30:00Z",  # 00:30 on the 25th in Berlin (summer time)
            promised_ship_date="2026-10-25",
            promised_delivery_date="2026-10-27",
            first_scan_at="2026-10-25T23:30:00Z",  # 00:30 on the 26th (winter time)
            ship_confirmed_at="2026-10-25T22:30:00+00:00",  # 23:30 on the 25th
            delivered_at="2026-10-26T23:59:59+01:00",
        ),
    )

    orders_import(path=path)

    imported = Order.objects.get()
    assert imported.purchase_date == dt.date(2026, 10, 25)
    assert imported.first_scan_date == dt.date(2026, 10, 26)
    assert imported.ship_confirmed_date == dt.date(2026, 10, 25)
    assert imported.delivered_date == dt.date(2026, 10, 26)


def test_promises_are_judged_against_the_local_purchase_date(seller, other_seller, tmp_path):
    path = csv_file(
        tmp_path,
        # 23:30 on the 2nd in Los Angeles, though the 3rd in UTC: a promise for the 2nd is fine.
        order("A-1", purchased_at="2026-11-03T07:30:00Z", promised_ship_date="2026-11-02", **NOT_SHIPPED),
        # 00:30 on the 3rd in Berlin, though the 2nd in UTC: a promise for the 2nd precedes it.
        order(
            "B-1",
            merchant_token="SELLER02",
            purchased_at="2026-11-02T23:30:00Z",
            promised_ship_date="2026-11-02",
            **NOT_SHIPPED,
        ),
    )

    problems = rejected(path)

    assert problems == [
        "line 3, column promised_ship_date: the promised ship date 2026-11-02 is before the purchase date "
        "2026-11-03 (purchased_at as a date in the seller's time zone, Europe/Berlin); a promise can't precede "
        "the purchase: check the date and purchased_at's UTC offset."
    ]


# --- Prime classification after the merge ----------------------------------------------


def test_imported_orders_are_classified_prime_by_the_daily_cap(seller, tmp_path):
    volume_control_change(seller=seller, daily_cap=1, paused=False, effective_at=dt.datetime(2026, 11, 1, tzinfo=UTC))
    orders_import(
        path=csv_file(
            tmp_path,
            order("A-1", purchased_at="2026-11-02T09:00:00-08:00"),
            order("A-2", purchased_at="2026-11-02T10:00:00-08:00"),
        )
    )
    assert dict(Order.objects.values_list("order_id", "is_prime")) == {"A-1": True, "A-2": False}

    # A-1 was really bought the next day: A-2 is now the first order of the 2nd.
    orders_import(
        path=csv_file(
            tmp_path,
            order("A-1", purchased_at="2026-11-03T09:00:00-08:00", promised_ship_date="2026-11-03", **NOT_SHIPPED),
            name="corrected.csv",
        )
    )
    assert dict(Order.objects.values_list("order_id", "is_prime")) == {"A-1": True, "A-2": True}


def test_a_seller_never_controlled_has_every_order_decided_prime_again(seller, tmp_path):
    """Its orders are written as Prime orders; one that is not (say, left so by a control
    since removed) is decided again from the earliest date the import touches."""
    orders_import(path=csv_file(tmp_path, order("A-1"), name="first.csv"))
    Order.objects.filter(order_id="A-1").update(is_prime=False)

    orders_import(path=csv_file(tmp_path, order("A-2"), name="second.csv"))

    assert dict(Order.objects.values_list("order_id", "is_prime")) == {"A-1": True, "A-2": True}


def test_re_deciding_a_never_controlled_seller_reads_only_its_orders_that_are_not_prime(seller, tmp_path):
    """The partial index on the orders that are not Prime orders serves the re-decision: an
    import of many Prime orders gives it none to read (before, it read every one of them)."""
    from django.db import connection

    from sellers import sql as statements

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            b"EXPLAIN " + statements.orders_all_prime(since=True).as_bytes(cursor.connection),
            {"sellers": [seller.pk], "since": dt.date(2026, 11, 1)},
        )
        plan = "\n".join(line for (line,) in cursor.fetchall())
    assert "order_not_prime" in plan


# --- Progress and the command ---------------------------------------------------------


def test_progress_reports_the_whole_file_at_the_end(seller, tmp_path):
    path = csv_file(tmp_path, order("A-1"))
    reports = []

    orders_import(path=path, progress=lambda done, total: reports.append((done, total)))

    assert reports[-1] == (path.stat().st_size, path.stat().st_size)


def test_command_prints_the_counts(seller, tmp_path):
    path = csv_file(tmp_path, order("A-1"), order("A-2"))
    stdout, stderr = io.StringIO(), io.StringIO()

    call_command("import_orders", str(path), stdout=stdout, stderr=stderr)

    assert stdout.getvalue() == "Imported orders.csv: 2 created, 0 updated, 0 unchanged.\n"
    assert stderr.getvalue() == ""  # no progress bar for a small file


def test_command_prints_each_problem_and_fails(seller, tmp_path):
    path = csv_file(tmp_path, order("A-1", units="0"), order("A-2", ship_to_state="ZZ"))
    stderr = io.StringIO()

    with pytest.raises(CommandError) as excinfo:
        call_command("import_orders", str(path), stdout=io.StringIO(), stderr=stderr)

    assert excinfo.value.returncode == 1
    assert str(excinfo.value) == "Nothing was imported: orders.csv has 2 problems; fix them and import the file again."
    lines = stderr.getvalue().splitlines()
    assert lines[0].startswith("line 2, column units: 0 is not a number of units")
    assert lines[1].startswith("line 3, column ship_to_state: 'ZZ' is not a two-letter US state")
    assert Order.objects.count() == 0


def test_command_shows_a_progress_bar_for_long_files(seller, tmp_path, monkeypatch):
    monkeypatch.setattr("sellers.management.commands.import_orders.PROGRESS_BAR_FROM_BYTES", 10)
    stderr = io.StringIO()

    call_command("import_orders", str(csv_file(tmp_path, order("A-1"))), stdout=io.StringIO(), stderr=stderr)

    assert "Importing orders.csv: 100%" in stderr.getvalue()


def test_command_explains_a_missing_file(db, tmp_path):
    with pytest.raises(CommandError, match=r"nothing\.csv does not exist; give the path of the order CSV file"):
        call_command("import_orders", str(tmp_path / "nothing.csv"))


def test_command_says_a_device_is_not_a_regular_file(db):
    with pytest.raises(CommandError) as excinfo:
        call_command("import_orders", "/dev/null")

    assert str(excinfo.value) == (
        "/dev/null is a character device, not a regular file; give the path of the order CSV file to import."
    )


def test_command_says_an_empty_file_is_empty(db, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    stderr = io.StringIO()

    with pytest.raises(CommandError, match=r"Nothing was imported: empty\.csv has 1 problem"):
        call_command("import_orders", str(path), stdout=io.StringIO(), stderr=stderr)

    assert stderr.getvalue().startswith("line 1: the file is empty; it needs a header row")


def test_command_imports_the_example_file(tmp_path):
    seller_create(merchant_token="EXAMPLE01", name="Example seller", enrolled_on=dt.date(2026, 1, 1))
    path = Path(shutil.copy(EXAMPLE, tmp_path / "orders-example.csv"))
    stdout = io.StringIO()

    call_command("import_orders", str(path), stdout=stdout, stderr=io.StringIO())
    call_command("import_orders", str(path), stdout=stdout, stderr=io.StringIO())

    assert stdout.getvalue().splitlines() == [
        "Imported orders-example.csv: 4 created, 0 updated, 0 unchanged.",
        "Imported orders-example.csv: 0 created, 0 updated, 4 unchanged.",
    ]
