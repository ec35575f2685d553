"""Staff see the integration tokens (and revoke them) and every batch the feed received."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from feed.models import FeedBatch, IntegrationToken
from feed.services import integration_token_revoke


@admin.register(IntegrationToken)
class IntegrationTokenAdmin(admin.ModelAdmin):
    """Created with ``manage.py create_integration_token NAME`` (the token is printed once);
    listed here without their hash, revoked, never deleted (the batch log names them)."""

    list_display = ["name", "prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["created_by"]
    search_fields = ["name", "prefix"]
    fields = readonly_fields = ("name", "prefix", "created_by", "created_at", "last_used_at", "revoked_at")
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Revoke the selected integration tokens"))
    def revoke(self, request, queryset):
        revoked = sum(integration_token_revoke(token=token) for token in queryset)
        self.message_user(
            request,
            ngettext("%(count)d integration token revoked.", "%(count)d integration tokens revoked.", revoked)
            % {"count": revoked},
        )


# A batch's figures: the log's columns, and (with its error) the page of one batch.
BATCH_COLUMNS: tuple[str, ...] = (
    "received_at",
    "kind",
    "token",
    "status_code",
    "items",
    "invalid",
    "created",
    "updated",
    "unchanged",
    "applied",
    "pending",
    "repeated",
    "duration_ms",
)


@admin.register(FeedBatch)
class FeedBatchAdmin(admin.ModelAdmin):
    """The feed's log: every batch with its token, moment, answer and counts; read only."""

    list_display = BATCH_COLUMNS
    list_filter = ["kind", "status_code", "token"]
    list_select_related = ["token"]
    date_hierarchy = "received_at"
    fields = readonly_fields = (*BATCH_COLUMNS, "error")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
