"""The seller's /settings/webhooks/ pages: add with the secret shown once, disable, enable,
delete, the delivery log, a test event; each seller sees only its own endpoints."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sellers.models import AuditEntry
from tests.webhooks.conftest import HOOK_URL
from webhooks.choices import DeliveryStatus, DisabledReason, EventType
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.services import webhook_delivery_attempt

pytestmark = pytest.mark.django_db

PAGE = "/settings/webhooks/"


@pytest.fixture
def seller_client(client, seller_user):
    client.force_login(seller_user)
    return client


def test_the_page_needs_a_login(client):
    response = client.get(PAGE)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_settings_navigation_links_the_page(seller_client):
    html = seller_client.get(reverse("sellers:settings")).content.decode()
    assert f'href="{PAGE}"' in html


def test_adding_an_endpoint_shows_its_secret_once_and_audits_it(seller_client, seller, seller_user):
    response = seller_client.post(PAGE, {"url": HOOK_URL, "event_types": ["snapshot.computed", "plan.decided"]})
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    endpoint = WebhookEndpoint.objects.get(seller=seller)
    assert endpoint.secret.startswith("whsec_") and endpoint.secret in response.content.decode()
    assert endpoint.event_types == ["snapshot.computed", "plan.decided"] and endpoint.created_by == seller_user
    again = seller_client.get(PAGE).content.decode()
    assert endpoint.secret not in again and HOOK_URL in again
    entry = AuditEntry.objects.get(action=AuditEntry.Action.WEBHOOK_CREATED)
    assert entry.seller == seller and entry.actor == seller_user and entry.after["url"] == HOOK_URL
    assert endpoint.secret not in str(entry.after)


def test_every_event_is_ticked_by_default(seller_client):
    form = seller_client.get(PAGE).context["form"]
    assert form["event_types"].value() == EventType.values


def test_a_refused_url_is_named_with_its_fix_and_nothing_is_saved(seller_client):
    response = seller_client.post(PAGE, {"url": "https://127.0.0.1/hook", "event_types": EventType.values})
    assert response.status_code == 200
    assert "Endpoint URL: 127.0.0.1 is a private, loopback" in response.content.decode()
    response = seller_client.post(PAGE, {"url": "http://hooks.example.com/x", "event_types": EventType.values})
    assert "Use an https:// URL" in response.content.decode()
    response = seller_client.post(PAGE, {"url": HOOK_URL})
    assert "Events: tick at least one event" in response.content.decode()
    response = seller_client.post(PAGE, {"url": HOOK_URL + "/" + "x" * 600, "event_types": EventType.values})
    assert "at most 500 characters" in response.content.decode()
    response = seller_client.post(PAGE, {"url": HOOK_URL, "event_types": ["nope"]})
    assert "nope is not an event" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_a_seller_has_at_most_ten_endpoints(seller_client, seller):
    for _ in range(10):
        seller_client.post(PAGE, {"url": HOOK_URL, "event_types": EventType.values})
    response = seller_client.post(PAGE, {"url": HOOK_URL, "event_types": EventType.values})
    assert "the most a seller may have" in response.content.decode()
    assert WebhookEndpoint.objects.filter(seller=seller).count() == 10


def test_disable_enable_and_delete(seller_client, seller, endpoint):
    seller_client.post(reverse("webhooks:endpoint_disable", args=[endpoint.pk]))
    endpoint.refresh_from_db()
    assert not endpoint.enabled and endpoint.disabled_reason == DisabledReason.BY_USER
    assert "Disabled by a user" in seller_client.get(PAGE).content.decode()
    endpoint.failing_since = endpoint.created_at
    endpoint.save()
    seller_client.post(reverse("webhooks:endpoint_enable", args=[endpoint.pk]))
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.failing_since is None and endpoint.disabled_reason == ""
    response = seller_client.post(reverse("webhooks:endpoint_delete", args=[endpoint.pk]))
    assert response.status_code == 302
    assert not WebhookEndpoint.objects.exists()
    entry = AuditEntry.objects.get(action=AuditEntry.Action.WEBHOOK_DELETED)
    assert entry.before["url"] == HOOK_URL and entry.seller == seller


def test_the_log_lists_attempts_and_sends_a_test_event(
    clock, seller_client, endpoint, receiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = seller_client.post(reverse("webhooks:endpoint_test", args=[endpoint.pk]))
    assert response.status_code == 302
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.event_type == "webhook.test" and delivery.status == DeliveryStatus.SUCCEEDED
    html = seller_client.get(reverse("webhooks:endpoint_log", args=[endpoint.pk])).content.decode()
    assert "webhook.test" in html and delivery.event_id in html and ">204<" in html


def test_the_log_shows_the_latest_50_attempts_a_page(clock, seller_client, endpoint):
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, event_id="msg_x", event_type="webhook.test", body="{}")
    WebhookAttempt.objects.bulk_create(
        WebhookAttempt(
            delivery=delivery,
            endpoint=endpoint,
            attempted_at=clock_moment(i),
            status_code=500,
            duration_ms=i,
        )
        for i in range(60)
    )
    first = seller_client.get(reverse("webhooks:endpoint_log", args=[endpoint.pk]))
    assert len(first.context["page"].object_list) == 50
    assert first.context["page"].object_list[0].duration_ms == 59
    second = seller_client.get(reverse("webhooks:endpoint_log", args=[endpoint.pk]) + "?page=2")
    assert len(second.context["page"].object_list) == 10


def clock_moment(seconds):
    import datetime as dt

    from tests.clock import NOW

    return NOW + dt.timedelta(seconds=seconds)


@pytest.mark.parametrize(
    "name", ["endpoint_log", "endpoint_disable", "endpoint_enable", "endpoint_delete", "endpoint_test"]
)
def test_another_sellers_endpoint_gives_404(client, other_seller_user, endpoint, receiver, name):
    client.force_login(other_seller_user)
    url = reverse(f"webhooks:{name}", args=[endpoint.pk])
    response = client.get(url) if name == "endpoint_log" else client.post(url)
    assert response.status_code == 404
    endpoint.refresh_from_db()
    assert endpoint.enabled and not WebhookDelivery.objects.exists()
    assert HOOK_URL not in client.get(PAGE).content.decode()


def test_staff_without_a_seller_gets_404(client, reviewer):
    client.force_login(reviewer)
    assert client.get(PAGE).status_code == 404


def test_the_page_in_german_and_vietnamese(seller_client, endpoint):
    for language, word in (("de", "Zustellprotokoll"), ("vi", "Nhật ký gửi")):
        seller_client.cookies["django_language"] = language
        assert word in seller_client.get(PAGE).content.decode()


def test_a_failed_attempt_shows_its_sentence(clock, seller_client, endpoint, receiver):
    receiver.answers = [TimeoutError("timed out")]
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event_id="msg_y", event_type="snapshot.computed", body="{}", next_attempt_at=clock_moment(0)
    )
    webhook_delivery_attempt(delivery_id=delivery.pk)
    html = seller_client.get(reverse("webhooks:endpoint_log", args=[endpoint.pk])).content.decode()
    assert "No answer within 5 seconds." in html
    assert "Next attempt at 2026-11-21 07:00:30" in html  # 30 s later, in the seller's zone


def test_a_reload_of_the_page_with_the_secret_adds_no_second_endpoint(seller_client, seller):
    data = {"url": HOOK_URL, "event_types": EventType.values, "once": "reload-key-1"}
    assert seller_client.post(PAGE, data).status_code == 200
    again = seller_client.post(PAGE, data, follow=True)
    assert WebhookEndpoint.objects.filter(seller=seller).count() == 1
    assert "That endpoint was already added; its secret was shown once, when it was added." in again.content.decode()


def test_a_refused_form_sent_again_corrected_is_still_handled(seller_client, seller):
    refused = seller_client.post(PAGE, {"url": "http://hooks.example.com/x", "once": "key-2"})
    assert refused.status_code == 200 and not WebhookEndpoint.objects.exists()
    seller_client.post(PAGE, {"url": HOOK_URL, "event_types": EventType.values, "once": "key-2"})
    assert WebhookEndpoint.objects.filter(seller=seller).count() == 1
