"""Who a seller is and how they fulfil (SPEC section 1).

Settings are rows rather than blobs so the daily evaluation can check every seller's
requirements in a handful of aggregate queries (SPEC section 2).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from functools import lru_cache
from typing import overload

from django.contrib.auth.models import AbstractUser
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone as django_timezone
from django.utils.translation import gettext_lazy as _

from sellers.choices import (
    MANDATORY_EMAILS,
    STATE_CHOICES,
    CancelledBy,
    EmailKind,
    ProgrammeStatus,
    Speed,
    TrackingEventKind,
    Weekday,
)

DEFAULT_SELLER_TIMEZONE = "America/Los_Angeles"

merchant_token_validator = RegexValidator(
    r"^[A-Z0-9]{6,20}\Z",
    _("A merchant token is 6 to 20 upper-case letters and digits, e.g. A1B2C3D4."),
)


@lru_cache(maxsize=512)
def zone(name: str) -> zoneinfo.ZoneInfo:
    """The ZoneInfo for an IANA name, cached: imports convert millions of timestamps."""
    return zoneinfo.ZoneInfo(name)


def validate_timezone(value: str) -> None:
    try:
        zone(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            _("%(value)s is not an IANA time zone; use a name such as America/Los_Angeles."),
            params={"value": value},
        ) from None


@overload
def local_date(moment: dt.datetime, tz: dt.tzinfo) -> dt.date: ...
@overload
def local_date(moment: dt.datetime | None, tz: dt.tzinfo) -> dt.date | None: ...
def local_date(moment: dt.datetime | None, tz: dt.tzinfo) -> dt.date | None:
    """A timestamp's calendar date in the seller's time zone (SPEC: *local date*)."""
    if moment is None:
        return None
    return moment.astimezone(tz).date()


def day_end(day: dt.date, zone_name: str) -> dt.datetime:
    """The moment D ends in a time zone: the first moment of the next local day. What
    happened by then happened "as of D" (SPEC sections 3, 4 and 7)."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=zone(zone_name))


class Seller(models.Model):
    name = models.CharField(_("name"), max_length=200)
    merchant_token = models.CharField(
        _("merchant token"), max_length=20, unique=True, validators=[merchant_token_validator]
    )
    timezone = models.CharField(
        _("time zone"), max_length=64, default=DEFAULT_SELLER_TIMEZONE, validators=[validate_timezone]
    )
    status = models.CharField(
        _("programme status"), max_length=20, choices=ProgrammeStatus.choices, default=ProgrammeStatus.ELIGIBLE
    )
    # The current status and since when: the latest row of the status history (SellerEvent),
    # kept on the seller because every page and the evaluation read it.
    status_changed_at = models.DateTimeField(_("status changed at"), null=True, blank=True)
    enrolled_on = models.DateField(_("enrolled on"), default=django_timezone.localdate)
    weekend_delivery = models.BooleanField(
        _("six-day delivery"),
        default=True,
        help_text=_("The seller's carrier services deliver on Saturday."),
    )
    region_automation = models.BooleanField(
        _("region automation"),
        default=False,
        help_text=_("Derive the Prime template from the carrier services' delivery zones."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("seller")
        verbose_name_plural = _("sellers")

    def __str__(self) -> str:
        return f"{self.name} ({self.merchant_token})"

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zone(self.timezone)

    @overload
    def local_date(self, moment: dt.datetime) -> dt.date: ...
    @overload
    def local_date(self, moment: dt.datetime | None) -> dt.date | None: ...
    def local_date(self, moment: dt.datetime | None) -> dt.date | None:
        return local_date(moment, self.zone)

    @property
    def enrolment_start(self) -> dt.datetime:
        """The first moment of ``enrolled_on`` in the seller's zone: the evaluation start
        until the first reinstatement (SPEC section 4)."""
        return dt.datetime.combine(self.enrolled_on, dt.time(), tzinfo=self.zone)

    @property
    def is_eligible(self) -> bool:
        return self.status == ProgrammeStatus.ELIGIBLE

    def volume_control_at(self, moment: dt.datetime) -> VolumeControlChange | None:
        """The Prime order-volume control in force at ``moment`` (None: never set): the
        latest that took effect by then.

        Plain SQL because every dashboard view asks: the ORM took twice as long to compile
        this as the database to answer it."""
        from sellers.sql import VOLUME_CONTROL_AT

        found = VolumeControlChange.objects.raw(VOLUME_CONTROL_AT, {"seller": self.pk, "moment": moment})
        return next(iter(found), None)

    def prime_badge_active(self, moment: dt.datetime | None = None) -> bool:
        """Eligible and not paused: what the marketplace should honour right now."""
        if not self.is_eligible:
            return False
        moment = moment or django_timezone.now()
        return self.prime_badge_active_under(self.volume_control_at(moment), moment)

    def prime_badge_active_under(self, control: VolumeControlChange | None, moment: dt.datetime) -> bool:
        """``prime_badge_active`` with the control in force at ``moment`` already read."""
        return self.is_eligible and not paused_by(control, moment)


class User(AbstractUser):
    """A portal account: a seller's user (``seller`` set) or programme staff (``seller`` empty)."""

    seller = models.ForeignKey(
        Seller,
        verbose_name=_("seller"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="users",
        help_text=_("The seller this account belongs to; empty for programme staff."),
    )
    language = models.CharField(
        _("language"),
        max_length=10,
        blank=True,
        help_text=_("The language of the portal and its emails for this account; empty: the portal's default."),
    )
    # The emails (``EmailKind``) this user turned off; empty: every email. Stored as what is
    # off, so a kind added later reaches everyone until they turn it off.
    email_opt_outs = ArrayField(
        models.CharField(max_length=32, choices=EmailKind.choices),
        verbose_name=_("emails turned off"),
        default=list,
        blank=True,
        help_text=_("The portal's emails this account does not want; revocation and reinstatement are always sent."),
    )

    def wants_email(self, kind: str) -> bool:
        """Whether the portal emails this user about ``kind`` (an ``EmailKind``): always for
        revocation and reinstatement (SPEC section 8), else unless the user turned it off."""
        return kind in MANDATORY_EMAILS or kind not in self.email_opt_outs


class PrimeRegion(models.Model):
    """One state of a seller's Prime shipping template for standard-size products."""

    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="prime_regions")
    state = models.CharField(_("state"), max_length=2, choices=STATE_CHOICES)
    speed = models.CharField(_("speed"), max_length=12, choices=Speed.choices, default=Speed.NOT_OFFERED)

    class Meta:
        ordering = ["seller", "state"]
        constraints = [models.UniqueConstraint(fields=["seller", "state"], name="prime_region_unique_state")]

    def __str__(self) -> str:
        return f"{self.state}: {self.get_speed_display()}"


class OperatingDay(models.Model):
    """Whether the seller ships on a weekday, and that day's order cutoff."""

    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="operating_days")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    operated = models.BooleanField(_("operated"), default=False)
    cutoff = models.TimeField(_("order cutoff"), null=True, blank=True)

    class Meta:
        ordering = ["seller", "weekday"]
        constraints = [
            models.UniqueConstraint(fields=["seller", "weekday"], name="operating_day_unique_weekday"),
            models.CheckConstraint(condition=Q(weekday__lte=6), name="operating_day_weekday_range"),
        ]

    def __str__(self) -> str:
        if not self.operated:
            return f"{self.get_weekday_display()}: closed"
        return f"{self.get_weekday_display()}: cutoff {self.cutoff:%H:%M}" if self.cutoff else "no cutoff"


class CarrierService(models.Model):
    """A service the seller ships with, e.g. "UPS Ground"."""

    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="carrier_services")
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        ordering = ["seller", "name"]
        constraints = [models.UniqueConstraint(fields=["seller", "name"], name="carrier_service_unique_name")]

    def __str__(self) -> str:
        return self.name


class CarrierPickup(models.Model):
    """The carrier's pickup time on a weekday; no row means no pickup that day."""

    carrier_service = models.ForeignKey(CarrierService, on_delete=models.CASCADE, related_name="pickups")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    pickup_time = models.TimeField(_("pickup time"))

    class Meta:
        ordering = ["carrier_service", "weekday"]
        constraints = [
            models.UniqueConstraint(fields=["carrier_service", "weekday"], name="carrier_pickup_unique_weekday")
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.pickup_time:%H:%M}"


class CarrierZone(models.Model):
    """A state a carrier service reaches from the seller's warehouse, in one or two days."""

    carrier_service = models.ForeignKey(CarrierService, on_delete=models.CASCADE, related_name="zones")
    state = models.CharField(_("state"), max_length=2, choices=STATE_CHOICES)
    transit_days = models.PositiveSmallIntegerField(_("transit days"), choices=[(1, _("One day")), (2, _("Two days"))])

    class Meta:
        ordering = ["carrier_service", "state"]
        constraints = [
            models.UniqueConstraint(fields=["carrier_service", "state"], name="carrier_zone_unique_state"),
            models.CheckConstraint(condition=Q(transit_days__in=[1, 2]), name="carrier_zone_transit_days"),
        ]

    def __str__(self) -> str:
        return f"{self.state} in {self.transit_days} day(s)"


class VolumeControlChange(models.Model):
    """One change of the Prime order-volume control, kept with the moment it took effect.

    Each row holds the whole control as it stood from ``effective_at`` until the next row,
    because it decides which orders are Prime orders (SPEC section 3): an order placed
    while paused, or past the daily cap in force at its purchase time, counts nowhere.
    """

    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="volume_control_changes")
    effective_at = models.DateTimeField(_("effective at"), default=django_timezone.now)
    daily_cap = models.PositiveIntegerField(
        _("maximum Prime orders per day"),
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(10_000_000)],
        help_text=_("Empty means no cap."),
    )
    paused = models.BooleanField(_("Prime badge paused"), default=False)
    paused_until = models.DateTimeField(
        _("paused until"),
        null=True,
        blank=True,
        help_text=_("The moment the badge comes back on by itself; empty pauses until switched back."),
    )
    changed_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["seller", "-effective_at", "-id"]
        indexes = [models.Index(fields=["seller", "effective_at"], name="volume_control_seller_at")]

    def __str__(self) -> str:
        cap = self.daily_cap if self.daily_cap is not None else "no cap"
        return f"{self.effective_at:%Y-%m-%d %H:%M}: cap {cap}, {'paused' if self.paused else 'active'}"

    def is_paused_at(self, moment: dt.datetime) -> bool:
        return self.paused and (self.paused_until is None or moment < self.paused_until)


def paused_by(control: VolumeControlChange | None, moment: dt.datetime) -> bool:
    """Whether ``control``, the control in force at ``moment`` (None: never set), pauses the
    Prime badge then."""
    return bool(control and control.is_paused_at(moment))


# The most units an order may have (SPEC section 6: an integer from 1 to 10,000).
ORDER_UNITS_MAX = 10_000


class Order(models.Model):
    """An order as imported (SPEC section 6), stored once per (seller, order id).

    The ``*_date`` columns are the local dates of the timestamps in the seller's time zone,
    computed once when the order is written, so the metrics compare plain dates in SQL.
    ``is_prime`` is decided by the volume control and the other orders of the same day
    (see ``sellers.services.orders_classify_prime``).
    """

    # No index of its own: the unique (seller, order_id) and the (seller, purchase_date)
    # indexes both start with it, and a third copy cost every import ~1 s per million rows.
    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="orders", db_index=False)
    order_id = models.CharField(_("order id"), max_length=64)
    purchased_at = models.DateTimeField(_("purchased at"))
    units = models.PositiveIntegerField(_("units"), validators=[MinValueValidator(1)])
    promised_ship_date = models.DateField(_("promised ship date"))
    promised_delivery_date = models.DateField(_("promised delivery date"))
    first_scan_at = models.DateTimeField(_("first carrier scan at"), null=True, blank=True)
    ship_confirmed_at = models.DateTimeField(_("shipment confirmed at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    buy_shipping = models.BooleanField(_("label bought through Buy Shipping"))
    carrier = models.CharField(_("carrier"), max_length=100, blank=True)
    tracking_id = models.CharField(_("tracking id"), max_length=100, blank=True)
    ship_to_state = models.CharField(_("ship-to state"), max_length=2, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancelled_by = models.CharField(_("cancelled by"), max_length=8, choices=CancelledBy.choices, blank=True)
    cancel_requested_at = models.DateTimeField(_("cancellation requested at"), null=True, blank=True)

    purchase_date = models.DateField(_("local purchase date"))
    first_scan_date = models.DateField(null=True, blank=True)
    ship_confirmed_date = models.DateField(null=True, blank=True)
    delivered_date = models.DateField(null=True, blank=True)
    cancelled_date = models.DateField(null=True, blank=True)
    cancel_requested_date = models.DateField(null=True, blank=True)
    is_prime = models.BooleanField(_("Prime order"), default=True)

    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["seller", "purchased_at", "order_id"]
        constraints = [models.UniqueConstraint(fields=["seller", "order_id"], name="order_unique_per_seller")]
        indexes = [
            models.Index(fields=["seller", "purchase_date"], name="order_seller_purchase_date"),
            models.Index(fields=["purchase_date"], name="order_purchase_date"),
            # Carrier events find their orders by tracking id (SPEC section 9).
            models.Index(fields=["tracking_id"], name="order_tracking_id"),
            # The orders that are not Prime orders: few (placed with the badge off), so a
            # re-decision of sellers that were never revoked, paused nor capped, which only
            # looks for these, reads none of an import's orders (they are written as Prime).
            models.Index(
                fields=["seller", "purchase_date"], name="order_not_prime", condition=models.Q(is_prime=False)
            ),
        ]

    def __str__(self) -> str:
        return self.order_id

    # The timestamp -> local date pairs, one definition for import, admin and tests.
    LOCAL_DATE_FIELDS = (
        ("purchased_at", "purchase_date"),
        ("first_scan_at", "first_scan_date"),
        ("ship_confirmed_at", "ship_confirmed_date"),
        ("delivered_at", "delivered_date"),
        ("cancelled_at", "cancelled_date"),
        ("cancel_requested_at", "cancel_requested_date"),
    )

    def set_local_dates(self, tz: zoneinfo.ZoneInfo) -> None:
        for moment_field, date_field in self.LOCAL_DATE_FIELDS:
            setattr(self, date_field, local_date(getattr(self, moment_field), tz))

    def clean(self) -> None:
        """Every rule of the import (SPEC section 6) on this order, so an order edited in the
        admin stays one the import would take: ``sellers.importing.order_problems``, the one
        home of those rules."""
        from sellers.importing import order_problems, order_values_of, seller_ref

        values = order_values_of(self)
        ref = seller_ref(self.seller)
        problems: dict[str, list[str]] = {}
        for field, message in order_problems(values, seller=ref, now=django_timezone.now()):
            problems.setdefault(field if field != "merchant_token" else NON_FIELD_ERRORS, []).append(message)
        if problems:
            raise ValidationError(problems)


class TrackingEvent(models.Model):
    """A carrier's tracking event (SPEC section 9), kept once per ``event_id``.

    It belongs to the orders whose carrier (in any case) and tracking id it names: an
    order's first scan is its earliest first-scan event, its delivery its earliest delivery
    event (``sellers.tracking.with_carrier_events``), whether the events came before or
    after the order. ``applied_at`` is when an order first took it; an event whose order has
    not arrived yet is *pending* (``applied_at`` empty) and is applied when it arrives, by
    file or through the API (``sellers.importing``).
    """

    event_id = models.CharField(_("event id"), max_length=100, unique=True)
    # As long as the order's, whose carrier and tracking id it names.
    carrier = models.CharField(_("carrier"), max_length=Order._meta.get_field("carrier").max_length)
    tracking_id = models.CharField(_("tracking id"), max_length=Order._meta.get_field("tracking_id").max_length)
    kind = models.CharField(_("event"), max_length=16, choices=TrackingEventKind.choices)
    occurred_at = models.DateTimeField(_("occurred at"))
    received_at = models.DateTimeField(_("received at"), default=django_timezone.now)
    applied_at = models.DateTimeField(_("applied to its order at"), null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("carrier tracking event")
        verbose_name_plural = _("carrier tracking events")
        indexes = [
            models.Index(fields=["tracking_id"], name="tracking_event_tracking_id"),
            models.Index(fields=["received_at"], name="tracking_event_pending", condition=Q(applied_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return self.event_id

    @property
    def is_pending(self) -> bool:
        return self.applied_at is None


class AuditEntry(models.Model):
    """One change to a seller's settings or programme status, written in the same
    transaction as the change: who, when, what, before/after, and why."""

    class Action(models.TextChoices):
        SHIPPING_TEMPLATE = "shipping_template", _("Prime shipping template changed")
        FULFILMENT = "fulfilment", _("Fulfilment days and cutoffs changed")
        CARRIER_CREATED = "carrier_created", _("Carrier service added")
        CARRIER_CHANGED = "carrier_changed", _("Carrier service changed")
        CARRIER_DELETED = "carrier_deleted", _("Carrier service removed")
        VOLUME_CONTROL = "volume_control", _("Prime order-volume control changed")
        API_TOKEN_CREATED = "api_token_created", _("API token created")
        API_TOKEN_REVOKED = "api_token_revoked", _("API token revoked")
        STATUS_CHANGED = "status_changed", _("Programme status changed")
        THRESHOLD_CHANGED = "threshold_changed", _("Threshold changed")
        PLAN_SUBMITTED = "plan_submitted", _("Plan of action submitted")
        PLAN_DECIDED = "plan_decided", _("Plan of action decided")
        TIMEZONE_CHANGED = "timezone_changed", _("Time zone changed")
        ORDER_CHANGED = "order_changed", _("Order changed")
        ORDER_DELETED = "order_deleted", _("Order deleted")
        WEBHOOK_CREATED = "webhook_created", _("Webhook endpoint added")
        WEBHOOK_DELETED = "webhook_deleted", _("Webhook endpoint deleted")
        INCIDENT_SUBMITTED = "incident_submitted", _("Incident reported")
        INCIDENT_DECIDED = "incident_decided", _("Incident decided")

    # No index of its own: the (seller, created_at) index starts with it.
    seller = models.ForeignKey(
        Seller, on_delete=models.CASCADE, null=True, blank=True, related_name="audit_entries", db_index=False
    )
    actor = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("who")
    )
    action = models.CharField(_("what"), max_length=40, choices=Action.choices)
    summary = models.CharField(_("summary"), max_length=300, blank=True)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    reason = models.TextField(_("why"), blank=True)
    created_at = models.DateTimeField(_("when"), default=django_timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit history")
        indexes = [
            models.Index(fields=["seller", "-created_at"], name="audit_entry_seller_recent"),
            # The status history and the threshold changes are views of these entries.
            models.Index(
                fields=["seller", "-created_at"], condition=Q(action="status_changed"), name="audit_status_history"
            ),
            models.Index(
                fields=["created_at"], condition=Q(action="threshold_changed"), name="audit_threshold_changes"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.get_action_display()}"


class SellerEvent(models.Model):
    """The seller's status history (SPEC section 4): every revocation and reinstatement with
    the moment it took effect. Kept whole, not only the latest, because the past depends on
    it: orders placed between a revocation and the next reinstatement are not Prime orders
    (SPEC section 3), and the evaluation start *as of D* is the latest reinstatement at or
    before the end of D.

    Not a table of its own: a view of the audit history (``AuditEntry``), whose status
    entries carry the change's ``kind`` (written by ``SellerEvent.entry``, the one way one
    is made). So a status change is written once and shown to staff, to the seller and to
    the evaluation alike.

    ``day`` is D for a revocation (the evaluation that revoked, stored in the entry) and the
    reinstatement's local date in the seller's current zone (computed by the view, so a change
    of zone re-dates it), so "at or before the end of D" is ``day <= D``. ``created_at`` is the
    moment it took effect.
    """

    class Kind(models.TextChoices):
        REVOKED = "revoked", _("Prime eligibility revoked")
        REINSTATED = "reinstated", _("Prime eligibility reinstated")

    seller = models.ForeignKey(Seller, on_delete=models.DO_NOTHING, related_name="events", db_index=False)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    day = models.DateField(_("evaluation date"), null=True, blank=True)
    actor = models.ForeignKey(User, on_delete=models.DO_NOTHING, null=True, blank=True, related_name="+")
    reasons = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(_("when"), default=django_timezone.now)

    class Meta:
        managed = False
        db_table = "sellers_sellerevent"
        ordering = ["-created_at", "-id"]
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")

    def __str__(self) -> str:
        moment = self.created_at.astimezone(self.seller.zone) if self.seller_id else self.created_at
        return f"{self.seller} {self.get_kind_display()} {moment:%Y-%m-%d %H:%M %Z}"

    @staticmethod
    def entry(
        *,
        seller_id: int,
        kind: str,
        moment: dt.datetime,
        day: dt.date | None = None,
        actor: User | None = None,
        reasons: list[dict] | None = None,
        details: dict | None = None,
    ) -> AuditEntry:
        """The audit entry (unsaved) that is a revocation (of evaluation day ``day``) or a
        reinstatement in the status history: the one place its shape is decided, beside the
        view that reads it. ``details`` are shown in the audit history only."""
        after: dict[str, object]
        if kind == SellerEvent.Kind.REVOKED:
            if day is None:
                raise ValueError("A revocation names the evaluation day that revoked.")
            before = {"status": ProgrammeStatus.ELIGIBLE.value}
            after = {"status": ProgrammeStatus.NOT_ELIGIBLE.value, "day": day.isoformat()}
        else:
            before, after = {"status": ProgrammeStatus.NOT_ELIGIBLE.value}, {"status": ProgrammeStatus.ELIGIBLE.value}
        return AuditEntry(
            seller_id=seller_id,
            actor=actor,
            action=AuditEntry.Action.STATUS_CHANGED,
            # No stored sentence: the action, the day and the reasons are shown in the
            # reader's language when the history is displayed.
            before=before,
            after={**after, **(details or {}), "kind": kind, "reasons": reasons or []},
            created_at=moment,
        )


class ApiToken(models.Model):
    """A bearer token a seller's user creates for ``/api/performance/``.

    Only a SHA-256 hash of the token is stored; the token itself is shown once, at creation.
    ``prefix`` (the first characters) lets the seller tell tokens apart.
    """

    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="api_tokens")
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=16)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"), default=django_timezone.now)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        ordering = ["seller", "-created_at", "-id"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
