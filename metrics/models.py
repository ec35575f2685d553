"""How sellers perform: thresholds, stored metric snapshots and eligibility events."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from metrics.definitions import METRIC_DEFINITIONS, WINDOWS, MetricDefinition
from sellers.models import Seller

METRIC_CHOICES = [(name, d.label) for name, d in METRIC_DEFINITIONS.items()]
WINDOW_CHOICES = [(w, _("%(days)s days") % {"days": w}) for w in WINDOWS]


class Threshold(models.Model):
    """The threshold a metric is judged against (SPEC section 3); staff edit it in the admin,
    and every change is kept in ``ThresholdChange`` with who and when."""

    metric = models.CharField(_("metric"), max_length=40, choices=METRIC_CHOICES, unique=True)
    value = models.DecimalField(
        _("threshold"),
        max_digits=6,
        decimal_places=5,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(1))],
        help_text=_("A share between 0 and 1, e.g. 0.935 for 93.5 %."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["metric"]

    def __str__(self) -> str:
        return f"{self.get_metric_display()}: {self.value}"


class ThresholdChange(models.Model):
    metric = models.CharField(_("metric"), max_length=40, choices=METRIC_CHOICES)
    old_value = models.DecimalField(max_digits=6, decimal_places=5, null=True, blank=True)
    new_value = models.DecimalField(max_digits=6, decimal_places=5)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.metric}: {self.old_value} -> {self.new_value}"


class MetricSnapshot(models.Model):
    """One metric of one seller for the window of ``window_days`` ending on ``day`` (D).

    Rebuilt whole for a (seller, day, window, metric): recomputing replaces, never duplicates.
    Units are stored, not only the rate, so the seller can reconcile order by order.
    """

    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="metric_snapshots")
    day = models.DateField(_("evaluation date"))
    window_days = models.PositiveSmallIntegerField(_("window"), choices=WINDOW_CHOICES)
    metric = models.CharField(_("metric"), max_length=40, choices=METRIC_CHOICES)
    population_units = models.PositiveIntegerField(default=0)
    defect_units = models.PositiveIntegerField(default=0)
    protected_units = models.PositiveIntegerField(default=0)
    threshold = models.DecimalField(max_digits=6, decimal_places=5)
    passing = models.BooleanField()
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["seller", "-day", "window_days", "metric"]
        constraints = [
            models.UniqueConstraint(
                fields=["seller", "day", "window_days", "metric"], name="metric_snapshot_unique_key"
            ),
            models.CheckConstraint(condition=Q(defect_units__lte=models.F("population_units")), name="defects_le_pop"),
        ]
        indexes = [models.Index(fields=["day", "passing"], name="metric_snapshot_day_passing")]

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
    def eligibility_rate(self) -> float | None:
        """On-time delivery as judged for eligibility: protected late units excused."""
        rate = self.definition.eligibility_rate(
            population=self.population_units, defects=self.defect_units, protected=self.protected_units
        )
        return None if rate is None else float(rate)


class SellerEvent(models.Model):
    """Something that happened to a seller's programme status, kept for the audit history."""

    class Kind(models.TextChoices):
        REVOKED = "revoked", _("Prime eligibility revoked")
        REINSTATED = "reinstated", _("Prime eligibility reinstated")

    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    day = models.DateField(_("evaluation date"), null=True, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    reasons = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["seller", "-created_at"], name="seller_event_recent")]

    def __str__(self) -> str:
        return f"{self.seller_id} {self.kind} {self.created_at:%Y-%m-%d}"
