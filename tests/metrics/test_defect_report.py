"""The defect report (SPEC section 5): the streamed CSV download and the defect view on
screen, their agreement with the dashboard's defect units, and who may see them."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os

import pytest
from django.db import transaction
from django.db.models import Sum
from django.http import StreamingHttpResponse
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, event, given, settings, target
from hypothesis import strategies as st

from metrics import report
from metrics.definitions import METRICS, WINDOWS
from metrics.explain import order_explanation
from metrics.selectors import metric_defect_orders
from metrics.services import daily_run, snapshots_compute
from sellers.choices import CancelledBy
from sellers.factories import D, OrderFactory, local_moment, orders_create, orders_save
from sellers.services import seller_user_create
from tests import factories
from tests.metrics.test_reference_property import DAYS, sellers

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

CSV_URL = reverse("metrics:defects_csv")
HTML_URL = reverse("metrics:defects")
DASHBOARD_URL = reverse("metrics:dashboard")
HEADER_LINE = (
    "order_id,purchase_date,units,promised_ship_date,first_scan_date,promised_delivery_date,delivery_date,"
    "carrier,tracking_id,Shipped late,Delivered late,Shipped outside Buy Shipping,Cancelled by seller,"
    "No valid tracking"
)
FLAG_COLUMNS = (
    "Shipped late",
    "Delivered late",
    "Shipped outside Buy Shipping",
    "Cancelled by seller",
    "No valid tracking",
)


# --- Orders with one defect each ---------------------------------------------------------


def moved(order, seller, **moments):
    for name, value in moments.items():
        setattr(order, name, value)
    order.set_local_dates(seller.zone)
    return order


def shipped_late(seller, **fields):
    """First scanned the day after its promised ship date, delivered on its promise."""
    return OrderFactory.build(seller=seller, late_shipment=1, **fields)


def delivered_late(seller, **fields):
    return OrderFactory.build(seller=seller, late_delivery=2, **fields)


def late_both(seller, **fields):
    return OrderFactory.build(seller=seller, late_shipment=1, late_delivery=3, **fields)


def outside_buy_shipping(seller, **fields):
    return OrderFactory.build(seller=seller, outside_buy_shipping=True, **fields)


def cancelled_by_seller(seller, **fields):
    return OrderFactory.build(seller=seller, cancelled=CancelledBy.SELLER, **fields)


def no_valid_tracking(seller, **fields):
    return OrderFactory.build(seller=seller, no_tracking=True, **fields)


def slow_promise(seller, **fields):
    """On time, but promised three days after purchase: a defect of both delivery speeds."""
    order = OrderFactory.build(seller=seller, **fields)
    order.promised_delivery_date = order.purchase_date + dt.timedelta(days=3)
    return order


ONE_FLAG_EACH = {
    "Shipped late": shipped_late,
    "Delivered late": delivered_late,
    "Shipped outside Buy Shipping": outside_buy_shipping,
    "Cancelled by seller": cancelled_by_seller,
    "No valid tracking": no_valid_tracking,
}


def download(client, **query) -> tuple[StreamingHttpResponse, list[dict[str, str]]]:
    response = client.get(CSV_URL, query or {"window": 30})
    text = b"".join(response.streaming_content).decode("utf-8")
    return response, list(csv.DictReader(io.StringIO(text)))


def flagged_units(rows, *columns) -> int:
    return sum(int(row["units"]) for row in rows if all(row[column] == "X" for column in columns))


@pytest.fixture
def mixed(seller, make_orders):
    """Every kind of defect, some of more units, a late pair, slow promises and clean orders."""
    make_orders(
        *(OrderFactory.build(seller=seller, units=2) for _ in range(6)),
        shipped_late(seller, units=3),
        delivered_late(seller, units=2),
        late_both(seller, units=4),
        late_both(seller, purchased_on=D - dt.timedelta(days=20)),
        outside_buy_shipping(seller, units=2),
        cancelled_by_seller(seller),
        no_valid_tracking(seller, units=5),
        slow_promise(seller, units=2),
        slow_promise(seller, purchased_on=D - dt.timedelta(days=15)),
    )
    daily_run(day=D)
    return seller


# --- The CSV ----------------------------------------------------------------------------


def test_csv_starts_with_the_exact_header_of_the_spec(client, seller_user, mixed):
    client.force_login(seller_user)
    response = client.get(CSV_URL, {"window": 30})
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.split("\r\n")[0] == HEADER_LINE
    assert tuple(HEADER_LINE.split(",")) == report.HEADER


@pytest.mark.parametrize("column", FLAG_COLUMNS)
def test_each_defect_sets_exactly_its_own_column(client, seller_user, seller, make_orders, column):
    defect, _clean = make_orders(ONE_FLAG_EACH[column](seller, units=3), OrderFactory.build(seller=seller))
    daily_run(day=D)
    client.force_login(seller_user)
    _response, rows = download(client)
    assert [row["order_id"] for row in rows] == [defect.order_id]
    (row,) = rows
    assert {c: row[c] for c in FLAG_COLUMNS} == {c: "X" if c == column else "" for c in FLAG_COLUMNS}
    assert row["units"] == "3"


def test_a_row_holds_the_orders_facts_as_local_iso_dates(client, seller_user, seller, make_orders):
    (order,) = make_orders(late_both(seller, purchased_on=dt.date(2026, 11, 11), carrier="USPS", tracking_id="9400"))
    daily_run(day=D)
    client.force_login(seller_user)
    _response, rows = download(client)
    assert rows == [
        {
            "order_id": order.order_id,
            "purchase_date": "2026-11-11",
            "units": "1",
            "promised_ship_date": "2026-11-11",
            "first_scan_date": "2026-11-12",
            "promised_delivery_date": "2026-11-12",
            "delivery_date": "2026-11-15",
            "carrier": "USPS",
            "tracking_id": "9400",
            "Shipped late": "X",
            "Delivered late": "X",
            "Shipped outside Buy Shipping": "",
            "Cancelled by seller": "",
            "No valid tracking": "",
        }
    ]


def test_dates_are_local_to_each_sellers_time_zone(client, seller, seller_user, make_orders):
    saigon = factories.SellerFactory(merchant_token="SAIGON01", timezone="Asia/Ho_Chi_Minh")
    saigon_user = seller_user_create(seller=saigon, username="saigon", password="correct horse battery 3")
    moments = {
        "purchased_at": dt.datetime(2026, 11, 15, 3, 0, tzinfo=dt.UTC),  # LA Nov 14 19:00, Saigon Nov 15 10:00
        "first_scan_at": dt.datetime(2026, 11, 16, 20, 0, tzinfo=dt.UTC),  # LA Nov 16, Saigon Nov 17 03:00
        "ship_confirmed_at": dt.datetime(2026, 11, 16, 19, 0, tzinfo=dt.UTC),
        "delivered_at": dt.datetime(2026, 11, 18, 6, 30, tzinfo=dt.UTC),  # LA Nov 17 22:30, Saigon Nov 18
    }
    make_orders(
        OrderFactory.build(seller=seller, buy_shipping=False, **moments),
        OrderFactory.build(seller=saigon, buy_shipping=False, **moments),
    )
    daily_run(day=D)
    expected = {
        "SELLER01": ("2026-11-14", "2026-11-16", "2026-11-17"),
        "SAIGON01": ("2026-11-15", "2026-11-17", "2026-11-18"),
    }
    for user, token in ((seller_user, "SELLER01"), (saigon_user, "SAIGON01")):
        client.force_login(user)
        _response, (row,) = download(client)
        assert (row["purchase_date"], row["first_scan_date"], row["delivery_date"]) == expected[token]
        assert row["promised_ship_date"] == expected[token][0]


def test_facts_after_d_leave_their_dates_empty_as_the_flags_do(client, seller_user, seller, make_orders):
    order = OrderFactory.build(seller=seller, purchased_on=D - dt.timedelta(days=3))
    after_d = {
        "first_scan_at": local_moment(seller, D + dt.timedelta(days=1), 8),
        "delivered_at": local_moment(seller, D + dt.timedelta(days=2), 12),
    }
    make_orders(moved(order, seller, **after_d))
    daily_run(day=D)
    client.force_login(seller_user)
    _response, (row,) = download(client)
    assert row["first_scan_date"] == "" and row["delivery_date"] == ""
    assert row["promised_delivery_date"] == (D - dt.timedelta(days=2)).isoformat()
    # Not scanned by the end of D: not shipped late, not outside Buy Shipping, but due and not
    # delivered, and confirmed without a carrier scan.
    assert {c: row[c] for c in FLAG_COLUMNS} == {
        "Shipped late": "",
        "Delivered late": "X",
        "Shipped outside Buy Shipping": "",
        "Cancelled by seller": "",
        "No valid tracking": "X",
    }


def test_a_delivery_after_d_of_an_order_scanned_by_d_shows_only_the_scan(client, seller_user, seller, make_orders):
    order = OrderFactory.build(seller=seller, purchased_on=D - dt.timedelta(days=1), buy_shipping=False)
    make_orders(moved(order, seller, delivered_at=local_moment(seller, D + dt.timedelta(days=1), 12)))
    daily_run(day=D)
    client.force_login(seller_user)
    _response, (row,) = download(client)
    assert row["first_scan_date"] == (D - dt.timedelta(days=1)).isoformat() and row["delivery_date"] == ""


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@", "\t", "\r"])
def test_text_cells_starting_a_formula_are_escaped(client, seller_user, seller, make_orders, prefix):
    make_orders(
        outside_buy_shipping(
            seller, order_id=f"{prefix}SUM(A1)", carrier=f"{prefix}cmd|' /C calc'!A0", tracking_id=f"{prefix}1Z"
        )
    )
    daily_run(day=D)
    client.force_login(seller_user)
    _response, (row,) = download(client)
    assert row["order_id"] == f"'{prefix}SUM(A1)"
    assert row["carrier"] == f"'{prefix}cmd|' /C calc'!A0"
    assert row["tracking_id"] == f"'{prefix}1Z"


def test_safe_text_is_left_alone():
    assert report.escape_cell("A-1=2") == "A-1=2"
    assert report.escape_cell("") == ""
    assert report.escape_cell("-5") == "'-5"


def test_the_download_is_utf8_streamed_and_named_for_seller_window_and_day(client, seller_user, seller, make_orders):
    make_orders(outside_buy_shipping(seller, carrier="Giao Hàng Nhanh · Đà Nẵng"))
    daily_run(day=D)
    client.force_login(seller_user)
    for window in WINDOWS:
        response, (row,) = download(client, window=window)
        assert isinstance(response, StreamingHttpResponse)
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert response["Content-Disposition"] == f'attachment; filename="defects-SELLER01-{window}d-2026-11-20.csv"'
        assert row["carrier"] == "Giao Hàng Nhanh · Đà Nẵng"


def test_an_empty_report_is_the_header_alone(client, seller_user, seller, make_orders):
    make_orders(OrderFactory.build(seller=seller))
    daily_run(day=D)
    client.force_login(seller_user)
    response = client.get(CSV_URL)
    assert b"".join(response.streaming_content).decode() == HEADER_LINE + "\r\n"


def test_the_window_decides_the_rows(client, seller_user, mixed):
    client.force_login(seller_user)
    _r, rows7 = download(client, window=7)
    _r, rows30 = download(client, window=30)
    assert len(rows30) == len(rows7) + 1  # the late pair of D-20
    assert {row["order_id"] for row in rows7} < {row["order_id"] for row in rows30}


@pytest.fixture
def count_fetched_rows(monkeypatch):
    """Counts the lines the report fetches from its database cursor, once switched on."""
    fetched = {"rows": 0, "on": False}
    original = report.fetch_batches

    def counting_fetch_batches(cursor):
        for batch in original(cursor):
            if fetched["on"]:
                fetched["rows"] += len(batch)
            yield batch

    monkeypatch.setattr(report, "fetch_batches", counting_fetch_batches)
    return fetched


def test_a_large_report_is_fetched_and_sent_a_chunk_at_a_time(
    client, seller_user, seller, make_orders, monkeypatch, count_fetched_rows
):
    make_orders(*(outside_buy_shipping(seller, order_id=f"B{n:04d}") for n in range(300)))
    daily_run(day=D)
    monkeypatch.setattr(report, "FETCH_ROWS", 20)
    client.force_login(seller_user)
    response = client.get(CSV_URL)
    count_fetched_rows["on"] = True
    chunks = iter(response.streaming_content)
    assert next(chunks).decode() == HEADER_LINE + "\r\n"
    first_rows = next(chunks).decode().splitlines()
    assert len(first_rows) == 20 and first_rows[0].startswith("B0000,")
    # Had the rows been read whole (fetchall instead of batches), all 300 would be in memory.
    assert count_fetched_rows["rows"] == 20
    rest = b"".join(chunks).decode().splitlines()
    assert len(first_rows) + len(rest) == 300
    assert [row.split(",")[0] for row in first_rows + rest] == [f"B{n:04d}" for n in range(300)]
    assert count_fetched_rows["rows"] == 300


def python_csv_line(values: tuple) -> str:
    """The reference for the database's CSV lines: a report row written by csv.writer, with
    text escaped (``escape_cell``), ``X`` for a flag and empty cells for NULL."""
    cells = [
        report.escape_cell(value) if kind == report.TEXT else ("X" if value else "") if kind == report.FLAG else value
        for kind, value in zip((report.CELL_KINDS[f] for f in report.REPORT_VALUE_FIELDS), values, strict=True)
    ]
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(cells)
    return out.getvalue()


# Any text a database cell can hold: commas, quotes, line breaks, formula characters, accents.
awkward_text = st.text(
    alphabet=st.one_of(
        st.sampled_from([",", '"', "\r", "\n", "=", "+", "-", "@", "\t", "'", " ", ";"]),
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    ),
    max_size=12,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    texts=st.lists(
        st.tuples(awkward_text.filter(bool), awkward_text, awkward_text, st.booleans()),
        min_size=1,
        max_size=4,
        unique_by=lambda t: t[0],
    )
)
def test_the_database_writes_each_line_as_csv_writer_would(texts):
    """The lines the database writes equal Python's csv.writer on the same row, whatever
    the text cells hold."""
    with transaction.atomic():
        try:
            seller = factories.SellerFactory(enrolled_on=dt.date(2026, 1, 1))
            orders_save(
                *(
                    (outside_buy_shipping if shipped else cancelled_by_seller)(
                        seller, order_id=order_id, carrier=carrier, tracking_id=tracking_id
                    )
                    for order_id, carrier, tracking_id, shipped in texts
                )
            )
            rows = report.defect_report_values(seller=seller, day=D, window_days=30)
            expected = "".join(python_csv_line(values) for values in rows)
            assert len(rows) == len(texts)
            chunks = report.defect_report_chunks(seller=seller, day=D, window_days=30)
            assert next(chunks) == HEADER_LINE + "\r\n"
            assert "".join(chunks) == expected
        finally:
            transaction.set_rollback(True)


def test_no_snapshot_yet_is_a_clear_404(client, seller_user, seller, make_orders):
    make_orders(outside_buy_shipping(seller))
    client.force_login(seller_user)
    response = client.get(CSV_URL)
    assert response.status_code == 404
    assert "after the first daily run" in response.content.decode()


@pytest.mark.parametrize("window", ["14", "x", "0"])
def test_an_unknown_window_is_a_clear_400(client, seller_user, mixed, window):
    client.force_login(seller_user)
    response = client.get(CSV_URL, {"window": window})
    assert response.status_code == 400 and "must be 7 or 30" in response.content.decode()


# --- The report agrees with the dashboard -----------------------------------------------

# SPEC section 5: the flag columns whose X's make up each metric's defect units.
METRIC_FLAG_COLUMNS = {
    "on_time_shipment_rate": ("Shipped late", "Delivered late"),
    "on_time_delivery_rate": ("Delivered late",),
    "buy_shipping_rate": ("Shipped outside Buy Shipping",),
    "cancellation_rate": ("Cancelled by seller",),
    "valid_tracking_rate": ("No valid tracking",),
}


def _dashboard_defect_units(client, window) -> dict[str, int]:
    response = client.get(DASHBOARD_URL, {"window": window})
    return {card.name: card.snapshot.defect_units for card in response.context["cards"]}


def _assert_report_matches_dashboard(client, seller, day) -> dict[str, int]:
    for window in WINDOWS:
        on_dashboard = _dashboard_defect_units(client, window)
        _response, rows = download(client, window=window)
        assert len({row["order_id"] for row in rows}) == len(rows)
        for metric, columns in METRIC_FLAG_COLUMNS.items():
            assert flagged_units(rows, *columns) == on_dashboard[metric], (window, metric)
        for metric in METRICS:
            listed = client.get(HTML_URL, {"window": window, "metric": metric}).context["total_units"]
            assert listed == on_dashboard[metric], (window, metric)
    return on_dashboard


def test_flagged_units_add_up_to_each_cards_defect_units(client, seller_user, mixed):
    client.force_login(seller_user)
    on_dashboard = _assert_report_matches_dashboard(client, mixed, D)
    # 30 days: the late pairs (4 + 1 units), not the 3 units only shipped late.
    assert on_dashboard["on_time_shipment_rate"] == 5
    assert on_dashboard["one_day_delivery_speed"] == 3 and on_dashboard["two_day_delivery_speed"] == 3


@pytest.mark.django_db
@settings(
    max_examples=int(os.environ.get("DEFECT_REPORT_PROPERTY_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_report_and_dashboard_agree_on_random_orders(data):
    """Random sellers and orders (time zones, DST, facts after D, volume controls) from the
    metrics property test: the report's flagged units always equal the dashboard's."""
    day = data.draw(st.sampled_from(DAYS), label="day")
    drawn = data.draw(sellers(day), label="seller")
    with transaction.atomic():
        try:
            seller = factories.SellerFactory(
                timezone=drawn["timezone"], enrolled_on=drawn["enrolled_on"], history=drawn["history"]
            )
            for control in drawn["controls"]:
                factories.VolumeControlChangeFactory(seller=seller, **control)
            orders_create(seller, drawn["orders"])
            snapshots_compute(day=day, seller_ids=[seller.pk])
            user = seller_user_create(seller=seller, username=f"property{seller.pk}", password="a long password 1")
            client = Client()
            client.force_login(user)
            on_dashboard = _assert_report_matches_dashboard(client, seller, day)
            for metric, units in on_dashboard.items():
                if units:
                    event(f"defects in {metric}")
            target(float(sum(on_dashboard.values())), label="defect units")
        finally:
            transaction.set_rollback(True)


# --- The defect view --------------------------------------------------------------------


def test_defect_view_lists_the_reports_rows_with_explanations(client, seller_user, mixed):
    client.force_login(seller_user)
    response = client.get(HTML_URL, {"window": 30})
    assert response.status_code == 200
    orders = [row.order for row in response.context["rows"]]
    _r, rows = download(client, window=30)
    assert [o.order_id for o in orders] == [row["order_id"] for row in rows]
    assert response.context["total_units"] == sum(int(row["units"]) for row in rows)
    html = response.content.decode()
    late = next(o for o in orders if o.units == 4)
    for sentence in order_explanation(late, D):
        assert sentence in html
    assert "First scanned Nov. 16, 2026, promised ship date Nov. 15, 2026." in html
    assert "Delivered Nov. 19, 2026, promised Nov. 16, 2026." in html
    assert f'href="{CSV_URL}?window=30" download' in html
    assert f'Units in total: <strong class="portal-total-units">{response.context["total_units"]}</strong>' in html


@pytest.mark.parametrize(
    ("flag", "column"),
    [
        ("shipped_late", "Shipped late"),
        ("delivered_late", "Delivered late"),
        ("outside_buy_shipping", "Shipped outside Buy Shipping"),
        ("cancelled_by_seller", "Cancelled by seller"),
        ("no_valid_tracking", "No valid tracking"),
    ],
)
def test_defect_view_filters_by_flag(client, seller_user, mixed, flag, column):
    client.force_login(seller_user)
    response = client.get(HTML_URL, {"window": 30, "flag": flag})
    _r, rows = download(client, window=30)
    expected = [row["order_id"] for row in rows if row[column] == "X"]
    assert expected
    assert [row.order.order_id for row in response.context["rows"]] == expected
    assert response.context["total_units"] == flagged_units(rows, column)
    assert all(column in [tag.label for tag in row.flags] for row in response.context["rows"])


def test_defect_view_by_metric_lists_the_orders_behind_the_card(client, seller_user, mixed):
    client.force_login(seller_user)
    response = client.get(HTML_URL, {"window": 30, "metric": "on_time_shipment_rate"})
    orders = [row.order for row in response.context["rows"]]
    assert sorted(o.units for o in orders) == [1, 4]  # the late pairs, not the shipped-late-only order
    snapshot = mixed.metric_snapshots.get(day=D, window_days=30, metric="on_time_shipment_rate")
    assert response.context["total_units"] == snapshot.defect_units == 5


def test_defect_view_explains_a_slow_promise_and_a_protected_late_delivery(client, seller_user, mixed):
    client.force_login(seller_user)
    html = client.get(HTML_URL, {"window": 30, "metric": "one_day_delivery_speed"}).content.decode()
    assert "with delivery promised for Nov. 18, 2026, 3 days later." in html
    html = client.get(HTML_URL, {"window": 30, "metric": "on_time_delivery_rate"}).content.decode()
    assert "Shipped on a Buy Shipping label: this late delivery does not count against your eligibility." in html


def test_defect_view_combines_flag_and_metric(client, seller_user, mixed):
    client.force_login(seller_user)
    response = client.get(HTML_URL, {"window": 30, "metric": "on_time_delivery_rate", "flag": "shipped_late"})
    assert sorted(row.order.units for row in response.context["rows"]) == [1, 4]


def test_defect_view_pages_fifty_orders_and_keeps_the_filters(client, seller_user, seller, make_orders):
    make_orders(*(outside_buy_shipping(seller, order_id=f"P{n:03d}", units=2) for n in range(120)))
    daily_run(day=D)
    client.force_login(seller_user)
    first = client.get(HTML_URL, {"window": 30, "flag": "outside_buy_shipping"})
    assert len(first.context["rows"]) == 50 and first.context["page"].paginator.num_pages == 3
    assert first.context["total_units"] == 240
    html = first.content.decode()
    assert 'href="?window=30&amp;flag=outside_buy_shipping&amp;page=2"' in html
    assert "Page 1 of 3" in html
    last = client.get(HTML_URL, {"window": 30, "flag": "outside_buy_shipping", "page": 3})
    assert [row.order.order_id for row in last.context["rows"]] == [f"P{n:03d}" for n in range(100, 120)]
    assert client.get(HTML_URL, {"window": 30, "page": "999"}).context["page"].number == 3


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"flag": "late"}, "“late” is not a defect of the report; choose one of: shipped_late"),
        ({"metric": "speed"}, "“speed” is not a metric; choose one of: on_time_shipment_rate"),
    ],
)
def test_defect_view_refuses_unknown_filters_with_a_clear_400(client, seller_user, mixed, query, message):
    client.force_login(seller_user)
    response = client.get(HTML_URL, {"window": 30, **query})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert "portal-defect" not in response.content.decode().replace("portal-defect-filter", "")


def test_defect_view_falls_back_to_thirty_days_for_an_unknown_window(client, seller_user, mixed):
    client.force_login(seller_user)
    response = client.get(HTML_URL, {"window": "90"})
    assert response.status_code == 200 and response.context["window_days"] == 30
    assert "There is no “90” window" in response.content.decode()


def test_defect_view_before_the_first_run_says_so(client, seller_user, seller):
    client.force_login(seller_user)
    response = client.get(HTML_URL)
    assert response.status_code == 404
    assert "appear after the first daily run" in response.content.decode()


def test_metric_defect_orders_is_one_query_for_the_page(seller, mixed, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        units = metric_defect_orders(seller=mixed, day=D, window_days=7, metric="buy_shipping_rate").aggregate(
            units=Sum("units")
        )
    assert units == {"units": 2}


# --- Access -----------------------------------------------------------------------------


@pytest.mark.parametrize("url", [CSV_URL, HTML_URL])
def test_anonymous_visitor_is_sent_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302 and response["Location"] == f"{reverse('login')}?next={url}"


@pytest.mark.parametrize("url", [CSV_URL, HTML_URL])
@pytest.mark.parametrize("account", ["reviewer", "outsider"])
def test_accounts_without_a_seller_get_404(client, request, mixed, url, account):
    client.force_login(request.getfixturevalue(account))
    assert client.get(url).status_code == 404


def test_another_seller_never_sees_this_sellers_orders(client, other_seller, other_seller_user, mixed, make_orders):
    (theirs,) = make_orders(outside_buy_shipping(other_seller, order_id="THEIRS-1"))
    daily_run(day=D)
    mine = set(mixed.orders.values_list("order_id", flat=True))
    client.force_login(other_seller_user)
    response, rows = download(client)
    assert [row["order_id"] for row in rows] == ["THEIRS-1"]
    assert "SELLER02" in response["Content-Disposition"]
    html = client.get(HTML_URL, {"window": 30}).content.decode()
    assert "THEIRS-1" in html and not any(f"<code>{order_id}</code>" in html for order_id in mine)
    for metric in METRICS:
        listed = client.get(HTML_URL, {"window": 30, "metric": metric}).context["rows"]
        assert all(row.order.seller_id == theirs.seller_id for row in listed)


# --- Protected late deliveries and phones (issue 15) -----------------------------------


def test_a_protected_late_delivery_is_tagged_as_not_counting_not_as_a_defect(client, seller_user, mixed):
    from metrics.definitions import is_protected_late

    client.force_login(seller_user)
    response = client.get(HTML_URL, {"window": 30})
    delivered_late_tags = [
        (row.order, tag) for row in response.context["rows"] for tag in row.flags if tag.name == "delivered_late"
    ]
    protected = [order for order, tag in delivered_late_tags if not tag.counts]
    assert protected and all(is_protected_late(order, D) for order in protected)
    assert all(tag.counts for order, tag in delivered_late_tags if not is_protected_late(order, D))
    html = response.content.decode()
    excused = (
        '<span class="badge text-bg-secondary text-wrap text-start me-1 portal-flag portal-flag-excused"'
        ' data-flag="delivered_late">'
    )
    assert html.count(excused) == len(protected)
    assert (
        f"{excused}Delivered late · does not count</span>" in html
        and "(Buy Shipping label: excused for on-time delivery)" in html
    )
    # Every other flag stays a red badge.
    assert html.count('class="badge text-bg-danger me-1 portal-flag"') == sum(
        tag.counts for row in response.context["rows"] for tag in row.flags
    )


def test_the_orders_behind_a_count_tag_protected_late_deliveries_too(client, seller_user, mixed):
    from metrics.definitions import is_protected_late

    client.force_login(seller_user)
    response = client.get(reverse("metrics:population"), {"window": 30, "metric": "on_time_delivery_rate"})
    orders = list(response.context["page"])
    assert any(o.is_protected for o in orders)
    assert all(o.is_protected == (o.is_defect and is_protected_late(o, D)) for o in orders)
    html = response.content.decode()
    assert html.count("Defect · does not count") == sum(o.is_protected for o in orders)
    # The count of defects names only the units that count against the seller.
    counted = sum(o.units for o in orders if o.is_defect and not o.is_protected)
    assert response.context["defect_units"] == counted
    assert counted < sum(o.units for o in orders if o.is_defect)
    # Metrics without the protection never tag one.
    response = client.get(reverse("metrics:population"), {"window": 30, "metric": "on_time_shipment_rate"})
    assert not any(o.is_protected for o in response.context["page"])


def test_the_speed_metrics_orders_name_their_units_in_their_own_words(client, seller_user, mixed):
    client.force_login(seller_user)
    html = client.get(reverse("metrics:population"), {"window": 30, "metric": "one_day_delivery_speed"}).content
    assert "of them are units promised slower than one day." in html.decode()
    assert "defect units" not in html.decode()


def test_on_a_phone_each_order_is_a_card_with_every_column_labelled(client, seller_user, mixed):
    client.force_login(seller_user)
    html = client.get(HTML_URL, {"window": 30}).content.decode()
    assert 'class="table table-sm table-hover align-top portal-defects portal-card-table"' in html
    row = html.split('<tr class="portal-defect"')[1].split("</tr>")[0]
    labels = ["Order", "Purchased", "Units", "Carrier and tracking", "Defects", "Why"]
    assert [cell.split('"')[0] for cell in row.split('data-label="')[1:]] == labels


def test_a_late_pair_stays_red_in_the_on_time_shipment_list_whatever_its_label(client, seller_user, mixed):
    """Buy Shipping protection excuses late deliveries for on-time delivery only: in the list
    of on-time shipment defects a protected order is still a defect of that metric."""
    client.force_login(seller_user)
    response = client.get(HTML_URL, {"window": 30, "metric": "on_time_shipment_rate"})
    assert all(tag.counts for row in response.context["rows"] for tag in row.flags)
    assert "does not count" not in response.content.decode()
