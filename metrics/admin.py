"""Staff administration of thresholds, snapshots, events, plans of action and incidents."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from metrics.definitions import METRIC_DEFINITIONS
from metrics.models import Incident, MetricSnapshot, PlanOfAction, ThresholdChange
from metrics.presenters.rates import threshold_percent
from metrics.selectors import thresholds_in_force
from metrics.services import ThresholdError, threshold_change_check, threshold_set
from sellers.admin import ReadOnlyAdminMixin

# Every way a typed threshold can be wrong, answered with the same hint (98.5 for 0.985, 1.5).
DECIMAL_ERRORS = ("invalid", "min_value", "max_value", "max_digits", "max_decimal_places", "max_whole_digits")


class ThresholdChangeForm(forms.ModelForm):
    """A new threshold from a date on, checked by the rule the service records it by."""

    THRESHOLD_HINT = gettext_lazy(
        "Enter the threshold as a share from 0 to 1 with at most 5 decimals, e.g. 0.985 for 98.5 per cent."
    )
    new_value = forms.DecimalField(
        label=gettext_lazy("Threshold"),
        min_value=0,
        max_value=1,
        max_digits=6,
        decimal_places=5,
        help_text=THRESHOLD_HINT,
        error_messages=dict.fromkeys(DECIMAL_ERRORS, THRESHOLD_HINT),
    )

    class Meta:
        model = ThresholdChange
        fields = ["metric", "new_value", "effective_from"]

    def clean(self) -> dict[str, Any]:
        super().clean()  # returns self.cleaned_data, typed as optional by django-stubs
        cleaned = self.cleaned_data
        metric, value, effective_from = (cleaned.get(name) for name in ("metric", "new_value", "effective_from"))
        if metric is None or value is None or effective_from is None:
            return cleaned
        try:
            threshold_change_check(metric=metric, value=value, effective_from=effective_from)
        except ThresholdError as error:
            self.add_error("effective_from", str(error))
            return cleaned
        if thresholds_in_force(effective_from)[metric] == value:
            self.add_error(
                "new_value",
                _("%(value)s is already the threshold from %(day)s: nothing to change.")
                % {"value": value.normalize(), "day": effective_from.isoformat()},
            )
        return cleaned


@admin.register(ThresholdChange)
class ThresholdChangeAdmin(admin.ModelAdmin):
    """Thresholds are effective-dated (SPEC section 3): staff add a change from a date on;
    changes are never edited or deleted, so every day keeps the threshold it was judged by."""

    form = ThresholdChangeForm
    list_display = ["metric", "new_value", "effective_from", "old_value", "changed_by", "changed_at"]
    list_filter = ["metric"]

    def changelist_view(self, request, extra_context=None):
        # The list holds changes only: say what is in force today, defaults included.
        in_force = thresholds_in_force(timezone.localdate())
        self.message_user(
            request,
            _("In force today: %(thresholds)s.")
            % {
                "thresholds": "; ".join(
                    f"{METRIC_DEFINITIONS[name].label} {threshold_percent(value)} ({value.normalize()})"
                    for name, value in in_force.items()
                )
            },
        )
        return super().changelist_view(request, extra_context)

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        # Through the service, so the change is recorded with who and when and audited; the
        # admin's own log and message then name the change as stored.
        created = threshold_set(
            metric=obj.metric, value=obj.new_value, effective_from=obj.effective_from, changed_by=request.user
        )
        if created is not None:
            obj.pk = created.pk
            obj.refresh_from_db()


@admin.register(MetricSnapshot)
class MetricSnapshotAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """A view over the daily run's rows: read only."""

    list_display = ["seller", "day", "window_days", "metric", "population_units", "defect_units", "passing"]
    list_filter = ["window_days", "metric", "passing"]
    search_fields = ["seller__merchant_token"]
    date_hierarchy = "day"
    list_select_related = ["seller"]
    raw_id_fields = ["seller"]

    def get_object(self, request, object_id, from_field=None):
        """By the row it is read from too: the view computes ``id``, so a lookup by ``id``
        alone would read every row of every day."""
        try:
            pk = int(object_id)
        except (TypeError, ValueError):
            return None
        return self.get_queryset(request).filter(daily_snapshot_id=pk // 16, pk=pk).first()


@admin.register(PlanOfAction)
class PlanOfActionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Plans are decided on the review pages only (one decision, audited, emailed): read only."""

    list_display = ["seller", "status", "submitted_at", "submitted_by", "decided_at", "decided_by"]
    list_filter = ["status"]
    search_fields = ["seller__merchant_token", "seller__name"]
    list_select_related = ["seller", "submitted_by", "decided_by"]
    date_hierarchy = "submitted_at"


@admin.register(Incident)
class IncidentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Incidents are decided on the review pages only (one decision, audited, emailed, with
    the reinstatement it may bring; SPEC section 7): read only here."""

    list_display = ["pk", "seller", "kind", "carrier", "start_date", "end_date", "status", "submitted_at", "decided_at"]
    list_filter = ["status", "kind"]
    search_fields = ["seller__merchant_token"]
    list_select_related = ["seller"]
    date_hierarchy = "submitted_at"
