"""POST /api/v1/orders (SPEC section 9): the import's rules and upsert through JSON,
all of a batch or nothing, answered per item."""

from __future__ import annotations

import json

import pytest

from feed.models import FeedBatch
from sellers.models import Order
from sellers.services import volume_control_change
from tests.feed.conftest import FEED_MOMENT, ON_TIME, order
from tests.sellers.test_import_orders import INVALID_ROWS

pytestmark = pytest.mark.django_db


def test_orders_are_created_and_answered_per_item(feed, seller):
    response = feed.orders([order("A-1"), order("A-2", units=3)])
    assert response.status_code == 200
    body = response.json()
    assert (body["created"], body["updated"], body["unchanged"]) == (2, 0, 0)
    assert body["items"] == [
        {"index": 0, "order_id": "A-1", "merchant_token": "SELLER01", "status": "created"},
        {"index": 1, "order_id": "A-2", "merchant_token": "SELLER01", "status": "created"},
    ]
    stored = Order.objects.get(seller=seller, order_id="A-2")
    assert stored.units == 3 and stored.is_prime
    assert stored.first_scan_date.isoformat() == "2026-11-02" and stored.delivered_date.isoformat() == "2026-11-04"


def test_sending_the_same_orders_again_is_unchanged_and_a_change_is_an_update(feed, seller):
    feed.orders([order("A-1"), order("A-2")])
    stamped = Order.objects.get(order_id="A-1").updated_at
    body = feed.orders([order("A-1"), order("A-2", units=2)]).json()
    assert [item["status"] for item in body["items"]] == ["unchanged", "updated"]
    assert (body["created"], body["updated"], body["unchanged"]) == (0, 1, 1)
    assert Order.objects.get(order_id="A-1").updated_at == stamped
    assert Order.objects.get(order_id="A-2").units == 2


def test_ndjson_is_accepted(feed, seller):
    lines = "\n".join(json.dumps(item) for item in (order("A-1"), order("A-2"))) + "\n\n"
    response = feed.orders(lines, content_type="application/x-ndjson")
    assert response.status_code == 200 and response.json()["created"] == 2


def test_one_invalid_item_stores_nothing_and_names_its_index_order_id_and_field(feed, seller):
    feed.orders([order("A-1")])
    response = feed.orders([order("A-1", units=5), order("A-2"), order("A-3", units=0)])
    assert response.status_code == 422
    body = response.json()
    assert body["invalid"] == 1 and "nothing was stored" in body["error"]
    assert body["items"] == [
        {
            "index": 2,
            "order_id": "A-3",
            "errors": [
                {
                    "field": "units",
                    "message": "0 is not a number of units: an order has from 1 to 10,000 units; write how many "
                    "items it has, e.g. 2.",
                }
            ],
        }
    ]
    assert list(Order.objects.values_list("order_id", "units")) == [("A-1", 1)]


def _json_value(column: str, cell: str):
    """A file's cell as the JSON value an integrator would send, or None where JSON has no
    such value (a word for a number): those rows are the file's alone."""
    if cell == "":
        return None
    if column == "units":
        return int(cell) if cell.lstrip("-").isdigit() else _NO_JSON
    if column == "buy_shipping":
        return {"true": True, "false": False}.get(cell, _NO_JSON)
    return cell


_NO_JSON = object()
# Every rule of the file import whose values JSON can carry, for the same values.
SAME_RULES = {
    name: (cells, column, message)
    for name, (cells, column, message) in INVALID_ROWS.items()
    if all(_json_value(c, v) is not _NO_JSON for c, v in cells.items())
}


@pytest.mark.parametrize(("cells", "column", "message"), SAME_RULES.values(), ids=SAME_RULES.keys())
def test_every_import_rule_answers_the_same_message_through_the_api(feed, seller, cells, column, message):
    item = {**ON_TIME, **{name: _json_value(name, cell) for name, cell in cells.items()}}
    response = feed.orders([order("A-0"), item])
    assert response.status_code == 422
    [answer] = response.json()["items"]
    assert answer["index"] == 1
    assert any(e["field"] == column and message in e["message"] for e in answer["errors"]), answer["errors"]
    assert not Order.objects.exists()


def test_the_same_order_twice_in_a_batch_is_named_on_the_later_item(feed, seller):
    body = feed.orders([order("A-1"), order("A-2"), order("A-1")]).json()
    assert body["items"] == [
        {
            "index": 2,
            "order_id": "A-1",
            "errors": [
                {
                    "field": "order_id",
                    "message": "order A-1 of SELLER01 already appears on item 0; each order may appear only once "
                    "in a batch: keep the item with its latest state.",
                }
            ],
        }
    ]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"units": "2"}, "units", "units is a string; write a whole number from 1 to 10,000, e.g. 2."),
        ({"units": 1.5}, "units", "units is a fraction; write a whole number"),
        ({"units": True}, "units", "units is a boolean"),
        ({"buy_shipping": "true"}, "buy_shipping", "buy_shipping is a string; write true or false."),
        ({"purchased_at": 1700000000}, "purchased_at", "purchased_at is a number; write the moment as a string"),
        ({"promised_ship_date": ["2026-11-02"]}, "promised_ship_date", "promised_ship_date is an array"),
        ({"carrier": {"name": "UPS"}}, "carrier", "carrier is an object; write it as a string"),
        ({"order_id": "A\u0000B"}, "order_id", "contains a NUL character"),
        ({"tracking_id": "\ud800"}, "tracking_id", "lone UTF-16 surrogate"),
        ({"purchased_at": "x" * 5000}, "purchased_at", "…' is not a timestamp"),
        ({"purchased_at": "0001-01-01T00:00:00+05:00"}, "purchased_at", "is not a moment of this era"),
        ({"purchased_at": "1999-12-31T23:00:00Z"}, "purchased_at", "is before 2000-01-01"),
        ({"delivered_at": "9999-12-31T23:59:59-12:00"}, "delivered_at", "is not a moment of this era"),
        ({"colour": "red"}, "colour", "'colour' is not a field of an order; the fields are order_id,"),
    ],
)
def test_values_of_the_wrong_type_are_named_with_their_field(feed, seller, fields, field, message):
    response = feed.orders([order("A-1", **fields)])
    assert response.status_code == 422
    errors = response.json()["items"][0]["errors"]
    assert any(e["field"] == field and message in e["message"] for e in errors), errors


def test_an_item_that_is_not_an_object_is_named(feed, seller):
    body = feed.orders([order("A-1"), "A-2", None]).json()
    assert [(item["index"], item["errors"][0]["field"]) for item in body["items"]] == [(1, None), (2, None)]
    assert "this item is a string, not an order" in body["items"][0]["errors"][0]["message"]


def test_absent_optional_fields_mean_not_happened(feed, seller):
    item = {name: ON_TIME[name] for name in ("order_id", "merchant_token", "purchased_at", "units")}
    item |= {"promised_ship_date": "2026-11-02", "promised_delivery_date": "2026-11-04", "buy_shipping": False}
    assert feed.orders([item]).status_code == 200
    stored = Order.objects.get()
    assert stored.first_scan_at is None and stored.carrier == "" and stored.cancelled_by == ""


def test_codes_in_any_case_are_stored_as_the_file_stores_them(feed, seller):
    cancelled = order(
        "A-1",
        first_scan_at=None,
        ship_confirmed_at=None,
        delivered_at=None,
        cancelled_at="2026-11-02T12:00:00-08:00",
        cancelled_by="Seller",
        ship_to_state="ny",
    )
    assert feed.orders([cancelled]).status_code == 200
    assert Order.objects.filter(cancelled_by="seller", ship_to_state="NY").exists()


def test_orders_of_a_paused_badge_are_not_prime_as_by_file(feed, seller, clock):
    clock.move_to(FEED_MOMENT.replace(month=10))
    volume_control_change(seller=seller, daily_cap=None, paused=True)
    clock.move_to(FEED_MOMENT)
    assert feed.orders([order("A-1")]).status_code == 200
    assert not Order.objects.get().is_prime


def test_every_batch_is_logged_with_its_token_moment_and_counts(feed, seller, integration):
    feed.orders([order("A-1"), order("A-2")])
    feed.orders([order("A-1"), order("A-3", units=0)])
    feed.orders("[", content_type="application/json")
    batches = list(FeedBatch.objects.order_by("id").values_list("token", "kind", "status_code", "items", "invalid"))
    assert batches == [
        (integration[0].pk, "orders", 200, 2, 0),
        (integration[0].pk, "orders", 422, 2, 1),
        (integration[0].pk, "orders", 400, 0, 0),
    ]
    first = FeedBatch.objects.order_by("id").first()
    assert (first.created, first.updated, first.unchanged, first.received_at) == (2, 0, 0, FEED_MOMENT)
    assert "not JSON" in FeedBatch.objects.order_by("id").last().error


def test_another_sellers_order_id_is_another_order(feed, seller, other_seller):
    feed.orders([order("A-1")])
    body = feed.orders([order("A-1", merchant_token="SELLER02", purchased_at="2026-11-02T18:15:00+01:00")]).json()
    assert body["items"][0]["status"] == "created"
    assert Order.objects.filter(order_id="A-1").count() == 2
