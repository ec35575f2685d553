from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from portal.once import submission_done, submitted_before
from portal.types import AuthenticatedHttpRequest
from sellers.choices import CONTIGUOUS_REGIONS, MANDATORY_EMAILS, OPTIONAL_EMAILS, EmailKind, Weekday
from sellers.forms import (
    ApiTokenForm,
    CarrierServiceForm,
    EmailPreferencesForm,
    FulfilmentForm,
    ShippingTemplateForm,
    VolumeControlForm,
)
from sellers.models import ApiToken, CarrierService, Seller, paused_by
from sellers.presenters import requirement_checks, requirement_unmet_sentence
from sellers.requirements import minimum_cutoffs, requirements_fixed_on
from sellers.selectors import (
    prime_template_derived,
    seller_api_tokens,
    seller_audit_entries,
    seller_carrier_services,
    seller_for_user,
    seller_last_pickups,
    seller_late_cutoffs,
    seller_object_or_404,
    seller_operating_days,
    seller_prime_speeds,
    seller_requirements,
    seller_volume_control_history,
)
from sellers.services import (
    api_token_create,
    carrier_service_create,
    carrier_service_delete,
    carrier_service_update,
    fulfilment_update,
    shipping_template_update,
    user_email_preferences_update,
    volume_control_update,
)
from sellers.services import api_token_revoke as api_token_revoke_service

# Which requirement checks of SPEC section 2 each settings page answers for.
TEMPLATE_REQUIREMENTS = requirements_fixed_on("sellers:shipping_template")
FULFILMENT_REQUIREMENTS = requirements_fixed_on("sellers:fulfilment")
CARRIER_REQUIREMENTS = requirements_fixed_on("sellers:carriers")
HISTORY_PAGE_SIZE = 25


def _saved(request: HttpRequest, changed: bool, what: str) -> None:
    if changed:
        messages.success(request, _("%(what)s saved.") % {"what": what})
    else:
        messages.info(request, _("%(what)s: nothing changed, so nothing was saved.") % {"what": what})


def _warn_late_cutoffs(request: HttpRequest, seller: Seller) -> None:
    """After a change to cutoffs or pickups: name each operated day whose cutoff is after
    its last carrier pickup (a warning, not a refusal: SPEC section 2)."""
    for late in seller_late_cutoffs(seller=seller):
        day = Weekday(late.weekday).label
        if late.last_pickup is None:
            message = _(
                "%(day)s: you operate that day but no carrier service picks up; orders wait until the next pickup. "
                "Add a pickup on %(day)s to a carrier service, or stop operating that day."
            ) % {"day": day}
        else:
            message = _(
                "%(day)s: the cutoff %(cutoff)s is after the last carrier pickup at %(pickup)s; orders placed in "
                "between wait until the next pickup. Move the cutoff to %(pickup)s or earlier, or add a later pickup."
            ) % {"day": day, "cutoff": late.cutoff.strftime("%H:%M"), "pickup": late.last_pickup.strftime("%H:%M")}
        messages.warning(request, message)


def _warn_failing(request: HttpRequest, seller: Seller, names: tuple[str, ...]) -> None:
    requirements = seller_requirements(seller=seller)
    for name in names:
        if not requirements.passing[name]:
            messages.warning(request, requirement_unmet_sentence(name))


@login_required
def settings_overview(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The settings at a glance, and the user's own email preferences (a small form here:
    a POST saves them and comes back)."""
    seller = seller_for_user(request.user)
    user = request.user
    if request.method == "POST":
        email_form = EmailPreferencesForm(request.POST)
        if email_form.is_valid():
            user_email_preferences_update(user=user, wanted=email_form.cleaned_data["wanted"])
            messages.success(request, _("Your email preferences are saved."))
            return redirect("sellers:settings")
    else:
        email_form = EmailPreferencesForm(
            initial={"wanted": [kind for kind in OPTIONAL_EMAILS if user.wants_email(kind)]}
        )
    now = timezone.now()
    requirements = seller_requirements(seller=seller)
    days = seller_operating_days(seller=seller)
    carrier_services = list(seller_carrier_services(seller=seller))
    control = seller.volume_control_at(now)
    return render(
        request,
        "sellers/settings_overview.html",
        {
            "seller": seller,
            "requirements": requirements,
            "template_requirements": requirement_checks(requirements, TEMPLATE_REQUIREMENTS),
            "fulfilment_requirements": requirement_checks(requirements, FULFILMENT_REQUIREMENTS),
            "carrier_requirements": requirement_checks(requirements, CARRIER_REQUIREMENTS),
            "contiguous_count": len(CONTIGUOUS_REGIONS),
            "operated_days": [day for day in days.values() if day.operated],
            "carrier_services": carrier_services,
            "control": control,
            "paused": paused_by(control, now),
            "active_tokens": sum(1 for token in seller_api_tokens(seller=seller) if token.is_active),
            "last_entry": seller_audit_entries(seller=seller).first(),
            "email_form": email_form,
            "mandatory_emails": [kind.label for kind in EmailKind if kind in MANDATORY_EMAILS],
        },
        status=400 if email_form.is_bound else 200,
    )


@login_required
def shipping_template(request: AuthenticatedHttpRequest) -> HttpResponse:
    seller = seller_for_user(request.user)
    form = ShippingTemplateForm(
        request.POST if request.method == "POST" else None,
        speeds=seller_prime_speeds(seller=seller),
        region_automation=seller.region_automation,
    )
    if form.is_bound and form.is_valid():
        entry = shipping_template_update(
            seller=seller,
            actor=request.user,
            region_automation=form.cleaned_data["region_automation"],
            speeds=form.speeds(),
        )
        _saved(request, entry is not None, _("Prime shipping template"))
        _warn_failing(request, seller, TEMPLATE_REQUIREMENTS)
        return redirect("sellers:shipping_template")
    requirements = seller_requirements(seller=seller)
    derived = prime_template_derived(seller=seller) if seller.region_automation else None
    rows = [
        {
            "state": state,
            "field": field,
            "contiguous": state in CONTIGUOUS_REGIONS,
            "derived": (derived or {}).get(state),
        }
        for state, field in form.speed_fields()
    ]
    return render(
        request,
        "sellers/shipping_template.html",
        {
            "seller": seller,
            "form": form,
            "rows": rows,
            "requirements": requirements,
            "requirement_rows": requirement_checks(requirements, TEMPLATE_REQUIREMENTS),
            "contiguous_count": len(CONTIGUOUS_REGIONS),
        },
    )


@login_required
def fulfilment(request: AuthenticatedHttpRequest) -> HttpResponse:
    seller = seller_for_user(request.user)
    form = FulfilmentForm(
        request.POST if request.method == "POST" else None,
        days=seller_operating_days(seller=seller),
        weekend_delivery=seller.weekend_delivery,
    )
    if form.is_bound and form.is_valid():
        entry = fulfilment_update(
            seller=seller,
            actor=request.user,
            days=form.days(),
            weekend_delivery=form.cleaned_data["weekend_delivery"],
        )
        _saved(request, entry is not None, _("Fulfilment settings"))
        _warn_late_cutoffs(request, seller)
        _warn_failing(request, seller, ("weekend_operations", "weekend_delivery"))
        return redirect("sellers:fulfilment")
    requirements = seller_requirements(seller=seller)
    return render(
        request,
        "sellers/fulfilment.html",
        {
            "seller": seller,
            "form": form,
            "last_pickups": seller_last_pickups(seller=seller),
            "late_cutoffs": seller_late_cutoffs(seller=seller),
            "requirement_rows": requirement_checks(requirements, (*FULFILMENT_REQUIREMENTS, *CARRIER_REQUIREMENTS)),
            "minimum_cutoffs": minimum_cutoffs(),
        },
    )


@login_required
def carriers(request: AuthenticatedHttpRequest) -> HttpResponse:
    seller = seller_for_user(request.user)
    requirements = seller_requirements(seller=seller)
    return render(
        request,
        "sellers/carriers.html",
        {
            "seller": seller,
            "carrier_services": seller_carrier_services(seller=seller),
            "weekdays": Weekday,
            "operating_days": seller_operating_days(seller=seller),
            "last_pickups": seller_last_pickups(seller=seller),
            "late_cutoffs": seller_late_cutoffs(seller=seller),
            "requirement_rows": requirement_checks(requirements, CARRIER_REQUIREMENTS),
        },
    )


def _carrier_form_page(request: AuthenticatedHttpRequest, *, carrier_service: CarrierService | None) -> HttpResponse:
    seller = seller_for_user(request.user)
    form = CarrierServiceForm(
        request.POST if request.method == "POST" else None, seller=seller, carrier_service=carrier_service
    )
    if form.is_bound and form.is_valid():
        settings = {
            "actor": request.user,
            "name": form.cleaned_data["name"],
            "pickups": form.pickups(),
            "one_day_states": form.cleaned_data["one_day_states"],
            "two_day_states": form.cleaned_data["two_day_states"],
        }
        try:
            if carrier_service is None:
                carrier_service_create(seller=seller, **settings)
                changed = True
            else:
                changed = carrier_service_update(carrier_service=carrier_service, **settings) is not None
        except IntegrityError:
            # Another request added the same name since the form checked it.
            form.add_error(
                "name",
                _("You already have a carrier service named %(name)s; choose another name or edit that one.")
                % {"name": settings["name"]},
            )
        else:
            _saved(request, changed, _("Carrier service %(name)s") % {"name": settings["name"]})
            _warn_late_cutoffs(request, seller)
            return redirect("sellers:carriers")
    return render(
        request,
        "sellers/carrier_form.html",
        {"seller": seller, "form": form, "carrier_service": carrier_service},
    )


@login_required
def carrier_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _carrier_form_page(request, carrier_service=None)


@login_required
def carrier_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    carrier_service = seller_object_or_404(
        request.user, CarrierService.objects.prefetch_related("pickups", "zones"), pk=pk
    )
    return _carrier_form_page(request, carrier_service=carrier_service)


@login_required
@require_POST
def carrier_delete(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    carrier_service = seller_object_or_404(request.user, CarrierService.objects.all(), pk=pk)
    seller = carrier_service.seller
    carrier_service_delete(carrier_service=carrier_service, actor=request.user)
    messages.success(request, _("Carrier service %(name)s removed.") % {"name": carrier_service.name})
    if not seller_carrier_services(seller=seller).exists():
        messages.warning(
            request,
            _(
                "You have no carrier service left, so no operated day has a carrier pickup and the carrier "
                "pickups check fails. Add the carrier service you ship with."
            ),
        )
    else:
        _warn_late_cutoffs(request, seller)
    return redirect("sellers:carriers")


@login_required
def volume_control(request: AuthenticatedHttpRequest) -> HttpResponse:
    seller = seller_for_user(request.user)
    now = timezone.now()
    control = seller.volume_control_at(now)
    form = VolumeControlForm(
        request.POST if request.method == "POST" else None, seller=seller, control=control, now=now
    )
    if form.is_bound and form.is_valid():
        change = volume_control_update(
            seller=seller,
            actor=request.user,
            daily_cap=form.cleaned_data["daily_cap"],
            paused=form.cleaned_data["paused"],
            paused_until=form.cleaned_data["paused_until"],
            now=now,
        )
        _saved(request, change is not None, _("Prime order-volume control"))
        return redirect("sellers:volume_control")
    return render(
        request,
        "sellers/volume_control.html",
        {
            "seller": seller,
            "form": form,
            "control": control,
            "paused": paused_by(control, now),
            "history": seller_volume_control_history(seller=seller),
        },
    )


@never_cache
@login_required
def api_tokens(request: AuthenticatedHttpRequest) -> HttpResponse:
    """List and create tokens. A new token is shown in this response only: it is neither
    put in a redirect nor kept in the session, and only its hash is stored."""
    seller = seller_for_user(request.user)
    form = ApiTokenForm(request.POST if request.method == "POST" else None)
    new_token = None
    if form.is_bound and form.is_valid():
        if submitted_before(request, form.cleaned_data["once"]):
            # A reload of the page that showed the new token: it was created once and shown once.
            messages.info(request, _("That token was already created; it was shown once, when it was created."))
            return redirect("sellers:api_tokens")
        token, raw = api_token_create(seller=seller, actor=request.user, name=form.cleaned_data["name"])
        submission_done(request, form.cleaned_data["once"])
        new_token = {"token": token, "raw": raw}
        form = ApiTokenForm()
    return render(
        request,
        "sellers/api_tokens.html",
        {"seller": seller, "form": form, "tokens": seller_api_tokens(seller=seller), "new_token": new_token},
    )


@login_required
@require_POST
def api_token_revoke(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    token = seller_object_or_404(request.user, ApiToken.objects.all(), pk=pk)
    if api_token_revoke_service(api_token=token, actor=request.user) is None:
        messages.info(request, _("API token %(name)s was already revoked.") % {"name": token.name})
    else:
        messages.success(request, _("API token %(name)s revoked; it no longer works.") % {"name": token.name})
    return redirect("sellers:api_tokens")


@login_required
def history(request: AuthenticatedHttpRequest) -> HttpResponse:
    seller = seller_for_user(request.user)
    page = Paginator(seller_audit_entries(seller=seller), HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "sellers/history.html", {"seller": seller, "page": page})
