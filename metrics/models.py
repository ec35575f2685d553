"""How sellers perform: thresholds, stored metric snapshots and plans of action."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from metrics.definitions import (
    METRIC_DEFINITIONS,
    METRICS,
    SNAPSHOT_KEYS,
    SNAPSHOT_KINDS,
    WINDOWS,
    MetricDefinition,
    snapshot_column,
    threshold_column,
)
from metrics.reasons import RevocationReason, revocation_reasons_from_json
from sellers.models import AuditEntry, Order, Seller, User

METRIC_CHOICES = [(name, d.label) for name, d in METRIC_DEFINITIONS.items()]
WINDOW_CHOICES = [(w, _("%(days)s days") % {"days": w}) for w in WINDOWS]


class ThresholdChange(models.Model):
    """A metric's threshold from ``effective_from`` on (SPEC section 3): the thresholds are
    effective-dated, and D is judged with the latest change in force on D (else the
    programme's default), so recomputing an earlier D never changes its verdict.

    Not a table of its own: a view of the audit history (``AuditEntry``), whose threshold
    entries carry the metric, the values and ``effective_from`` (written by
    ``ThresholdChange.entry``, through ``metrics.services.threshold_set``: the admin and
    ``set_threshold``). Kept with who and when; never edited or deleted."""

    metric = models.CharField(_("metric"), max_length=40, choices=METRIC_CHOICES)
    old_value = models.DecimalField(_("threshold before"), max_digits=6, decimal_places=5, null=True, blank=True)
    new_value = models.DecimalField(
        _("threshold"),
        max_digits=6,
        decimal_places=5,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(1))],
        help_text=_("A share between 0 and 1, e.g. 0.935 for 93.5 %."),
    )
    effective_from = models.DateField(_("in force from"))
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("who"),
    )
    changed_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        managed = False
        db_table = "metrics_thresholdchange"
        ordering = ["-effective_from", "-changed_at", "-id"]
        verbose_name = _("threshold change")
        verbose_name_plural = _("thresholds")

    def __str__(self) -> str:
        return f"{self.metric}: {self.old_value} -> {self.new_value} from {self.effective_from}"

    @staticmethod
    def entry(
        *, metric: str, old_value: Decimal, new_value: Decimal, effective_from: dt.date, changed_by: User | None
    ) -> AuditEntry:
        """The audit entry (unsaved) that is this change: the one place its shape is decided,
        beside the view that reads it."""
        return AuditEntry(
            seller=None,
            actor=changed_by,
            action=AuditEntry.Action.THRESHOLD_CHANGED,
            before={"metric": metric, "threshold": format(Decimal(old_value).normalize(), "f")},
            after={
                "metric": metric,
                "threshold": format(Decimal(new_value).normalize(), "f"),
                "effective_from": effective_from.isoformat(),
            },
        )


class DailySnapshot(models.Model):
    """Every metric of one seller for both windows ending on ``day`` (D), in one row: what
    the daily run writes. Per (window, metric) the population, defect, protected and excused
    units and whether it passes, and per metric the threshold it was judged against (the fields
    are added below, named by ``snapshot_column`` and ``threshold_column``).

    One row per seller and day rather than one per metric: writing fourteen narrow rows per
    seller was most of the daily run's cost (docs/performance.md). Pages read the figures
    through ``MetricSnapshot``, a view with a row per (window, metric). Rebuilt whole for a
    (seller, day): recomputing replaces, never duplicates. Units are stored, not only
    rates, so the seller can reconcile order by order.

    The view depends on this table: a migration that rebuilds it or changes or drops a
    column must drop the view first and create it again (see migration 0004).
    """

    # No index of its own: the unique (seller, day) key starts with it.
    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="daily_snapshots", db_index=False)
    day = models.DateField(_("evaluation date"))
    computed_at = models.DateTimeField(auto_now=True)
    # The seller's time zone the day was counted in. A recomputation in another zone (the
    # seller changed it since) leaves the row as it was (SPEC section 1: snapshots already
    # computed stay as they were), so a day's figures never change with a later setting.
    timezone = models.CharField(_("time zone"), max_length=64)

    class Meta:
        ordering = ["seller", "-day"]
        constraints = [
            models.UniqueConstraint(fields=["seller", "day"], name="daily_snapshot_unique_key"),
            *(
                models.CheckConstraint(
                    condition=Q(
                        **{
                            f"{snapshot_column(name, w, 'defects')}__lte": models.F(
                                snapshot_column(name, w, "population")
                            )
                        }
                    ),
                    name=f"daily_snapshot_defects_le_pop_{w}_{name}",
                )
                for w, name in SNAPSHOT_KEYS
            ),
            # No unit is both protected and excused (SPEC section 7): together within the defects.
            *(
                models.CheckConstraint(
                    condition=Q(
                        **{
                            f"{snapshot_column(name, w, 'defects')}__gte": models.F(
                                snapshot_column(name, w, "protected")
                            )
                            + models.F(snapshot_column(name, w, "excused"))
                        }
                    ),
                    name=f"daily_snapshot_excusal_le_def_{w}_{name}",
                )
                for w, name in SNAPSHOT_KEYS
            ),
        ]
        # The evaluation reads one day of every seller.
        indexes = [models.Index(fields=["day"], name="daily_snapshot_day")]

    def __str__(self) -> str:
        return f"{self.seller_id} {self.day}"


def _add_snapshot_fields() -> None:
    for name in METRICS:
        DailySnapshot.add_to_class(threshold_column(name), models.DecimalField(max_digits=6, decimal_places=5))
    for window_days, name in SNAPSHOT_KEYS:
        for kind in SNAPSHOT_KINDS:
            # Units summed over a window: a 64-bit column, which no window's sum can overflow.
            DailySnapshot.add_to_class(
                snapshot_column(name, window_days, kind), models.PositiveBigIntegerField(default=0)
            )
        DailySnapshot.add_to_class(snapshot_column(name, window_days, "passing"), models.BooleanField())


_add_snapshot_fields()


class MetricSnapshot(models.Model):
    """One metric of one seller for the window of ``window_days`` ending on ``day`` (D): a
    row of the database view ``metrics_metricsnapshot``, which lists each ``DailySnapshot``
    as one row per (window, metric) in ``SNAPSHOT_KEYS`` order (migration 0004). Read only;
    the daily run writes ``DailySnapshot``."""

    # DailySnapshot's id * 16 + the (window, metric)'s position in SNAPSHOT_KEYS.
    id = models.BigIntegerField(primary_key=True)
    # The row it is read from: a lookup by it reads one row, where one by ``id`` (computed
    # in the view) reads them all.
    daily_snapshot = models.ForeignKey(
        DailySnapshot, on_delete=models.DO_NOTHING, db_constraint=False, related_name="metric_snapshots"
    )
    seller = models.ForeignKey(
        Seller, on_delete=models.DO_NOTHING, db_constraint=False, related_name="metric_snapshots"
    )
    day = models.DateField(_("evaluation date"))
    window_days = models.PositiveSmallIntegerField(_("window"), choices=WINDOW_CHOICES)
    metric = models.CharField(_("metric"), max_length=40, choices=METRIC_CHOICES)
    population_units = models.PositiveBigIntegerField(default=0)
    defect_units = models.PositiveBigIntegerField(default=0)
    protected_units = models.PositiveBigIntegerField(default=0)
    # Defect units approved incidents excuse as of D (SPEC section 7), none of them protected.
    excused_units = models.PositiveBigIntegerField(default=0)
    threshold = models.DecimalField(max_digits=6, decimal_places=5)
    passing = models.BooleanField()
    computed_at = models.DateTimeField()

    class Meta:
        managed = False
        ordering = ["seller", "-day", "window_days", "metric"]

    def __str__(self) -> str:
        return f"{self.seller_id} {self.day} {self.window_days}d {self.metric}"

    @property
    def definition(self) -> MetricDefinition:
        return METRIC_DEFINITIONS[self.metric]

    @property
    def exact_rate(self) -> Fraction | None:
        return self.definition.rate(population=self.population_units, defects=self.defect_units)

    @property
    def rate(self) -> float | None:
        rate = self.exact_rate
        return None if rate is None else float(rate)

    @property
    def allowance(self) -> int:
        return self.definition.allowance(population=self.population_units, threshold=self.threshold)

    @property
    def counted_units(self) -> int:
        """The defect units that count for eligibility: protected and excused ones do not."""
        return self.defect_units - self.protected_units - self.excused_units

    @property
    def headroom(self) -> int | None:
        """SPEC section 8: the defect units the window can still absorb and pass (None: no orders)."""
        return self.definition.headroom(
            population=self.population_units,
            defects=self.defect_units,
            protected=self.protected_units,
            excused=self.excused_units,
            threshold=self.threshold,
        )

    @property
    def at_risk(self) -> bool:
        """SPEC section 8: passing, with a population, and close to its threshold."""
        return self.definition.at_risk(
            population=self.population_units,
            defects=self.defect_units,
            protected=self.protected_units,
            excused=self.excused_units,
            threshold=self.threshold,
        )

    @property
    def exact_eligibility_rate(self) -> Fraction | None:
        """The rate judged for eligibility, exactly: protected and excused units not counted."""
        return self.definition.eligibility_rate(
            population=self.population_units,
            defects=self.defect_units,
            protected=self.protected_units,
            excused=self.excused_units,
        )

    @property
    def eligibility_rate(self) -> float | None:
        """The rate judged for eligibility (protected and excused units not counted), as a float."""
        rate = self.exact_eligibility_rate
        return None if rate is None else float(rate)

    @property
    def judged_apart(self) -> bool:
        """Whether the verdict is on another rate than the one shown: the metric has Buy
        Shipping protection (on-time delivery), or incidents excused some of its units."""
        return self.definition.buy_shipping_protection or self.excused_units > 0


class PlanOfAction(models.Model):
    """A seller's plan of action to get Prime back (SPEC section 4).

    ``submitted`` -> ``approved`` | ``rejected`` | ``withdrawn``. At most one submitted plan
    per seller (a partial unique constraint); after a rejection the seller may submit a new
    one. A plan still under review when an approved incident reinstates its seller (SPEC
    section 7) is closed as ``withdrawn``: the reinstatement answered it without a decision.
    ``failing_items`` is the list of reasons the seller was revoked for, copied at
    submission so the plan keeps what it answered even after later evaluations.
    """

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Closed: reinstated without it")

    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="plans")
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.SUBMITTED)
    failing_items = models.JSONField(_("failing items"), default=list)
    root_cause = models.TextField(_("root cause analysis"))
    corrective_actions = models.TextField(_("corrective actions taken"))
    preventive_measures = models.TextField(_("preventive measures"))
    timeframe = models.TextField(_("timeframe"))
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("submitted by")
    )
    submitted_at = models.DateTimeField(_("submitted at"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    feedback = models.TextField(_("reviewer's feedback"), blank=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = _("plan of action")
        verbose_name_plural = _("plans of action")
        permissions = [("review_plan", _("Can review plans of action and reinstate sellers"))]
        constraints = [
            models.UniqueConstraint(
                fields=["seller"], condition=Q(status="submitted"), name="plan_one_open_per_seller"
            ),
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(feedback=""), name="plan_rejection_has_feedback"
            ),
        ]
        indexes = [models.Index(fields=["status", "submitted_at"], name="plan_queue")]

    def __str__(self) -> str:
        return f"{self.seller_id} {self.get_status_display()} {self.submitted_at:%Y-%m-%d}"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.SUBMITTED

    @property
    def failing_reasons(self) -> list[RevocationReason]:
        """``failing_items`` as their records (``metrics.reasons``)."""
        return revocation_reasons_from_json(self.failing_items)


class PlanDraft(models.Model):
    """What a seller has written of a plan so far, kept across sessions until submitted."""

    seller = models.OneToOneField(Seller, on_delete=models.CASCADE, related_name="plan_draft")
    root_cause = models.TextField(blank=True)
    corrective_actions = models.TextField(blank=True)
    preventive_measures = models.TextField(blank=True)
    timeframe = models.TextField(blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"draft of {self.seller_id}"


class SellerAtRisk(models.Model):
    """A seller that is at risk now (SPEC section 8), since the day it entered: written by
    the daily run from its latest computed day (``metrics.services.sellers_at_risk_update``).

    A row is inserted when a seller enters at-risk and deleted when it leaves (passing with
    room again, or no longer eligible), so the insertion is the entry: its email (and the
    ``seller.at_risk`` webhook) go out once per entry, not daily. Recomputing a day finds the
    row there and sends nothing; leaving and entering again inserts a new row and sends again.
    """

    seller = models.OneToOneField(Seller, on_delete=models.CASCADE, primary_key=True, related_name="at_risk")
    since = models.DateField(_("at risk since"))  # the D on which it entered
    entered_at = models.DateTimeField(_("entered at"))

    class Meta:
        verbose_name = _("seller at risk")
        verbose_name_plural = _("sellers at risk")

    def __str__(self) -> str:
        return f"{self.seller_id} at risk since {self.since}"


class Incident(models.Model):
    """Extenuating circumstances a seller reports (SPEC section 7): something that was not
    the seller's fault (a carrier breakdown, severe weather, a power outage, a technical
    failure) hit a carrier service (or all) over a few local dates. Staff approve it, choosing
    the metrics it excuses, or reject it with a note.

    ``submitted`` -> ``approved`` | ``rejected``. An approved incident *excuses* the defects,
    for its ``excused_metrics``, of the orders it covers (``metrics.incidents``), for every D
    that ended after ``decided_at``: the rate shown counts them, the verdict does not."""

    class Kind(models.TextChoices):
        CARRIER = "carrier", _("Carrier breakdown or delay")
        WEATHER = "weather", _("Severe weather")
        POWER = "power", _("Power outage")
        TECHNICAL = "technical", _("Technical failure")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="incidents", db_index=False)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    # The carrier service as in the orders' carrier field; empty: every carrier.
    carrier = models.CharField(_("carrier service"), max_length=Order._meta.get_field("carrier").max_length, blank=True)
    start_date = models.DateField(_("first day"))  # local dates, inclusive
    end_date = models.DateField(_("last day"))
    description = models.TextField(_("what happened"))
    # The orders it concerns, as the seller's order ids; empty: every order of the carrier
    # (and dates) above.
    order_ids = ArrayField(
        models.CharField(max_length=Order._meta.get_field("order_id").max_length),
        blank=True,
        default=list,
        verbose_name=_("orders"),
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.SUBMITTED)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    submitted_at = models.DateTimeField(_("submitted at"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    # The metrics an approval excuses (of ``metrics.incidents.EXCUSABLE_METRICS``).
    excused_metrics = ArrayField(models.CharField(max_length=40), blank=True, default=list)
    note = models.TextField(_("reviewer's note"), blank=True)

    class Meta:
        ordering = ["-submitted_at", "-pk"]
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        constraints = [
            models.CheckConstraint(condition=Q(end_date__gte=models.F("start_date")), name="incident_dates_in_order"),
            models.CheckConstraint(
                condition=Q(status="submitted") | Q(decided_at__isnull=False), name="incident_decided_has_moment"
            ),
        ]
        indexes = [
            # A seller's incidents, and the approved ones the metrics read per seller.
            models.Index(fields=["seller", "status"], name="incident_seller_status"),
            # The review queue: submitted incidents, oldest first.
            models.Index(fields=["submitted_at"], name="incident_queue", condition=Q(status="submitted")),
        ]

    def __str__(self) -> str:
        return f"incident #{self.pk} of {self.seller_id}"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.SUBMITTED
