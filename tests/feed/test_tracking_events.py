"""POST /api/v1/tracking-events (SPEC section 9): carrier events matched to orders by
tracking id and carrier, idempotent by event_id, kept while their order is unknown and
applied when it arrives (by the API or by file), under the import's rules."""

from __future__ import annotations

import datetime as dt

import pytest

from feed.models import FeedBatch
from sellers.importing import ImportRejected, orders_import
from sellers.models import Order, TrackingEvent
from tests.feed.conftest import FEED_MOMENT, order
from tests.sellers.test_import_orders import csv_file
from tests.sellers.test_import_orders import order as csv_order

pytestmark = pytest.mark.django_db

TRACKING_ID = "1Z999AA10000000001"
FIRST_SCAN = "2026-11-02T16:40:00-08:00"
DELIVERED = "2026-11-04T13:20:00-08:00"
# The order without its carrier facts: what the marketplace knows of it.
UNSHIPPED_FACTS = {"first_scan_at": None, "delivered_at": None}


def event(event_id: str, /, kind: str = "first_scan", occurred_at: str = FIRST_SCAN, **fields) -> dict:
    return {
        "event_id": event_id,
        "carrier": "UPS Ground",
        "tracking_id": TRACKING_ID,
        "type": kind,
        "occurred_at": occurred_at,
        **fields,
    }


def moment(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def test_an_event_of_a_known_order_is_applied_at_once(feed, seller):
    feed.orders([order("A-1", **UNSHIPPED_FACTS)])
    body = feed.events([event("E1"), event("E2", "delivered", DELIVERED)]).json()
    assert (body["applied"], body["pending"], body["repeated"]) == (2, 0, 0)
    assert body["items"] == [
        {"index": 0, "event_id": "E1", "status": "applied", "repeated": False},
        {"index": 1, "event_id": "E2", "status": "applied", "repeated": False},
    ]
    stored = Order.objects.get()
    assert stored.first_scan_at == moment(FIRST_SCAN) and stored.delivered_at == moment(DELIVERED)
    assert stored.first_scan_date == dt.date(2026, 11, 2) and stored.delivered_date == dt.date(2026, 11, 4)
    assert stored.updated_at == FEED_MOMENT
    assert not TrackingEvent.objects.filter(applied_at__isnull=True).exists()


def test_the_carrier_matches_in_any_case_and_another_carrier_does_not(feed, seller):
    feed.orders([order("A-1", **UNSHIPPED_FACTS)])
    body = feed.events([event("E1", carrier="ups ground"), event("E2", carrier="FedEx Home")]).json()
    assert [item["status"] for item in body["items"]] == ["applied", "pending"]


def test_a_repeated_event_changes_nothing_and_answers_as_before(feed, seller, clock):
    feed.orders([order("A-1", **UNSHIPPED_FACTS)])
    first = feed.events([event("E1")]).json()
    stamped = Order.objects.get().updated_at
    clock.shift(dt.timedelta(minutes=1))
    again = feed.events([event("E1"), event("E1")]).json()
    assert [item["status"] for item in again["items"]] == [first["items"][0]["status"]] * 2
    assert [item["repeated"] for item in again["items"]] == [True, True]
    assert (again["applied"], again["pending"], again["repeated"]) == (0, 0, 2)
    assert TrackingEvent.objects.count() == 1 and Order.objects.get().updated_at == stamped


def test_an_event_id_sent_again_with_other_values_is_refused(feed, seller):
    feed.events([event("E1")])
    response = feed.events([event("E2"), event("E1", occurred_at="2026-11-02T17:00:00-08:00")])
    assert response.status_code == 422
    [item] = response.json()["items"]
    assert item["index"] == 1 and item["event_id"] == "E1"
    assert (
        item["errors"][0]["field"] == "event_id"
        and "received already with other values" in item["errors"][0]["message"]
    )
    assert list(TrackingEvent.objects.values_list("event_id", flat=True)) == ["E1"]


def test_the_first_scan_is_the_earliest_first_scan_event(feed, seller):
    feed.orders([order("A-1", **UNSHIPPED_FACTS)])
    feed.events([event("E2", occurred_at="2026-11-02T18:00:00-08:00"), event("E1")])
    feed.events([event("E3", occurred_at="2026-11-02T20:00:00-08:00")])
    assert Order.objects.get().first_scan_at == moment(FIRST_SCAN)


def test_events_before_their_order_are_pending_then_applied_when_it_arrives_through_the_api(feed, seller):
    body = feed.events([event("E1"), event("E2", "delivered", DELIVERED)]).json()
    assert (body["applied"], body["pending"]) == (0, 2)
    assert TrackingEvent.objects.filter(applied_at__isnull=True).count() == 2
    assert feed.orders([order("A-1", **UNSHIPPED_FACTS)]).json()["items"][0]["status"] == "created"
    stored = Order.objects.get()
    assert stored.first_scan_at == moment(FIRST_SCAN) and stored.delivered_at == moment(DELIVERED)
    assert not TrackingEvent.objects.filter(applied_at__isnull=True).exists()
    # The same order sent again without its carrier facts keeps them: nothing changed.
    assert feed.orders([order("A-1", **UNSHIPPED_FACTS)]).json()["items"][0]["status"] == "unchanged"
    assert Order.objects.get().first_scan_at == moment(FIRST_SCAN)


def test_events_before_their_order_are_applied_when_it_arrives_by_file(feed, seller, tmp_path):
    feed.events([event("E1"), event("E2", "delivered", DELIVERED)])
    path = csv_file(tmp_path, csv_order("A-1", first_scan_at="", delivered_at="", tracking_id=TRACKING_ID))
    assert orders_import(path=path).created == 1
    stored = Order.objects.get()
    assert stored.first_scan_at == moment(FIRST_SCAN) and stored.delivered_at == moment(DELIVERED)
    assert not TrackingEvent.objects.filter(applied_at__isnull=True).exists()
    assert orders_import(path=path).unchanged == 1


def test_an_event_that_breaks_an_order_rule_is_refused_with_the_orders_problem(feed, seller):
    feed.orders([order("A-1", **UNSHIPPED_FACTS)])
    response = feed.events([event("E1", occurred_at="2026-11-02T08:00:00-08:00")])
    assert response.status_code == 422
    [error] = response.json()["items"][0]["errors"]
    assert error["field"] == "occurred_at"
    assert error["message"].startswith("applied to order A-1 of SELLER01, this event breaks a rule of the orders:")
    assert "is before the purchase" in error["message"]
    assert not TrackingEvent.objects.exists() and Order.objects.get().first_scan_at is None


def test_a_delivery_without_a_first_scan_is_refused_until_the_scan_comes_with_it(feed, seller):
    feed.orders([order("A-1", **UNSHIPPED_FACTS)])
    refused = feed.events([event("E2", "delivered", DELIVERED)])
    assert refused.status_code == 422 and "no first carrier scan" in refused.json()["items"][0]["errors"][0]["message"]
    assert feed.events([event("E2", "delivered", DELIVERED), event("E1")]).status_code == 200


def test_a_pending_event_that_breaks_a_rule_refuses_its_order_naming_the_event(feed, seller, tmp_path):
    feed.events([event("E1", occurred_at="2026-11-01T08:00:00-08:00")])
    response = feed.orders([order("A-1", **UNSHIPPED_FACTS)])
    assert response.status_code == 422
    [error] = response.json()["items"][0]["errors"]
    assert error["field"] == "first_scan_at"
    assert error["message"].startswith("with the carrier's tracking events E1 applied, the first carrier scan")
    path = csv_file(tmp_path, csv_order("A-1", first_scan_at="", delivered_at="", tracking_id=TRACKING_ID))
    with pytest.raises(ImportRejected) as rejected:
        orders_import(path=path)
    assert str(rejected.value.problems[0]).startswith(
        "line 2, column first_scan_at: with the carrier's tracking events E1 applied"
    )
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"event_id": ""}, "event_id", "event_id is empty"),
        ({"event_id": "E" * 101}, "event_id", "at most 100 characters"),
        ({"carrier": None}, "carrier", "carrier is empty"),
        ({"tracking_id": 42}, "tracking_id", "tracking_id is a number"),
        ({"type": "in_transit"}, "type", "'in_transit' is not an event type; write first_scan or delivered."),
        ({"occurred_at": "2026-11-20T12:06:00Z"}, "occurred_at", "more than 5 minutes after the moment"),
        ({"occurred_at": "2026-11-02"}, "occurred_at", "is a date without a time"),
        ({"occurred_at": None}, "occurred_at", "occurred_at is empty"),
        ({"status": "ok"}, "status", "'status' is not a field of a carrier event"),
    ],
)
def test_an_invalid_event_is_named_by_index_and_field_and_nothing_is_stored(feed, seller, fields, field, words):
    response = feed.events([event("E0"), {**event("E1"), **fields}])
    assert response.status_code == 422
    [item] = response.json()["items"]
    assert item["index"] == 1
    assert any(e["field"] == field and words in e["message"] for e in item["errors"]), item["errors"]
    assert not TrackingEvent.objects.exists()


def test_an_item_that_is_not_an_event_is_named(feed, seller):
    response = feed.events([event("E0"), [1, 2]])
    assert response.json()["items"][0]["errors"] == [
        {
            "field": None,
            "message": "this item is an array, not a carrier event; send each as a JSON object with the fields "
            "event_id, carrier, tracking_id, type, occurred_at.",
        }
    ]


def test_event_batches_are_logged_with_their_counts(feed, seller, integration):
    feed.orders([order("A-1", **UNSHIPPED_FACTS)])
    feed.events([event("E1"), event("E9", tracking_id="1ZUNKNOWN")])
    feed.events([event("E1")])
    logged = FeedBatch.objects.filter(kind="tracking_events").order_by("id")
    assert [(b.token_id, b.status_code, b.items, b.applied, b.pending, b.repeated) for b in logged] == [
        (integration[0].pk, 200, 2, 1, 1, 0),
        (integration[0].pk, 200, 1, 0, 0, 1),
    ]
