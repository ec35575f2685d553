"""The data feed's own records (SPEC section 9): the integration tokens that may write, and
the log of every batch they sent. The carrier events themselves are order facts
(``sellers.models.TrackingEvent``)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sellers.models import User


class IntegrationToken(models.Model):
    """A bearer token with which a system (the marketplace, a carrier integration) writes
    orders and carrier events. Created by staff with ``create_integration_token NAME``,
    which prints it once; only its SHA-256 hash is stored, and ``prefix`` tells tokens apart.
    Revoked, never deleted: the batch log names it."""

    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=16)
    key_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        User, verbose_name=_("created by"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("integration token")
        verbose_name_plural = _("integration tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class FeedBatch(models.Model):
    """One request to a feed endpoint by an integration token: when, what, how it was
    answered and what it counted. Rate-limited requests (429) are not logged: a client in a
    loop must not fill the log."""

    class Kind(models.TextChoices):
        ORDERS = "orders", _("Orders")
        TRACKING_EVENTS = "tracking_events", _("Carrier tracking events")

    token = models.ForeignKey(
        IntegrationToken, verbose_name=_("integration token"), on_delete=models.PROTECT, related_name="batches"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    status_code = models.PositiveSmallIntegerField(_("HTTP status"))
    items = models.PositiveIntegerField(_("items"), default=0)
    invalid = models.PositiveIntegerField(_("invalid items"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    applied = models.PositiveIntegerField(_("applied"), default=0)
    pending = models.PositiveIntegerField(_("pending"), default=0)
    repeated = models.PositiveIntegerField(_("repeated"), default=0)
    error = models.TextField(_("error"), blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("feed batch")
        verbose_name_plural = _("feed batches")
        indexes = [models.Index(fields=["token", "received_at"], name="feed_batch_token_received")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.received_at:%Y-%m-%d %H:%M:%S} ({self.status_code})"
