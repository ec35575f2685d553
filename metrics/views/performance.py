"""The seller's performance pages (SPEC section 6): the dashboard, the defect view and the
defect report download. Seller-scoped through ``seller_for_user``; every number comes from
the stored snapshots or the selectors, computed in the database."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db.models import Q, Sum
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseNotFound, StreamingHttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from metrics import charts, report
from metrics.definitions import (
    DEFAULT_WINDOW,
    METRIC_DEFINITIONS,
    METRICS,
    REPORT_FLAGS,
    WINDOWS,
    MetricDefinition,
    parse_window,
)
from metrics.explain import order_explanation
from metrics.insights import (
    INSIGHTS_CACHE_SECONDS,
    metric_population_orders,
    population_csv_chunks,
    seller_insights,
)
from metrics.models import MetricSnapshot
from metrics.presenters import rate_percent, threshold_percent
from metrics.presenters.reasons import reason_sentence
from metrics.reasons import reasons_from_json
from metrics.selectors import (
    TREND_DAYS,
    DashboardState,
    filtered_defect_orders,
    seller_dashboard_state,
    seller_latest_day,
    seller_latest_revocation,
    seller_plan_submission,
    seller_reinstated_at,
    seller_trend,
)
from portal.bounds import excerpt
from sellers.choices import CONTIGUOUS_REGIONS
from sellers.models import Seller, paused_by
from sellers.presenters import requirement_checks
from sellers.selectors import seller_for_user, seller_requirements

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


@dataclass
class MetricCard:
    """One metric of one window on D, with its trend."""

    name: str
    definition: MetricDefinition
    snapshot: MetricSnapshot | None
    chart: charts.TrendChart
    defects_url: str
    population_url: str = ""

    @property
    def label(self) -> str:
        return self.definition.label

    @property
    def passing(self) -> bool:
        return self.snapshot is None or self.snapshot.passing

    @property
    def no_orders(self) -> bool:
        return self.snapshot is not None and self.snapshot.population_units == 0

    def _shown(self, rate) -> str | None:
        """A rate of this card beside its threshold, never rounded across it."""
        if rate is None:
            return None
        return rate_percent(rate, self.snapshot.threshold, higher_is_better=self.definition.higher_is_better)

    @property
    def value_percent(self) -> str | None:
        """The rate shown (every defect counts), against the threshold on its own terms:
        for on-time delivery the verdict is on ``eligibility_percent`` instead."""
        return self._shown(self.snapshot.exact_rate) if self.snapshot else None

    @property
    def eligibility_percent(self) -> str | None:
        if self.snapshot is None:
            return None
        return self._shown(
            self.definition.eligibility_rate(
                population=self.snapshot.population_units,
                defects=self.snapshot.defect_units,
                protected=self.snapshot.protected_units,
            )
        )

    @property
    def threshold_percent(self) -> str | None:
        return threshold_percent(self.snapshot.threshold) if self.snapshot else None

    @property
    def action(self) -> str:
        return "" if self.passing else str(self.definition.action)


def _metric_cards(
    snapshots: list[MetricSnapshot], *, day: dt.date, window_days: int
) -> tuple[list[MetricCard], dt.datetime | None]:
    """A card per metric from the window's trend snapshots (the last of each is D's), and
    the moment D's snapshots were computed."""
    by_metric: dict[str, list[MetricSnapshot]] = defaultdict(list)
    for snapshot in snapshots:
        by_metric[snapshot.metric].append(snapshot)
    # The chart spans the days that have snapshots (at most TREND_DAYS, at least a week), so
    # a seller with two weeks of history sees two weeks, not a line squeezed to one edge.
    earliest = min((s.day for s in snapshots), default=day)
    first_day = max(day - dt.timedelta(days=TREND_DAYS - 1), min(earliest, day - dt.timedelta(days=6)))
    defects_url = reverse("metrics:defects")
    population_url = reverse("metrics:population")
    cards, computed_at = [], None
    for name in METRICS:
        history = by_metric.get(name, [])
        current = history[-1] if history and history[-1].day == day else None
        if current is not None:
            computed_at = max(computed_at, current.computed_at) if computed_at else current.computed_at
        points = [charts.TrendPoint(s.day, s.exact_rate, s.threshold) for s in history]
        cards.append(
            MetricCard(
                name=name,
                definition=METRIC_DEFINITIONS[name],
                snapshot=current,
                chart=charts.trend_chart(
                    points,
                    first_day=first_day,
                    last_day=day,
                    higher_is_better=METRIC_DEFINITIONS[name].higher_is_better,
                ),
                defects_url=f"{defects_url}?window={window_days}&metric={name}",
                population_url=f"{population_url}?window={window_days}&metric={name}",
            )
        )
    return cards, computed_at


# The dashboard's content is kept this long in the cache, under a key of everything it
# shows (``_dashboard_cache_key``): a new daily run, any settings, status or plan change,
# the volume control in force, the window or the language shows at once; the orders at
# risk (their time left) at most this late, as in the insights.
DASHBOARD_CACHE_SECONDS = INSIGHTS_CACHE_SECONDS


def _dashboard_cache_key(*, seller: Seller, state: DashboardState, window_days: int, control, now: dt.datetime) -> str:
    parts = (
        tuple(getattr(seller, field.attname) for field in Seller._meta.concrete_fields),
        state,
        window_days,
        (control.pk if control else None, paused_by(control, now)),
        get_language(),
        int(now.timestamp()) // DASHBOARD_CACHE_SECONDS,
    )
    return f"dashboard:{seller.pk}:{hashlib.sha256(repr(parts).encode()).hexdigest()}"


@require_safe
@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """SPEC section 6: status, metrics with trends, requirement checks, volume controls;
    and the insights beyond pass or fail (``metrics.insights``): headroom from the snapshots,
    orders at risk, root causes and settings risks from a bounded number of indexed queries
    on this seller's orders of the window.

    The content is rendered once per state of the seller (``_dashboard_cache_key``): after
    that a view costs five indexed queries (session, account, seller, its state, the volume
    control in force)."""
    seller = seller_for_user(request.user)
    window_days, notice = _window_or_default(request)
    now = timezone.now()
    state = seller_dashboard_state(seller=seller)
    control = seller.volume_control_at(now)
    key = _dashboard_cache_key(seller=seller, state=state, window_days=window_days, control=control, now=now)
    content = cache.get(key)
    if content is None:
        content = _dashboard_content(
            request, seller=seller, day=state.day, window_days=window_days, control=control, now=now
        )
        cache.set(key, content, DASHBOARD_CACHE_SECONDS)
    # The content was rendered (and escaped) by our own template above, not taken from input.
    return render(
        request, "metrics/dashboard.html", {"seller": seller, "notice": notice, "content": mark_safe(content)}
    )


def _dashboard_content(
    request: HttpRequest, *, seller: Seller, day: dt.date | None, window_days: int, control, now: dt.datetime
) -> str:
    cards, computed_at, insights = [], None, None
    if day is not None:
        cards, computed_at = _metric_cards(
            list(seller_trend(seller=seller, day=day, window_days=window_days)), day=day, window_days=window_days
        )
        insights = seller_insights(
            seller=seller,
            day=day,
            window_days=window_days,
            snapshots={card.name: card.snapshot for card in cards if card.snapshot is not None},
            now=now,
        )
    revocation = None if seller.is_eligible else seller_latest_revocation(seller=seller)
    requirements = seller_requirements(seller=seller)
    return render_to_string(
        "metrics/_dashboard_content.html",
        {
            "seller": seller,
            "window_days": window_days,
            "windows": WINDOWS,
            "day": day,
            "computed_at": computed_at,
            "cards": cards,
            "trend_days": TREND_DAYS,
            "revocation": revocation,
            "revocation_reasons": [reason_sentence(r) for r in reasons_from_json(revocation.reasons)]
            if revocation
            else [],
            "status_since": seller.status_changed_at or (revocation.created_at if revocation else None),
            "reinstated_on": seller.local_date(seller_reinstated_at(seller=seller)),
            "badge_active": seller.prime_badge_active_under(control, now),
            "volume_control": control,
            "paused": paused_by(control, now),
            "requirement_checks": requirement_checks(requirements),
            "requirements": requirements,
            "regions_total": len(CONTIGUOUS_REGIONS),
            "plan_submission": seller_plan_submission(seller=seller),
            "insights": insights,
        },
        request,
    )


# ---------------------------------------------------------------------------------------
# Defects
# ---------------------------------------------------------------------------------------


@require_safe
@login_required
def defects(request: HttpRequest) -> HttpResponse:
    """SPEC section 5 on screen: the report's rows, filterable by flag or by metric, each
    order explained in words, 50 a page."""
    seller = seller_for_user(request.user)
    window_days, notice = _window_or_default(request)
    flag = request.GET.get("flag") or None
    metric = request.GET.get("metric") or None
    context = {
        "seller": seller,
        "notice": notice,
        "window_days": window_days,
        "windows": WINDOWS,
        "flag": flag,
        "metric": metric,
        "flag_choices": list(FLAG_LABELS.items()),
        "metric_choices": [(name, d.label) for name, d in METRIC_DEFINITIONS.items()],
        "errors": [],
    }
    if flag is not None and flag not in REPORT_FLAGS:
        context["errors"].append(
            _("“%(flag)s” is not a defect of the report; choose one of: %(choices)s.")
            % {"flag": excerpt(flag), "choices": ", ".join(REPORT_FLAGS)}
        )
    if metric is not None and metric not in METRIC_DEFINITIONS:
        context["errors"].append(
            _("“%(metric)s” is not a metric; choose one of: %(choices)s.")
            % {"metric": excerpt(metric), "choices": ", ".join(METRICS)}
        )
    if context["errors"]:
        return render(request, "metrics/defects.html", context, status=400)
    day = seller_latest_day(seller=seller)
    context["day"] = day
    if day is None:
        return render(request, "metrics/defects.html", context, status=404)
    orders = filtered_defect_orders(seller=seller, day=day, window_days=window_days, flag=flag, metric=metric)
    page = Paginator(orders, DEFECTS_PER_PAGE).get_page(request.GET.get("page"))
    context.update(
        {
            "page": page,
            "total_units": orders.aggregate(units=Sum("units"))["units"] or 0,
            "rows": [
                (
                    order,
                    [label for name, label in FLAG_LABELS.items() if getattr(order, name)],
                    order_explanation(order, day, metric=metric),
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
def defects_csv(request: HttpRequest) -> HttpResponse:
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
def population(request: HttpRequest) -> HttpResponse:
    """The orders behind one metric's population units on D (SPEC section 3), 50 a page,
    each marked when it is one of the metric's defect units: the dashboard's population
    figure, order by order."""
    seller = seller_for_user(request.user)
    window_days, notice = _window_or_default(request)
    metric, error = _metric_param(request)
    context = {
        "seller": seller,
        "notice": notice,
        "window_days": window_days,
        "windows": WINDOWS,
        "metric": metric,
        "metric_choices": [(name, d.label) for name, d in METRIC_DEFINITIONS.items()],
        "errors": [error] if error else [],
    }
    if error:
        return render(request, "metrics/population.html", context, status=400)
    definition = METRIC_DEFINITIONS[metric]
    day = seller_latest_day(seller=seller)
    context.update({"day": day, "definition": definition})
    if day is None:
        return render(request, "metrics/population.html", context, status=404)
    orders = metric_population_orders(seller=seller, day=day, window_days=window_days, metric=metric)
    totals = orders.aggregate(
        population_units=Sum("units", default=0), defect_units=Sum("units", filter=Q(is_defect=True), default=0)
    )
    context.update(
        {
            "page": Paginator(orders, DEFECTS_PER_PAGE).get_page(request.GET.get("page")),
            "total_units": totals["population_units"],
            "defect_units": totals["defect_units"],
            "defects_url": f"{reverse('metrics:defects')}?window={window_days}&metric={metric}",
        }
    )
    return render(request, "metrics/population.html", context)


@require_safe
@login_required
def population_csv(request: HttpRequest) -> HttpResponse:
    """The population orders of one metric as CSV, streamed like the defect report."""
    seller = seller_for_user(request.user)
    window_days = _window(request)
    if window_days is None:
        return HttpResponseBadRequest(
            _("The window must be 7 or 30 days, e.g. ?window=30."), content_type="text/plain; charset=utf-8"
        )
    metric, error = _metric_param(request)
    if error:
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
