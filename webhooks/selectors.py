"""Reads for webhooks."""

from __future__ import annotations

from django.db.models import QuerySet

from sellers.models import Seller
from webhooks.models import WebhookAttempt, WebhookEndpoint


def seller_webhook_endpoints(*, seller: Seller) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(seller=seller).select_related("created_by").order_by("created_at", "id")


def endpoint_attempts(*, endpoint: WebhookEndpoint) -> QuerySet[WebhookAttempt]:
    """The endpoint's delivery log, newest first, with each attempt's event."""
    return WebhookAttempt.objects.filter(endpoint=endpoint).select_related("delivery").order_by("-attempted_at", "-id")
