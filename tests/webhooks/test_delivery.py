"""Delivering a webhook (SPEC section 8): the body and headers, retries with growing delays
for 24 hours, giving up, disabling after 3 days of failures with an email, and a success
that clears the failure clock; and a real POST to a receiver on this machine."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core import mail
from standardwebhooks import Webhook

from sellers.services import seller_user_create
from tests.clock import NOW
from tests.webhooks.conftest import PUBLIC_ADDRESS
from webhooks.choices import DeliveryStatus, DisabledReason, EventType
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.services import (
    RETRY_DELAYS,
    webhook_delivery_attempt,
    webhook_endpoint_create,
    webhook_events_emit,
    webhook_test_event_send,
)

pytestmark = pytest.mark.django_db


def emit(seller, data=None, event_type=EventType.SELLER_STATUS_CHANGED):
    return webhook_events_emit(
        event_type=event_type, seller_ids=[seller.pk], data_for=lambda s: data or {"merchant_token": s.merchant_token}
    )


def attempt(delivery_id) -> str:
    return webhook_delivery_attempt(delivery_id=delivery_id)


def test_a_delivery_posts_the_signed_json_body(clock, seller, endpoint, receiver, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        [delivery_id] = emit(seller, {"merchant_token": "SELLER01", "status": "eligible"})
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempts == 1
    [sent] = receiver.requests
    assert sent["address"] == PUBLIC_ADDRESS and sent["target"].host == "hooks.example.com"
    assert sent["target"].path == "/prime" and sent["target"].port == 443
    body = json.loads(sent["body"])
    assert body == {
        "type": "seller.status_changed",
        "timestamp": "2026-11-21T15:00:00Z",
        "data": {"merchant_token": "SELLER01", "status": "eligible"},
    }
    headers = sent["headers"]
    assert headers["Content-Type"] == "application/json"
    assert headers["webhook-id"] == delivery.event_id and delivery.event_id.startswith("msg_")
    assert headers["webhook-timestamp"] == str(int(NOW.timestamp()))
    assert Webhook(endpoint.secret).verify(sent["body"], headers)["type"] == "seller.status_changed"
    [logged] = WebhookAttempt.objects.all()
    assert logged.status_code == 204 and logged.error == "" and logged.endpoint == endpoint


def test_failures_are_retried_with_growing_delays(clock, seller, endpoint, receiver):
    receiver.answers = [500]
    [delivery_id] = emit(seller)
    start = NOW
    assert attempt(delivery_id) == "pending"
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    waits = []
    for _ in range(6):
        waits.append(delivery.next_attempt_at - dt.datetime.now(dt.UTC))
        # Not due a second before its time.
        clock.move_to(delivery.next_attempt_at - dt.timedelta(seconds=1))
        assert attempt(delivery_id) == "not due"
        clock.move_to(delivery.next_attempt_at)
        attempt(delivery_id)
        delivery.refresh_from_db()
    assert waits == list(RETRY_DELAYS[:6])
    assert waits == sorted(waits)
    assert delivery.attempts == 7 and delivery.first_attempt_at == start
    # The same event, the same body, every time; a fresh timestamp on each attempt.
    assert len({r["body"] for r in receiver.requests}) == 1
    assert len({r["headers"]["webhook-id"] for r in receiver.requests}) == 1
    assert len({r["headers"]["webhook-timestamp"] for r in receiver.requests}) == 7


def test_a_timeout_and_a_refused_connection_are_failed_attempts_with_a_sentence(clock, seller, endpoint, receiver):
    receiver.answers = [TimeoutError("timed out"), ConnectionRefusedError(111, "refused"), 204]
    [delivery_id] = emit(seller)
    attempt(delivery_id)
    clock.shift(RETRY_DELAYS[0])
    attempt(delivery_id)
    clock.shift(RETRY_DELAYS[1])
    assert attempt(delivery_id) == "succeeded"
    errors = list(WebhookAttempt.objects.order_by("attempted_at").values_list("status_code", "error"))
    assert errors == [(None, "No answer within 5 seconds."), (None, "The connection was refused."), (204, "")]


def run_until_settled(clock, delivery_id) -> WebhookDelivery:
    while True:
        attempt(delivery_id)
        delivery = WebhookDelivery.objects.get(pk=delivery_id)
        if delivery.status != DeliveryStatus.PENDING:
            return delivery
        clock.move_to(delivery.next_attempt_at)


def test_a_delivery_gives_up_24_hours_after_its_first_attempt(clock, seller, endpoint, receiver):
    receiver.answers = [503]
    [delivery_id] = emit(seller)
    delivery = run_until_settled(clock, delivery_id)
    assert delivery.status == DeliveryStatus.FAILED and delivery.next_attempt_at is None
    moments = list(WebhookAttempt.objects.order_by("attempted_at").values_list("attempted_at", flat=True))
    assert moments[0] == NOW and moments[-1] == NOW + dt.timedelta(hours=24)
    assert all(later - earlier <= dt.timedelta(hours=8) for earlier, later in itertools.pairwise(moments))
    assert delivery.attempts == len(moments) == 11
    # Failing one day is not yet three: still enabled.
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.failing_since == NOW


def test_an_endpoint_failing_for_3_days_is_disabled_and_its_users_are_emailed(
    clock, seller, seller_user, endpoint, receiver, settings
):
    settings.PORTAL_URL = "https://portal.example.com"
    seller_user.email = "first@seller.example"
    seller_user.save()
    seller_user_create(seller=seller, username="deutsch", password="pw pw pw 1234", email="de@seller.example")
    seller.users.filter(username="deutsch").update(language="de")
    receiver.answers = [500]
    for day in range(2):
        clock.move_to(NOW + dt.timedelta(days=day))
        run_until_settled(clock, emit(seller)[0])
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.failing_since == NOW and not mail.outbox
    # The third day's event is retried until its last attempt, 3 days after the first failure.
    clock.move_to(NOW + dt.timedelta(days=2))
    [delivery_id] = emit(seller)
    assert run_until_settled(clock, delivery_id).status == DeliveryStatus.FAILED
    endpoint.refresh_from_db()
    assert not endpoint.enabled and endpoint.disabled_reason == DisabledReason.FAILING
    assert endpoint.disabled_at == NOW + dt.timedelta(days=3)
    assert WebhookAttempt.objects.filter(delivery_id=delivery_id).latest("attempted_at").attempted_at == (
        NOW + dt.timedelta(days=3)
    )
    by_address = {message.to[0]: message for message in mail.outbox}
    assert set(by_address) == {"first@seller.example", "de@seller.example"}
    assert "Webhook endpoint disabled for SELLER01" in by_address["first@seller.example"].subject
    assert "https://hooks.example.com/prime" in by_address["first@seller.example"].body
    # Where to enable it again, its delivery log, as a link a mail client can open.
    assert f"\nhttps://portal.example.com/settings/webhooks/{endpoint.pk}/\n" in by_address["de@seller.example"].body
    assert "Webhook-Endpunkt" in by_address["de@seller.example"].subject
    # Nothing more is sent to it, and no second email.
    receiver.requests.clear()
    assert emit(seller) == []
    assert receiver.requests == [] and len(mail.outbox) == 2


def test_a_success_clears_the_failure_clock(clock, seller, endpoint, receiver):
    receiver.answers = [500, 500, 200]
    [delivery_id] = emit(seller)
    attempt(delivery_id)
    endpoint.refresh_from_db()
    assert endpoint.failing_since == NOW
    clock.shift(dt.timedelta(days=2, hours=23))
    [second] = emit(seller)
    attempt(second)  # fails: still failing since NOW
    clock.shift(RETRY_DELAYS[0])
    assert attempt(second) == "succeeded"
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None and endpoint.enabled
    # Failing again later starts a new clock: a day later is not three days.
    receiver.answers = [500]
    clock.shift(dt.timedelta(days=1))
    attempt(emit(seller)[0])
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.failing_since == dt.datetime.now(dt.UTC)


def test_a_test_event_is_sent_once_without_retries(
    clock, seller, endpoint, receiver, django_capture_on_commit_callbacks
):
    receiver.answers = [500]
    with django_capture_on_commit_callbacks(execute=True):
        delivery = webhook_test_event_send(endpoint=endpoint)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 1
    assert json.loads(receiver.requests[0]["body"])["type"] == "webhook.test"
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None


def test_a_disabled_endpoints_pending_deliveries_are_not_sent(clock, seller, endpoint, receiver):
    [delivery_id] = emit(seller)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(enabled=False)
    assert attempt(delivery_id) == "not due"
    assert receiver.requests == []
    assert WebhookDelivery.objects.get(pk=delivery_id).status == DeliveryStatus.FAILED


class Recorder(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        Recorder.received.append({"headers": dict(self.headers), "body": self.rfile.read(length)})
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def local_receiver():
    server = HTTPServer(("127.0.0.1", 0), Recorder)
    Recorder.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.django_db(transaction=True)
def test_with_allow_private_a_real_post_reaches_a_local_receiver_signed(settings, seller, seller_user, local_receiver):
    """End to end, real time and a real socket: the endpoint on 127.0.0.1 over plain http,
    allowed by WEBHOOKS_ALLOW_PRIVATE; the receiver checks the signature with the library."""
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    port = local_receiver.server_address[1]
    endpoint = webhook_endpoint_create(
        seller=seller, actor=seller_user, url=f"http://127.0.0.1:{port}/hook", event_types=EventType.values
    )
    delivery = webhook_test_event_send(endpoint=endpoint)  # committed: sent at once (eager)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    [received] = Recorder.received
    assert received["headers"]["Host"] == f"127.0.0.1:{port}"
    payload = Webhook(endpoint.secret).verify(received["body"], received["headers"])
    assert payload["type"] == "webhook.test" and payload["data"]["merchant_token"] == "SELLER01"
    assert WebhookAttempt.objects.get().status_code == 204


def test_the_disabled_email_respects_the_users_preference(seller, seller_user, endpoint):
    """A user who turned off "A webhook endpoint disabled after failing" gets no such email;
    the others still do."""
    from sellers.choices import EmailKind
    from webhooks.notifications import endpoint_disabled_emails_send
    from webhooks.services import webhook_endpoint_disable

    seller_user.email, seller_user.email_opt_outs = "first@seller.example", [EmailKind.WEBHOOK_DISABLED]
    seller_user.save()
    seller_user_create(seller=seller, username="second", password="pw pw pw 1234", email="second@seller.example")
    webhook_endpoint_disable(endpoint=endpoint, reason=DisabledReason.FAILING)
    assert endpoint_disabled_emails_send(endpoint_id=endpoint.pk) == 1
    assert [message.to for message in mail.outbox] == [["second@seller.example"]]


def test_a_broker_outage_at_commit_leaves_the_delivery_to_the_sweeper(
    seller, endpoint, monkeypatch, django_capture_on_commit_callbacks
):
    """Queueing after the commit fails (the broker is down): the caller is not answered
    with an error for a change already made; the delivery stays pending for the sweeper."""
    from kombu.exceptions import OperationalError

    from webhooks import tasks
    from webhooks.services import webhook_deliveries_due

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.deliver_webhook, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        delivery = webhook_test_event_send(endpoint=endpoint)
    assert len(callbacks) == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
    assert webhook_deliveries_due() == [delivery.pk]
