"""Who may write to the feed and how much (SPEC section 9): integration tokens only,
created by staff and revocable; 10 MB bodies and 10,000 items; a per-token rate limit; JSON
errors for every refusal, never an HTML page."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import OperationalError

from feed.body import MAX_BODY_BYTES, MAX_ITEMS
from feed.models import FeedBatch, IntegrationToken
from feed.services import integration_token_create, integration_token_revoke
from sellers.auth import api_token_hash
from sellers.models import Order, TrackingEvent
from sellers.services import api_token_create
from tests.feed.conftest import EVENTS_URL, FEED_MOMENT, ORDERS_URL, order

# A carrier event of ON_TIME's parcel (its first scan).
EVENT = {
    "carrier": "UPS Ground",
    "tracking_id": "1Z999AA10000000001",
    "type": "first_scan",
    "occurred_at": "2026-11-02T16:40:00-08:00",
}

pytestmark = pytest.mark.django_db


def assert_json_error(response, status: int, words: str) -> None:
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert words in response.json()["error"]


# --- Tokens ------------------------------------------------------------------------------


def test_create_integration_token_prints_it_once_and_stores_only_its_hash(db):
    out = io.StringIO()
    call_command("create_integration_token", "Marketplace orders", stdout=out)
    lines = out.getvalue().splitlines()
    raw = lines[1]
    assert raw.startswith("ppi_") and len(raw) > 40
    token = IntegrationToken.objects.get()
    assert token.name == "Marketplace orders" and token.key_hash == api_token_hash(raw)
    assert raw not in {token.prefix, token.key_hash} and token.prefix == raw[:8]


@pytest.mark.parametrize(("name", "words"), [("  ", "The name is empty"), ("x" * 101, "use at most 100")])
def test_create_integration_token_refuses_an_unusable_name(db, name, words):
    with pytest.raises(CommandError, match=words):
        call_command("create_integration_token", name)
    assert not IntegrationToken.objects.exists()


def test_without_a_token_the_feed_answers_401_in_json(client, seller):
    for url in (ORDERS_URL, EVENTS_URL):
        response = client.post(url, "[]", content_type="application/json")
        assert_json_error(response, 401, "create_integration_token")
        assert response["WWW-Authenticate"] == 'Bearer realm="feed"'


def test_an_unknown_or_revoked_token_answers_401(feed, integration):
    assert_json_error(feed.orders([], token="ppi_nosuchtoken"), 401, "unknown or was revoked")
    integration_token_revoke(token=integration[0])
    assert_json_error(feed.orders([]), 401, "unknown or was revoked")
    assert not integration_token_revoke(token=integration[0])  # revoked once


def test_a_sellers_token_can_read_but_not_write(feed, seller, seller_user):
    _, raw = api_token_create(seller=seller, actor=seller_user, name="reporting")
    assert_json_error(feed.orders([order("A-1")], token=raw), 403, "can only read")
    assert_json_error(feed.events([], token=raw), 403, "can only read")
    assert not Order.objects.exists()


def test_a_logged_in_staff_session_cannot_write(feed, client, admin_user, seller):
    client.force_login(admin_user)
    response = client.post(ORDERS_URL, json.dumps([order("A-1")]), content_type="application/json")
    assert_json_error(response, 401, "integration token")


def test_a_malformed_authorization_header_answers_401(client, seller, integration):
    response = client.post(
        ORDERS_URL, "[]", content_type="application/json", headers={"Authorization": f"Token {integration[1]}"}
    )
    assert_json_error(response, 401, "Authorization: Bearer")


def test_the_token_records_when_it_was_last_used(feed, integration):
    feed.orders([])
    assert IntegrationToken.objects.get().last_used_at == FEED_MOMENT


def test_staff_list_and_revoke_tokens_in_the_admin_but_never_see_their_hash(client, admin_user, integration):
    token, raw = integration
    client.force_login(admin_user)
    listing = client.get("/admin/feed/integrationtoken/").content.decode()
    assert "Marketplace orders" in listing and token.prefix in listing
    assert token.key_hash not in listing and raw not in listing
    client.post("/admin/feed/integrationtoken/", {"action": "revoke", "_selected_action": [token.pk]}, follow=True)
    assert IntegrationToken.objects.get().revoked_at is not None


def test_staff_see_every_batch_in_the_admin(feed, client, admin_user, seller):
    feed.orders([order("A-1")])
    client.force_login(admin_user)
    page = client.get("/admin/feed/feedbatch/")
    assert page.status_code == 200 and "Marketplace orders" in page.content.decode()
    batch = FeedBatch.objects.get()
    assert client.get(f"/admin/feed/feedbatch/{batch.pk}/change/").status_code == 200


# --- Bodies --------------------------------------------------------------------------------


def test_get_answers_405_in_json(feed):
    response = feed.client.get(ORDERS_URL, headers=feed.headers())
    assert_json_error(response, 405, "Use POST")
    assert response["Allow"] == "POST"


@pytest.mark.parametrize(
    "content_type", ["text/csv", "application/x-www-form-urlencoded", "application/json; charset=latin-1"]
)
def test_another_content_type_answers_415(feed, content_type):
    assert_json_error(
        feed.orders("[]", content_type=content_type), 415, "send application/json or application/x-ndjson"
    )


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("[{", "The body is not JSON (Expecting property name"),
        ("   ", "The body is not JSON"),
        ('{"order_id": "A-1"}', "not an array"),
        ("[NaN]", "NaN is not a JSON number"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        (b"[\xff]", "not UTF-8"),
    ],
)
def test_a_body_that_is_not_a_json_array_answers_400(feed, body, words):
    assert_json_error(feed.orders(body), 400, words)


def test_a_malformed_ndjson_line_is_named(feed):
    response = feed.orders('{"order_id": "A-1"}\n{oops\n', content_type="application/x-ndjson")
    assert_json_error(response, 400, "Line 2 of the NDJSON body is not JSON")


def test_a_body_over_10_mb_answers_413_without_being_read(feed, seller):
    body = "[" + " " * MAX_BODY_BYTES + "]"
    assert_json_error(feed.orders(body), 413, "larger than 10 MB")
    assert FeedBatch.objects.get().status_code == 413


def test_a_body_of_exactly_10_mb_is_read(feed, seller):
    body = "[" + " " * (MAX_BODY_BYTES - 2) + "]"
    assert feed.orders(body).status_code == 200


def test_more_than_10000_items_answer_413(feed, seller):
    assert_json_error(feed.orders([{}] * (MAX_ITEMS + 1)), 413, "at most 10,000")
    lines = "{}\n" * (MAX_ITEMS + 1)
    assert_json_error(feed.orders(lines, content_type="application/x-ndjson"), 413, "at most 10,000")


def test_a_full_batch_of_10000_orders_is_taken(feed, seller):
    items = [order(f"A-{n}", tracking_id=f"1Z{n:08d}") for n in range(MAX_ITEMS)]
    response = feed.orders(items)
    assert response.status_code == 200 and response.json()["created"] == MAX_ITEMS


# --- The rate limit ------------------------------------------------------------------------


def test_the_rate_limit_answers_429_with_retry_after_per_token(feed, settings, locmem_cache, clock, seller):
    settings.FEED_RATE_LIMIT = 2
    clock.move_to(FEED_MOMENT.replace(second=45))
    assert feed.orders([]).status_code == 200
    assert feed.events([]).status_code == 200
    refused = feed.orders([order("A-1")])
    assert_json_error(refused, 429, "send again in 15 seconds")
    assert refused["Retry-After"] == "15"
    assert not Order.objects.exists()
    # Another token has its own count; the next minute the first may send again.
    _, other = integration_token_create(name="Carrier events")
    assert feed.orders([], token=other).status_code == 200
    clock.move_to(FEED_MOMENT.replace(minute=1))
    assert feed.orders([]).status_code == 200
    # Refused requests are not logged: a client in a loop must not fill the log.
    assert FeedBatch.objects.count() == 4


# --- The database failing -------------------------------------------------------------------


def lost_connection(*args, **kwargs):
    raise OperationalError("server closed the connection unexpectedly")


@pytest.mark.parametrize(
    ("url", "items"),
    [
        (ORDERS_URL, [order("A-1")]),
        (EVENTS_URL, [{**EVENT, "event_id": "evt-1"}]),
    ],
    ids=["orders", "events"],
)
def test_a_database_failure_while_a_batch_is_logged_stores_none_of_it_and_answers_503(
    feed, seller, monkeypatch, url, items
):
    """The log entry is written in the batch's transaction, after its orders or events: when
    it fails, they go with it, and the client is told to send the batch again."""
    monkeypatch.setattr("feed.services.feed_batch_log", lost_connection)
    response = feed.post(url, items)
    assert_json_error(response, 503, "The connection to the database failed")
    assert "so nothing of this batch was stored; send it again" in response.json()["error"]
    assert response["Retry-After"] == "60"
    assert not Order.objects.exists() and not TrackingEvent.objects.exists() and not FeedBatch.objects.exists()


def test_a_database_failure_while_a_rejected_batch_is_logged_answers_503(feed, seller, monkeypatch):
    monkeypatch.setattr("feed.services.feed_batch_log", lost_connection)
    assert_json_error(feed.orders([order("A-1", units=0)]), 503, "nothing of this batch was stored")
    assert not Order.objects.exists()


def test_a_database_failure_while_writing_the_orders_answers_503_naming_no_import_file(feed, seller, monkeypatch):
    """The import's failure (``ImportFailed``) is told in the feed's words: a batch is sent
    again, there is no file to import."""
    monkeypatch.setattr("sellers.importing.orders_classify_prime", lost_connection)
    response = feed.orders([order("A-1")])
    assert_json_error(response, 503, "so nothing of this batch was stored; send it again")
    assert "file" not in response.json()["error"]
    assert not Order.objects.exists()
    # Logged with its failure, outside the rolled-back transaction.
    [logged] = FeedBatch.objects.all()
    assert logged.status_code == 503 and "server closed the connection" in logged.error


def test_a_database_failure_while_finding_the_token_answers_503(feed, seller, monkeypatch):
    monkeypatch.setattr("feed.views.integration_authenticate", lost_connection)
    assert_json_error(feed.orders([order("A-1")]), 503, "The connection to the database failed")
