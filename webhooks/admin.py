"""Staff view of webhook endpoints and deliveries: read-only, but for switching an
endpoint on or off. Secrets are never shown."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class AttemptInline(ReadOnlyInline):
    model = WebhookAttempt
    fields = ("attempted_at", "status_code", "error", "duration_ms")
    readonly_fields = fields
    ordering = ("-attempted_at",)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ("url", "seller", "enabled", "failing_since", "disabled_reason", "created_at")
    list_filter = ("enabled", "disabled_reason")
    search_fields = ("url", "seller__name", "seller__merchant_token")
    list_select_related = ("seller",)
    fields = (
        "seller",
        "url",
        "event_types",
        "enabled",
        "disabled_at",
        "disabled_reason",
        "failing_since",
        "created_by",
        "created_at",
    )
    readonly_fields = tuple(name for name in fields if name != "enabled")

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Endpoints are the seller's: added on their settings page, where the secret is shown.
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("event_id", "event_type", "endpoint", "status", "attempts", "next_attempt_at", "created_at")
    list_filter = ("status", "event_type")
    search_fields = ("event_id", "endpoint__url", "endpoint__seller__merchant_token")
    list_select_related = ("endpoint",)
    date_hierarchy = "created_at"
    inlines = [AttemptInline]

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        # Viewable, not editable: what was sent stays as it was sent.
        return request.method in ("GET", "HEAD") and super().has_change_permission(request, obj)
