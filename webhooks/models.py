"""A seller's webhook endpoints and what was sent to them (SPEC section 8)."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sellers.models import Seller, User
from webhooks.choices import DeliveryStatus, DisabledReason, EventType

URL_MAX_LENGTH = 500


def all_event_types() -> list[str]:
    return list(EventType.values)


class WebhookEndpoint(models.Model):
    """An HTTPS URL a seller wants events POSTed to, signed with ``secret``.

    The secret is kept as it is, not hashed as API tokens are: every delivery is signed with
    it (Standard Webhooks' HMAC needs the key itself). It is shown to the seller once, at
    creation, and never again, neither on the pages nor in the admin."""

    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(_("URL"), max_length=URL_MAX_LENGTH)
    secret = models.CharField(max_length=100)
    event_types = ArrayField(
        models.CharField(max_length=40, choices=EventType.choices), verbose_name=_("events"), default=all_event_types
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)
    disabled_reason = models.CharField(_("why disabled"), max_length=20, choices=DisabledReason.choices, blank=True)
    # The first failed attempt since the last success; disabled after 3 days of it.
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["seller", "created_at", "id"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        indexes = [
            # The emission's one query: the enabled endpoints of some sellers.
            models.Index(fields=["seller"], condition=Q(enabled=True), name="webhook_endpoint_enabled"),
        ]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One event for one endpoint: the exact body signed and sent, and where its delivery
    stands. ``body`` is text, not JSON: PostgreSQL's jsonb reorders keys, and every retry
    must send (and sign) the very same bytes."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.CharField(_("event id"), max_length=40, unique=True)
    event_type = models.CharField(_("event"), max_length=40)
    # What makes an event the same event (e.g. the day of a snapshot.computed), so a rerun of
    # the daily job sends nothing twice; empty: every emission is new.
    key = models.CharField(max_length=100, blank=True)
    body = models.TextField(_("body"))
    status = models.CharField(
        _("status"), max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    retries = models.BooleanField(default=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    first_attempt_at = models.DateTimeField(_("first attempt at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "event_type", "key"], condition=~Q(key=""), name="webhook_delivery_once_per_key"
            )
        ]
        indexes = [
            # The sweeper's query: deliveries due.
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"), name="webhook_delivery_due"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"


class WebhookAttempt(models.Model):
    """One POST of a delivery: when, the HTTP status or why there was none, how long."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_rows")
    # Denormalised from the delivery: the log lists an endpoint's latest attempts.
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="attempts", db_index=False)
    attempted_at = models.DateTimeField(_("when"))
    status_code = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"))

    class Meta:
        ordering = ["-attempted_at", "-id"]
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")
        indexes = [models.Index(fields=["endpoint", "-attempted_at"], name="webhook_attempt_recent")]

    def __str__(self) -> str:
        return f"{self.attempted_at:%Y-%m-%d %H:%M:%S} {self.status_code or self.error}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
