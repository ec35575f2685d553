"""The seller's performance pages (SPEC section 6): the dashboard, the defect view and the
defect report download. Seller-scoped through ``seller_for_user``; every number comes from
the stored snapshots or the selectors, computed in the database."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q, Sum
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseBase,
    HttpResponseNotFound,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_safe

from metrics import report
from metrics.definitions import (
    DEFAULT_WINDOW,
    METRIC_DEFINITIONS,
    METRICS,
    REPORT_FLAGS,
    WINDOWS,
    is_protected_late,
    parse_window,
)
from metrics.explain import order_explanation
from metrics.incidents import excused_by
from metrics.insights.population import metric_population_orders, population_csv_chunks
from metrics.models import Incident
from metrics.presenters.dashboard import dashboard_content
from metrics.selectors import (
    can_review_plans,
    defect_orders_units,
    filtered_defect_orders,
    seller_incidents_as_of,
    seller_latest_day,
)
from portal.bounds import excerpt
from portal.routers import replica_reads
from portal.types import AuthenticatedHttpRequest
from sellers.models import Order
from sellers.selectors import seller_for_user

DEFECTS_PER_PAGE = 50

# The report's flag columns as a seller reads them on screen; the CSV keeps the SPEC's
# English column names (REPORT_FLAGS), which tools that read the file rely on.
FLAG_LABELS = {
    "shipped_late": gettext_lazy("Shipped late"),
    "delivered_late": gettext_lazy("Delivered late"),
    "outside_buy_shipping": gettext_lazy("Shipped outside Buy Shipping"),
    "cancelled_by_seller": gettext_lazy("Cancelled by seller"),
    "no_valid_tracking": gettext_lazy("No valid tracking"),
}


# A late delivery shipped on a Buy Shipping label is flagged in the report (it is late) but
# does not count against eligibility (SPEC section 3): the page tags it so, not as a defect.
PROTECTED_WHY = gettext_lazy("Buy Shipping label: excused for on-time delivery")
# A defect an approved incident excuses (SPEC section 7) is tagged so too.
EXCUSED_WHY = gettext_lazy("excused by an approved incident")


class FlagTag(NamedTuple):
    """One report flag of an order as the page shows it: a red badge when it counts against
    eligibility, a neutral one with ``why`` when it does not."""

    name: str
    label: str
    counts: bool
    why: str = ""


class ExcusalTag(NamedTuple):
    """An approved incident that excuses some of an order's defects (SPEC section 7): "Excused:
    On-time delivery rate, incident #12", linking to the incident."""

    incident: int
    label: str
    url: str


class DefectRow(NamedTuple):
    order: Order
    flags: list[FlagTag]
    explanation: list[str]
    excusals: list[ExcusalTag]


def excusal_tags(excused: Mapping[str, Incident]) -> list[ExcusalTag]:
    """The incidents of ``metrics.incidents.excused_by`` (metric -> incident), one tag per
    incident naming the metrics it excuses, in the order of the metrics."""
    by_incident: dict[int, list[str]] = {}
    for metric, incident in excused.items():
        by_incident.setdefault(incident.pk, []).append(str(METRIC_DEFINITIONS[metric].label))
    return [
        ExcusalTag(
            incident=pk,
            label=_("Excused: %(metrics)s, incident #%(incident)s") % {"metrics": ", ".join(labels), "incident": pk},
            url=reverse("metrics:incident_detail", args=[pk]),
        )
        for pk, labels in by_incident.items()
    ]


def defect_flags(order: Order, day, *, metric: str | None = None) -> list[FlagTag]:
    """The report flags ``order`` carries (annotated by the selector), a protected late
    delivery marked as not counting, unless the list is of a metric the protection does not
    apply to (a late pair is an on-time shipment defect, Buy Shipping label or not)."""
    protection = metric is None or METRIC_DEFINITIONS[metric].buy_shipping_protection
    protected = protection and is_protected_late(order, day)
    return [
        FlagTag(name, str(label), counts=not excused, why=str(PROTECTED_WHY) if excused else "")
        for name, label in FLAG_LABELS.items()
        if getattr(order, name)
        for excused in [name == "delivered_late" and protected]
    ]


def _window(request: HttpRequest) -> int | None:
    """The window asked for (``parse_window``): 7 or 30 days, default 30; None for anything else."""
    return parse_window(request.GET.get("window"))


def _window_or_default(request: HttpRequest) -> tuple[int, str]:
    """The window asked for, or 30 days with a notice saying the asked one does not exist."""
    window_days = _window(request)
    if window_days is not None:
        return window_days, ""
    raw = request.GET.get("window", "")
    notice = _("There is no “%(window)s” window; showing the last 30 days. Choose 7 or 30 days.") % {
        "window": excerpt(raw)
    }
    return DEFAULT_WINDOW, notice


def _streamed_csv(chunks, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chunks, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# ---------------------------------------------------------------------------------------
# Dashboard
# ---------------------------------------------------------------------------------------


@require_safe
@login_required
@replica_reads
def dashboard(request: AuthenticatedHttpRequest) -> HttpResponse:
    """SPEC section 6: status, metrics with trends, requirement checks, volume controls;
    and the insights beyond pass or fail (``metrics.insights``): headroom from the snapshots,
    orders at risk, root causes and settings risks from a bounded number of indexed queries
    on this seller's orders of the window. The content is rendered once per state of the
    seller (``metrics.presenters.dashboard``)."""
    if request.user.seller_id is None and can_review_plans(request.user):
        # Programme staff have no dashboard of their own: their work is the review queue.
        return redirect("metrics:review_queue")
    seller = seller_for_user(request.user)
    window_days, notice = _window_or_default(request)
    content = dashboard_content(request, seller=seller, window_days=window_days, now=timezone.now())
    # The content was rendered (and escaped) by our own template, not taken from input.
    return render(
        request, "metrics/dashboard.html", {"seller": seller, "notice": notice, "content": mark_safe(content)}
    )


# ---------------------------------------------------------------------------------------
# Defects
# ---------------------------------------------------------------------------------------


@require_safe
@login_required
@replica_reads
def defects(request: AuthenticatedHttpRequest) -> HttpResponse:
    """SPEC section 5 on screen: the report's rows, filterable by flag or by metric, each
    order explained in words, 50 a page."""
    seller = seller_for_user(request.user)
    window_days, notice = _window_or_default(request)
    flag = request.GET.get("flag") or None
    metric = request.GET.get("metric") or None
    errors: list[str] = []
    context = {
        "seller": seller,
        "notice": notice,
        "window_days": window_days,
        "windows": WINDOWS,
        "flag": flag,
        "metric": metric,
        "flag_choices": list(FLAG_LABELS.items()),
        "metric_choices": [(name, d.label) for name, d in METRIC_DEFINITIONS.items()],
        "errors": errors,
    }
    if flag is not None and flag not in REPORT_FLAGS:
        errors.append(
            _("“%(flag)s” is not a defect of the report; choose one of: %(choices)s.")
            % {"flag": excerpt(flag), "choices": ", ".join(REPORT_FLAGS)}
        )
    if metric is not None and metric not in METRIC_DEFINITIONS:
        errors.append(
            _("“%(metric)s” is not a metric; choose one of: %(choices)s.")
            % {"metric": excerpt(metric), "choices": ", ".join(METRICS)}
        )
    if errors:
        return render(request, "metrics/defects.html", context, status=400)
    day = seller_latest_day(seller=seller)
    context["day"] = day
    if day is None:
        return render(request, "metrics/defects.html", context, status=404)
    orders = filtered_defect_orders(seller=seller, day=day, window_days=window_days, flag=flag, metric=metric)
    page = Paginator(orders, DEFECTS_PER_PAGE).get_page(request.GET.get("page"))
    # What approved incidents excuse, for this page's orders only (SPEC section 7).
    incidents = list(seller_incidents_as_of(seller=seller, day=day))
    total_units, excused_units = defect_orders_units(orders, day=day, excused_for=metric if incidents else None)
    context.update(
        {
            "page": page,
            "total_units": total_units,
            "excused_units": excused_units,
            "rows": [
                DefectRow(
                    order,
                    defect_flags(order, day, metric=metric),
                    order_explanation(order, day, metric=metric),
                    excusal_tags(excused_by(order, day, incidents=incidents, zone_name=seller.timezone))
                    if incidents
                    else [],
                )
                for order in page
            ],
            "flag_label": FLAG_LABELS[flag] if flag else "",
            "metric_label": METRIC_DEFINITIONS[metric].label if metric else "",
        }
    )
    return render(request, "metrics/defects.html", context)


@require_safe
@login_required
@replica_reads
def defects_csv(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    """The defect report download (SPEC section 5), streamed."""
    seller = seller_for_user(request.user)
    window_days = _window(request)
    if window_days is None:
        return HttpResponseBadRequest(
            _("The window must be 7 or 30 days, e.g. ?window=30."), content_type="text/plain; charset=utf-8"
        )
    day = seller_latest_day(seller=seller)
    if day is None:
        return HttpResponseNotFound(
            _("There is no defect report yet: it is available after the first daily run computes your metrics."),
            content_type="text/plain; charset=utf-8",
        )
    return _streamed_csv(
        report.defect_report_chunks(seller=seller, day=day, window_days=window_days),
        report.report_filename(seller=seller, day=day, window_days=window_days),
    )


# ---------------------------------------------------------------------------------------
# Population: the orders behind a card's population units
# ---------------------------------------------------------------------------------------


def _metric_param(request: HttpRequest) -> tuple[str | None, str]:
    """The metric asked for, and the sentence to answer with when it is missing or unknown."""
    metric = request.GET.get("metric") or None
    if metric in METRIC_DEFINITIONS:
        return metric, ""
    choices = ", ".join(METRICS)
    if metric is None:
        return None, _("Choose a metric, e.g. ?metric=on_time_shipment_rate; one of: %(choices)s.") % {
            "choices": choices
        }
    return None, _("“%(metric)s” is not a metric; choose one of: %(choices)s.") % {
        "metric": excerpt(metric),
        "choices": choices,
    }


@require_safe
@login_required
@replica_reads
def population(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The orders behind one metric's population units on D (SPEC section 3), 50 a page,
    each marked when it is one of the metric's defect units: the dashboard's population
    figure, order by order."""
    seller = seller_for_user(request.user)
    window_days, notice = _window_or_default(request)
    metric, error = _metric_param(request)
    context = {
        "protected_why": PROTECTED_WHY,
        "excused_why": EXCUSED_WHY,
        "seller": seller,
        "notice": notice,
        "window_days": window_days,
        "windows": WINDOWS,
        "metric": metric,
        "metric_choices": [(name, d.label) for name, d in METRIC_DEFINITIONS.items()],
        "errors": [error] if error else [],
    }
    if metric is None:  # unknown or missing: error says which
        return render(request, "metrics/population.html", context, status=400)
    definition = METRIC_DEFINITIONS[metric]
    day = seller_latest_day(seller=seller)
    context.update({"day": day, "definition": definition})
    if day is None:
        return render(request, "metrics/population.html", context, status=404)
    orders = metric_population_orders(seller=seller, day=day, window_days=window_days, metric=metric)
    totals = orders.aggregate(
        population_units=Sum("units", default=0),
        # The defect units that count: a protected or excused defect is tagged, not counted.
        defect_units=Sum("units", filter=Q(is_defect=True, is_protected=False, is_excused=False), default=0),
    )
    context.update(
        {
            "page": Paginator(orders, DEFECTS_PER_PAGE).get_page(request.GET.get("page")),
            "total_units": totals["population_units"],
            "defect_units": totals["defect_units"],
            "defects_phrase": definition.defects_noun(totals["defect_units"]),
            "defects_url": f"{reverse('metrics:defects')}?window={window_days}&metric={metric}",
        }
    )
    return render(request, "metrics/population.html", context)


@require_safe
@login_required
@replica_reads
def population_csv(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    """The population orders of one metric as CSV, streamed like the defect report."""
    seller = seller_for_user(request.user)
    window_days = _window(request)
    if window_days is None:
        return HttpResponseBadRequest(
            _("The window must be 7 or 30 days, e.g. ?window=30."), content_type="text/plain; charset=utf-8"
        )
    metric, error = _metric_param(request)
    if metric is None:  # unknown or missing: error says which
        return HttpResponseBadRequest(error, content_type="text/plain; charset=utf-8")
    day = seller_latest_day(seller=seller)
    if day is None:
        return HttpResponseNotFound(
            _("There are no metrics yet: they are available after the first daily run computes them."),
            content_type="text/plain; charset=utf-8",
        )
    return _streamed_csv(
        population_csv_chunks(seller=seller, day=day, window_days=window_days, metric=metric),
        f"orders-{seller.merchant_token}-{metric}-{window_days}d-{day.isoformat()}.csv",
    )
