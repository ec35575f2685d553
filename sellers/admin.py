"""Staff administration of sellers, their settings and orders."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sellers.forms import PAUSE_MAX_AHEAD, pause_end_problem
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
    TrackingEvent,
    User,
    VolumeControlChange,
)
from sellers.services import (
    api_token_revoke,
    carrier_service_delete,
    fulfilment_update,
    order_delete,
    order_update,
    seller_defaults_create,
    seller_timezone_change,
    shipping_template_update,
    volume_control_scheduled_delete,
    volume_control_scheduled_update,
    volume_control_update,
)


class ReadOnlyAdminMixin:
    """Staff read these records in the admin; nobody adds, edits or deletes them there."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- sellers: the status is read-only; settings change through the settings services ----------


class OperatingDayInline(admin.TabularInline):
    """Operated days and cutoffs, saved through ``fulfilment_update`` (see ``SellerAdmin``)."""

    model = OperatingDay
    extra = 0
    can_delete = False
    readonly_fields = ["weekday"]

    def has_add_permission(self, request, obj=None):
        return False


class PrimeRegionInline(admin.TabularInline):
    """The Prime template's speeds, saved through ``shipping_template_update``."""

    model = PrimeRegion
    extra = 0
    can_delete = False
    readonly_fields = ["state"]

    def has_add_permission(self, request, obj=None):
        return False


class CarrierServiceInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = CarrierService
    extra = 0
    show_change_link = True


class VolumeControlChangeInline(ReadOnlyAdminMixin, admin.TabularInline):
    """The history; a change is added (or a planned one edited) on its own admin page."""

    model = VolumeControlChange
    extra = 0
    show_change_link = True
    fields = readonly_fields = ("effective_at", "daily_cap", "paused", "paused_until", "changed_by", "created_at")


@admin.register(Seller)
class SellerAdmin(admin.ModelAdmin):
    """SPEC section 4: the status changes only through the daily evaluation (revocation) and
    the review of plans of action (reinstatement), so it is read-only here, with the dates
    that go with it (the status history lists each change); every other change goes through
    the service the pages use."""

    list_display = ["merchant_token", "name", "status", "timezone", "enrolled_on", "status_changed_at"]
    list_filter = ["status", "weekend_delivery", "region_automation"]
    search_fields = ["merchant_token", "name"]
    inlines = [OperatingDayInline, CarrierServiceInline, VolumeControlChangeInline, PrimeRegionInline]
    readonly_fields = ["status", "status_changed_at", "enrolled_on"]
    add_fieldsets = [(None, {"fields": ["name", "merchant_token", "timezone", "enrolled_on"]})]
    fieldsets = [
        (
            None,
            {
                "fields": ["name", "merchant_token", "timezone"],
                "description": _(
                    "Changing the time zone re-dates every order of the seller in the new zone and decides "
                    "Prime orders again; snapshots already computed keep their figures."
                ),
            },
        ),
        (_("Settings"), {"fields": ["weekend_delivery", "region_automation"]}),
        (
            _("Programme status"),
            {
                "fields": ["status", "status_changed_at", "enrolled_on"],
                "description": _(
                    "The status changes only through the daily evaluation (revocation) and the review of "
                    "plans of action (reinstatement)."
                ),
            },
        ),
    ]

    def get_fieldsets(self, request, obj=None):
        return self.add_fieldsets if obj is None else self.fieldsets

    def get_readonly_fields(self, request, obj=None):
        # A new seller is enrolled from the date given; afterwards the date decides which
        # orders count (the evaluation start, SPEC section 4).
        return [] if obj is None else self.readonly_fields

    def get_inlines(self, request, obj):
        # A new seller gets the default settings (seller_defaults_create), edited afterwards.
        return self.inlines if obj is not None else []

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
            seller_defaults_create(seller=obj)
            return
        plain = [name for name in ("name", "merchant_token") if name in form.changed_data]
        if plain:
            obj.save(update_fields=plain)
        if "timezone" in form.changed_data:
            seller_timezone_change(seller=obj, timezone_name=form.cleaned_data["timezone"], actor=request.user)

    def save_related(self, request, form, formsets, change):
        if not change:
            super().save_related(request, form, formsets, change)
            return
        for formset in formsets:
            formset.save(commit=False)  # what changed, for the admin's log; the services store it
        forms_of = {formset.model: formset.forms for formset in formsets}
        seller, actor = form.instance, request.user
        fulfilment_update(
            seller=seller,
            actor=actor,
            days={
                day.instance.weekday: (day.cleaned_data["operated"], day.cleaned_data["cutoff"])
                for day in forms_of.get(OperatingDay, [])
            },
            weekend_delivery=form.cleaned_data["weekend_delivery"],
        )
        shipping_template_update(
            seller=seller,
            actor=actor,
            region_automation=form.cleaned_data["region_automation"],
            speeds={region.instance.state: region.cleaned_data["speed"] for region in forms_of.get(PrimeRegion, [])},
        )


class CarrierPickupInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = CarrierPickup
    extra = 0


class CarrierZoneInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = CarrierZone
    extra = 0


@admin.register(CarrierService)
class CarrierServiceAdmin(admin.ModelAdmin):
    """Read-only but for removal, which goes through ``carrier_service_delete`` (audited,
    region automation follows): pickups and zones are edited on the seller's page."""

    list_display = ["name", "seller"]
    search_fields = ["name", "seller__merchant_token"]
    list_select_related = ["seller"]
    inlines = [CarrierPickupInline, CarrierZoneInline]
    fieldsets = [
        (
            None,
            {
                "fields": ["seller", "name"],
                "description": _(
                    "Carrier services are changed on the seller's Carrier services settings page, where every "
                    "change is audited and region automation follows; here they can be read or removed."
                ),
            },
        )
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, obj):
        carrier_service_delete(carrier_service=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for carrier_service in queryset.select_related("seller"):
            carrier_service_delete(carrier_service=carrier_service, actor=request.user)


# --- volume controls: added from now on through the service; history read-only ----------------


class VolumeControlChangeForm(forms.ModelForm):
    """A change takes effect now or later, never in the past: an earlier moment would decide
    again the orders of days already judged (SPEC section 3)."""

    class Meta:
        model = VolumeControlChange
        fields = ["seller", "effective_at", "daily_cap", "paused", "paused_until"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # One clock for the checks here and for the service that stores the change.
        self.now = timezone.now()
        effective_at = self.fields.get("effective_at")  # absent when the change is only shown
        if effective_at is not None:
            effective_at.required = False
            effective_at.help_text = _("Empty: from the moment you save. Never in the past.")
        if self.instance.pk is None:
            self.initial["effective_at"] = None

    def clean_effective_at(self):
        effective_at = self.cleaned_data["effective_at"]
        if effective_at is not None and effective_at < self.now:
            raise forms.ValidationError(
                _(
                    "A change cannot take effect in the past: the days already judged would change. Leave it "
                    "empty to start now, or choose a later moment."
                )
            )
        if effective_at is not None and effective_at > self.now + PAUSE_MAX_AHEAD:
            raise forms.ValidationError(
                _(
                    "A change takes effect at most a year ahead; choose an earlier moment, or leave it empty to "
                    "start now."
                )
            )
        return effective_at

    def clean(self) -> dict[str, Any]:
        super().clean()  # returns self.cleaned_data, typed as optional by django-stubs
        cleaned = self.cleaned_data
        if self.instance.pk is not None and self.instance.effective_at <= self.now:
            raise forms.ValidationError(_("This change is in effect: it is history and stays as it is."))
        starts = cleaned.get("effective_at") or self.now
        until = cleaned.get("paused_until")
        if cleaned.get("paused") and until is not None:
            seller = cleaned.get("seller") or getattr(self.instance, "seller", None)
            problem = pause_end_problem(
                until, now=starts, zone=seller.zone if seller else timezone.get_current_timezone()
            )
            if problem:
                self.add_error("paused_until", problem)
        return cleaned


@admin.register(VolumeControlChange)
class VolumeControlChangeAdmin(admin.ModelAdmin):
    """Added through ``volume_control_update``, audited as the settings page audits it. A
    change in effect is history (it decided orders of days already judged): read-only, never
    deleted. A planned one is edited or cancelled through the services that decide Prime
    orders again and audit."""

    form = VolumeControlChangeForm
    list_display = ["seller", "effective_at", "daily_cap", "paused", "paused_until", "changed_by"]
    list_select_related = ["seller", "changed_by"]
    search_fields = ["seller__merchant_token"]
    raw_id_fields = ["seller"]

    def get_readonly_fields(self, request, obj=None):
        return ["changed_by", "created_at"] if obj is None else ["seller", "changed_by", "created_at"]

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (obj is None or obj.effective_at > timezone.now())

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and (obj is None or obj.effective_at > timezone.now())

    def get_actions(self, request):
        # The bulk delete would not ask each change whether it is in effect.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def save_model(self, request, obj, form, change):
        control = {
            "daily_cap": obj.daily_cap,
            "paused": obj.paused,
            "paused_until": obj.paused_until,
            "effective_at": form.cleaned_data.get("effective_at"),
            "now": form.now,
        }
        if change:
            volume_control_scheduled_update(change=obj, actor=request.user, **control)
            return
        created = volume_control_update(seller=obj.seller, actor=request.user, **control)
        if created is not None:
            obj.pk = created.pk
            obj.refresh_from_db()

    def log_addition(self, request, obj, message):
        if obj.pk is not None:
            super().log_addition(request, obj, message)

    def response_add(self, request, obj, post_url_continue=None):
        if obj.pk is None:
            self.message_user(
                request,
                _("Nothing was added: that is the volume control already in force at that moment."),
                messages.WARNING,
            )
            return HttpResponseRedirect(reverse("admin:sellers_volumecontrolchange_changelist"))
        return super().response_add(request, obj, post_url_continue)

    def delete_model(self, request, obj):
        volume_control_scheduled_delete(change=obj, actor=request.user)


# --- orders: edited and deleted through the services; added only by import --------------------


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """Orders arrive by import. An edit re-dates the order, decides the Prime orders of its
    old and new purchase dates again and is audited (``order_update``); so is a deletion."""

    list_display = ["order_id", "seller", "purchased_at", "units", "is_prime", "cancelled_by"]
    list_filter = ["is_prime", "buy_shipping", "cancelled_by"]
    search_fields = ["order_id", "seller__merchant_token", "tracking_id"]
    list_select_related = ["seller"]
    date_hierarchy = "purchase_date"
    readonly_fields = [
        "seller",
        "order_id",
        *(date_field for _moment, date_field in Order.LOCAL_DATE_FIELDS),
        "is_prime",
        "updated_at",
    ]

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        order_update(order=obj, actor=request.user)

    def delete_model(self, request, obj):
        order_delete(order=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for order in queryset.select_related("seller"):
            order_delete(order=order, actor=request.user)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "email", "seller", "is_staff"]
    list_filter = ["is_staff", "is_superuser", "is_active"]
    list_select_related = ["seller"]
    raw_id_fields = ["seller"]
    # UserAdmin sets its fieldsets; BaseModelAdmin types them as optional.
    fieldsets = [*(DjangoUserAdmin.fieldsets or ()), (_("Seller"), {"fields": ["seller"]})]
    add_fieldsets = [*DjangoUserAdmin.add_fieldsets, (_("Seller"), {"fields": ["seller"]})]


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The audit history is evidence: staff read it, nobody edits or deletes it."""

    list_display = ["created_at", "seller", "action", "actor", "summary"]
    list_filter = ["action"]
    list_select_related = ["seller", "actor"]
    search_fields = ["seller__merchant_token", "seller__name", "actor__username", "summary"]
    date_hierarchy = "created_at"
    fields = readonly_fields = ("created_at", "seller", "actor", "action", "summary", "before", "after", "reason")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are created by sellers in their settings (the token is shown to them once);
    staff see them without their hash and may revoke them."""

    list_display = ["name", "prefix", "seller", "created_by", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["seller", "created_by"]
    search_fields = ["seller__merchant_token", "name", "prefix"]
    fields = readonly_fields = ("seller", "name", "prefix", "created_by", "created_at", "last_used_at", "revoked_at")
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


@admin.register(TrackingEvent)
class TrackingEventAdmin(admin.ModelAdmin):
    """Carrier events as the feed received them (SPEC section 9); pending ones wait for their
    order. Staff may delete a wrong event (one whose order the import then refuses with it)."""

    list_display = ["event_id", "kind", "carrier", "tracking_id", "occurred_at", "received_at", "applied_at"]
    list_filter = ["kind", ("applied_at", admin.EmptyFieldListFilter)]
    search_fields = ["event_id", "tracking_id"]
    fields = readonly_fields = (
        "event_id",
        "kind",
        "carrier",
        "tracking_id",
        "occurred_at",
        "received_at",
        "applied_at",
    )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
