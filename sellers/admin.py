"""Staff administration of sellers, their settings and orders."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from sellers.models import (
    ApiToken,
    AuditEntry,
    CarrierPickup,
    CarrierService,
    CarrierZone,
    OperatingDay,
    Order,
    PrimeRegion,
    Seller,
    SellerEvent,
    User,
    VolumeControlChange,
)
from sellers.services import api_token_revoke, orders_classify_prime, prime_template_automate, seller_defaults_create


class PrimeRegionInline(admin.TabularInline):
    model = PrimeRegion
    extra = 0


class OperatingDayInline(admin.TabularInline):
    model = OperatingDay
    extra = 0
    max_num = 7


class CarrierServiceInline(admin.TabularInline):
    model = CarrierService
    extra = 0
    show_change_link = True


class VolumeControlChangeInline(admin.TabularInline):
    model = VolumeControlChange
    extra = 0
    readonly_fields = ["created_at", "changed_by"]


class ReadOnlyAdminMixin:
    """Staff read these records in the admin; nobody adds, edits or deletes them there."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Seller)
class SellerAdmin(admin.ModelAdmin):
    list_display = ["merchant_token", "name", "status", "timezone", "enrolled_on", "status_changed_at"]
    list_filter = ["status", "weekend_delivery", "region_automation"]
    search_fields = ["merchant_token", "name"]
    inlines = [OperatingDayInline, CarrierServiceInline, VolumeControlChangeInline, PrimeRegionInline]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            seller_defaults_create(seller=obj)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # With region automation on, the template follows the carriers, whatever the inlines said.
        prime_template_automate(seller=form.instance, actor=request.user)


class CarrierPickupInline(admin.TabularInline):
    model = CarrierPickup
    extra = 0
    max_num = 7


class CarrierZoneInline(admin.TabularInline):
    model = CarrierZone
    extra = 0


@admin.register(CarrierService)
class CarrierServiceAdmin(admin.ModelAdmin):
    list_display = ["name", "seller"]
    search_fields = ["name", "seller__merchant_token"]
    list_select_related = ["seller"]
    inlines = [CarrierPickupInline, CarrierZoneInline]

    # Region automation follows carrier changes made here too (SPEC section 1).
    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        prime_template_automate(seller=form.instance.seller, actor=request.user)

    def delete_model(self, request, obj):
        seller = obj.seller
        super().delete_model(request, obj)
        prime_template_automate(seller=seller, actor=request.user)

    def delete_queryset(self, request, queryset):
        sellers = list({service.seller for service in queryset.select_related("seller")})
        super().delete_queryset(request, queryset)
        for seller in sellers:
            prime_template_automate(seller=seller, actor=request.user)


@admin.register(VolumeControlChange)
class VolumeControlChangeAdmin(admin.ModelAdmin):
    list_display = ["seller", "effective_at", "daily_cap", "paused", "paused_until", "changed_by"]
    list_select_related = ["seller", "changed_by"]
    search_fields = ["seller__merchant_token"]

    def save_model(self, request, obj, form, change):
        if not obj.changed_by_id:
            obj.changed_by = request.user
        super().save_model(request, obj, form, change)
        orders_classify_prime(seller_ids=[obj.seller_id], since=obj.seller.local_date(obj.effective_at))


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["order_id", "seller", "purchased_at", "units", "is_prime", "cancelled_by"]
    list_filter = ["is_prime", "buy_shipping", "cancelled_by"]
    search_fields = ["order_id", "seller__merchant_token", "tracking_id"]
    list_select_related = ["seller"]
    date_hierarchy = "purchase_date"
    raw_id_fields = ["seller"]
    readonly_fields = [date_field for _moment, date_field in Order.LOCAL_DATE_FIELDS] + ["is_prime", "updated_at"]

    def save_model(self, request, obj, form, change):
        obj.set_local_dates(obj.seller.zone)
        super().save_model(request, obj, form, change)
        orders_classify_prime(seller_ids=[obj.seller_id], since=obj.purchase_date)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "email", "seller", "is_staff"]
    list_filter = ["is_staff", "is_superuser", "is_active"]
    list_select_related = ["seller"]
    raw_id_fields = ["seller"]
    fieldsets = [*DjangoUserAdmin.fieldsets, (_("Seller"), {"fields": ["seller"]})]
    add_fieldsets = [*DjangoUserAdmin.add_fieldsets, (_("Seller"), {"fields": ["seller"]})]


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The audit history is evidence: staff read it, nobody edits or deletes it."""

    list_display = ["created_at", "seller", "action", "actor", "summary"]
    list_filter = ["action"]
    list_select_related = ["seller", "actor"]
    search_fields = ["seller__merchant_token", "seller__name", "actor__username", "summary"]
    date_hierarchy = "created_at"
    fields = ["created_at", "seller", "actor", "action", "summary", "before", "after", "reason"]
    readonly_fields = fields


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are created by sellers in their settings (the token is shown to them once);
    staff see them without their hash and may revoke them."""

    list_display = ["name", "prefix", "seller", "created_by", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["seller", "created_by"]
    search_fields = ["seller__merchant_token", "name", "prefix"]
    fields = ["seller", "name", "prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        # Revoked, not deleted: the seller's history names the token.
        return False

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request, queryset):
        revoked = sum(
            api_token_revoke(api_token=token, actor=request.user) is not None
            for token in queryset.select_related("seller")
        )
        self.message_user(request, _("%(count)d tokens revoked.") % {"count": revoked})


@admin.register(SellerEvent)
class SellerEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The status history: written by the evaluation and the review workflow only."""

    list_display = ["seller", "kind", "day", "actor", "created_at"]
    list_filter = ["kind"]
    search_fields = ["seller__merchant_token"]
    list_select_related = ["seller", "actor"]
    raw_id_fields = ["seller", "actor"]
