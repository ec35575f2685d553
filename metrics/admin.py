"""Staff administration of thresholds, snapshots, events and plans of action."""

from __future__ import annotations

from django.contrib import admin

from metrics.models import MetricSnapshot, PlanOfAction, SellerEvent, Threshold, ThresholdChange
from metrics.services import threshold_set
from sellers.admin import ReadOnlyAdminMixin


@admin.register(Threshold)
class ThresholdAdmin(admin.ModelAdmin):
    list_display = ["metric", "value", "updated_at"]
    readonly_fields = ["updated_at"]

    def save_model(self, request, obj, form, change):
        # Through the service, so the change is recorded with who and when.
        threshold_set(metric=obj.metric, value=obj.value, changed_by=request.user)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ThresholdChange)
class ThresholdChangeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["metric", "old_value", "new_value", "changed_by", "changed_at"]
    list_filter = ["metric"]


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


@admin.register(SellerEvent)
class SellerEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The history of revocations and reinstatements, written by the evaluation and the
    review workflow (SPEC section 4): read only."""

    list_display = ["seller", "kind", "day", "actor", "created_at"]
    list_filter = ["kind"]
    search_fields = ["seller__merchant_token"]
    list_select_related = ["seller", "actor"]


@admin.register(PlanOfAction)
class PlanOfActionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Plans are decided on the review pages only (one decision, audited, emailed): read only."""

    list_display = ["seller", "status", "submitted_at", "submitted_by", "decided_at", "decided_by"]
    list_filter = ["status"]
    search_fields = ["seller__merchant_token", "seller__name"]
    list_select_related = ["seller", "submitted_by", "decided_by"]
    date_hierarchy = "submitted_at"
