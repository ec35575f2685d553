"""The webhook event types of SPEC section 8, written once."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class EventType(models.TextChoices):
    """What an endpoint can subscribe to (SPEC section 8)."""

    SELLER_STATUS_CHANGED = "seller.status_changed", _("Status changed: Prime eligibility revoked or reinstated")
    SELLER_AT_RISK = "seller.at_risk", _("Entered at risk (once per entry)")
    SNAPSHOT_COMPUTED = "snapshot.computed", _("A day's figures computed")
    PLAN_DECIDED = "plan.decided", _("Plan of action decided")
    INCIDENT_DECIDED = "incident.decided", _("Incident decided")


# The "Send test event" button's type: not one an endpoint subscribes to, so a receiver can
# tell a test from real news; sent to the one endpoint asked, once, without retries.
TEST_EVENT_TYPE = "webhook.test"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Delivered")
    FAILED = "failed", _("Failed")


class DisabledReason(models.TextChoices):
    BY_USER = "by_user", _("Disabled by a user")
    FAILING = "failing", _("Disabled automatically: deliveries failed for 3 days in a row")
