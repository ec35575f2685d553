"""The seller's incidents (SPEC section 7): report one (a preview of the defects it would
cover and of what an approval would make of each metric, then the report), list them, read
one. Seller-scoped through ``seller_for_user`` and ``seller_object_or_404``."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from metrics.definitions import METRIC_DEFINITIONS, WINDOWS, parse_window
from metrics.forms import IncidentForm, names_listed
from metrics.incidents import (
    INCIDENT_MAX_CANDIDATES,
    INCIDENT_MAX_OPEN,
    KIND_METRICS,
    IncidentScope,
    excused_by,
    kind_for_metric,
)
from metrics.models import Incident
from metrics.presenters.incidents import came_from_sentence, effect_rows, incident_excuses
from metrics.selectors import (
    incident_covered_orders,
    incident_effect,
    incident_picks_not_covered,
    seller_incidents,
    seller_incidents_as_of,
    seller_latest_day,
    seller_open_incident_count,
)
from metrics.services import IncidentError, incident_submit
from metrics.views.performance import ExcusalTag, FlagTag, defect_flags, excusal_tags
from portal.once import submission_done, submitted_before
from portal.types import AuthenticatedHttpRequest
from sellers.models import Order, Seller
from sellers.selectors import seller_for_user, seller_object_or_404

INCIDENTS_PER_PAGE = 20
# The page's two buttons (``action``): Preview, then Report incident.
PREVIEW, REPORT = "preview", "report"
# The cleaned values ``incident_submit`` takes, by the form's field names.
REPORTED = ("kind", "carrier", "start_date", "end_date", "description", "order_ids")


class CoveredOrder(NamedTuple):
    """A defect order an incident covers, with the report flags it carries as of D and the
    approved incidents that excuse some of its defects as of D (this one among them once
    the figures count it), as the defect list tags them."""

    order: Order
    flags: list[FlagTag]
    picked: bool
    excusals: list[ExcusalTag]


def _covered_rows(
    *, seller: Seller, day: dt.date | None, scope: IncidentScope, picked: set[str]
) -> tuple[list[CoveredOrder], int]:
    """The newest ``INCIDENT_MAX_CANDIDATES`` defect orders ``scope`` covers as of D, and how
    many there are in all."""
    if day is None:
        return [], 0
    orders = incident_covered_orders(seller=seller, day=day, scope=scope)
    shown = list(orders[:INCIDENT_MAX_CANDIDATES])
    total = len(shown) if len(shown) < INCIDENT_MAX_CANDIDATES else orders.count()
    counting = list(seller_incidents_as_of(seller=seller, day=day))
    return [
        CoveredOrder(
            order,
            defect_flags(order, day),
            order.order_id in picked,
            excusal_tags(excused_by(order, day, incidents=counting, zone_name=seller.timezone)) if counting else [],
        )
        for order in shown
    ], total


def _from_metric(request: AuthenticatedHttpRequest) -> tuple[str | None, int | None]:
    """The metric and window a report was started beside (``?metric=&window=``), when they
    are real ones; anything else is ignored (the form is the same without them)."""
    metric = request.GET.get("metric")
    window = request.GET.get("window")
    return (
        metric if metric in METRIC_DEFINITIONS else None,
        parse_window(window) if window else None,
    )


@login_required
def incident_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Step 1: kind, carrier service, dates and what happened, then **Preview**. Step 2 (the
    preview): the defect orders the incident would cover, to pick from (none picked: all of
    them), and per metric the kind preselects and each window, what an approval would make
    of it; then **Report incident**. Works without JavaScript; a reload of the page that
    answered the report adds no second incident (``portal.once``)."""
    seller = seller_for_user(request.user)
    today = seller.local_date(timezone.now())
    from_metric, from_window = _from_metric(request)
    if request.method != "POST":
        initial = {"kind": kind_for_metric(from_metric)} if from_metric else {}
        form = IncidentForm(initial=initial, seller=seller, today=today)
        return _render_form(request, seller=seller, form=form, from_metric=from_metric, from_window=from_window)

    # Enter in a text box sends the first button, Preview; anything but Report previews.
    action = REPORT if request.POST.get("action") == REPORT else PREVIEW
    form = IncidentForm(request.POST, seller=seller, today=today)
    if action == REPORT and submitted_before(request, request.POST.get("once", "")):
        messages.info(request, _("That incident was reported already; it is listed below."))
        return redirect("metrics:incident_list")
    if not form.is_valid():
        return _render_form(request, seller=seller, form=form, from_metric=from_metric, from_window=from_window)
    day = seller_latest_day(seller=seller)
    scope = form.scope()
    if action == REPORT:
        # The page offers the covered defect orders to pick: a pick the dates or carrier
        # no longer cover (changed after the preview) is shown again, not reported.
        stray = incident_picks_not_covered(seller=seller, day=day, scope=scope)
        if stray:
            form.add_error(
                "order_ids",
                _(
                    "%(field)s: %(ids)s are not among the defect orders of this carrier service and these dates. "
                    "Untick them, or preview again after changing the dates."
                )
                % {"field": form.fields["order_ids"].label, "ids": names_listed(stray)},
            )
        else:
            try:
                incident = incident_submit(
                    seller=seller, user=request.user, **{name: form.cleaned_data[name] for name in REPORTED}
                )
            except IncidentError as exc:
                form.add_error(None, str(exc))
            else:
                submission_done(request, form.cleaned_data["once"])
                messages.success(
                    request,
                    _("Incident #%(incident)s reported. Programme staff will review it; you are emailed the decision.")
                    % {"incident": incident.pk},
                )
                return redirect("metrics:incident_detail", pk=incident.pk)
    return _render_form(
        request, seller=seller, form=form, from_metric=from_metric, from_window=from_window, day=day, scope=scope
    )


def _render_form(
    request: AuthenticatedHttpRequest,
    *,
    seller: Seller,
    form: IncidentForm,
    from_metric: str | None,
    from_window: int | None,
    day: dt.date | None = None,
    scope: IncidentScope | None = None,
) -> HttpResponse:
    context: dict = {
        "seller": seller,
        "form": form,
        # Side by side, with their errors and their shared hint below both (a sentence
        # with dates wraps badly in half the card).
        "date_fields": [form["start_date"], form["end_date"]],
        "came_from": came_from_sentence(from_metric, from_window) if from_metric else "",
        "open_count": seller_open_incident_count(seller=seller),
        "max_open": INCIDENT_MAX_OPEN,
        "preview": scope is not None,
        "day": day,
    }
    if scope is not None:
        # The candidates are every defect order of the carrier and dates (picked or not);
        # the effect is of the incident as it would be reported: the picked ones, else all.
        everything = IncidentScope(scope.carrier, scope.start_date, scope.end_date)
        rows, total = _covered_rows(seller=seller, day=day, scope=everything, picked=set(scope.order_ids))
        metrics = list(KIND_METRICS[form.cleaned_data["kind"]])
        if from_metric and incident_excuses(from_metric) and from_metric not in metrics:
            metrics.append(from_metric)
        context |= {
            "covered": rows,
            "covered_total": total,
            "covered_window": max(WINDOWS),
            "effect_picked": len(scope.order_ids),
            "effects": effect_rows(incident_effect(seller=seller, day=day, scope=scope, metrics=metrics))
            if day is not None
            else [],
        }
    return render(request, "metrics/incident_form.html", context)


@login_required
def incident_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    seller = seller_for_user(request.user)
    page = Paginator(seller_incidents(seller=seller), INCIDENTS_PER_PAGE).get_page(request.GET.get("page"))
    # The latest computed D: whether its figures count each approved incident yet.
    day = seller_latest_day(seller=seller)
    return render(request, "metrics/incident_list.html", {"seller": seller, "page": page, "day": day})


@login_required
def incident_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """One incident with its decision and the orders it names or covers: the seller's
    defect orders of the latest computed D it covers (``incident_covered_orders``)."""
    incident = seller_object_or_404(request.user, Incident.objects.select_related("seller", "decided_by"), pk=pk)
    seller = incident.seller
    day = seller_latest_day(seller=seller)
    rows, total = _covered_rows(seller=seller, day=day, scope=IncidentScope.of(incident), picked=set())
    return render(
        request,
        "metrics/incident_detail.html",
        {
            "seller": seller,
            "incident": incident,
            "day": day,
            "covered": rows,
            "covered_total": total,
            "covered_window": max(WINDOWS),
        },
    )
