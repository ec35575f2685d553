"""The seller's dashboard (SPEC section 6) as it is shown: a card per metric with its trend,
the insights in words, the status banner and requirement checks, rendered once per state of
the seller and served from the cache (``metrics.presenters.cache``) until something it
shows changes: all of it for the day, but the orders at risk now, rendered apart for a
short bucket and set into the day's page (``AT_RISK_SLOT``)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from fractions import Fraction

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.safestring import mark_safe

from metrics import charts
from metrics.definitions import METRIC_DEFINITIONS, METRICS, WINDOWS, MetricDefinition
from metrics.insights import seller_day_insights
from metrics.insights.at_risk import orders_at_risk
from metrics.insights.headroom import snapshot_headroom
from metrics.models import Incident, MetricSnapshot
from metrics.presenters.cache import (
    DAY_CACHE_SECONDS,
    SELLER_CACHE_SECONDS,
    cached,
    cached_all,
    seller_cache_key,
    seller_day_cache_key,
)
from metrics.presenters.glance import metric_rows, revocation_checklist, seller_verdict
from metrics.presenters.incidents import incident_excuses, report_incident_url
from metrics.presenters.insights import AtRiskCard, DayInsightsCard, InsightsCard, at_risk_card, day_insights_card
from metrics.presenters.rates import rate_percent, threshold_percent
from metrics.presenters.reasons import reason_sentence
from metrics.reasons import MetricReason, RevocationReason, revocation_reasons_from_json
from metrics.selectors import (
    TREND_DAYS,
    answered_by_reinstatement,
    excused_units_by_incident,
    seller_dashboard_state,
    seller_day_snapshots,
    seller_incidents_not_counted,
    seller_latest_revocation,
    seller_plan_rejected_since,
    seller_plan_submission,
    seller_reinstated_on,
    seller_trend,
)
from sellers.choices import CONTIGUOUS_REGIONS
from sellers.models import Seller, paused_by
from sellers.presenters import requirement_checks
from sellers.selectors import seller_requirements


@dataclass
class MetricCard:
    """One metric of one window on D, with its trend."""

    name: str
    definition: MetricDefinition
    snapshot: MetricSnapshot | None
    chart: charts.TrendChart
    defects_url: str
    population_url: str = ""
    # The incidents that excuse some of its units on D, with their units (SPEC section 7).
    excused_by: list[tuple[Incident, int]] = field(default_factory=list)

    @property
    def label(self) -> Promise:
        return self.definition.label

    @property
    def passing(self) -> bool:
        return self.snapshot is None or self.snapshot.passing

    @property
    def no_orders(self) -> bool:
        return self.snapshot is not None and self.snapshot.population_units == 0

    def _shown(self, rate: Fraction | None) -> str | None:
        """A rate of this card beside its threshold, never rounded across it."""
        if rate is None or self.snapshot is None:
            return None
        return rate_percent(rate, self.snapshot.threshold, higher_is_better=self.definition.higher_is_better)

    @property
    def value_percent(self) -> str | None:
        """The rate shown (every defect counts), against the threshold on its own terms:
        for on-time delivery the verdict is on ``eligibility_percent`` instead."""
        return self._shown(self.snapshot.exact_rate) if self.snapshot else None

    @property
    def eligibility_percent(self) -> str | None:
        """The rate the verdict is on: protected and excused units not counted."""
        return self._shown(self.snapshot.exact_eligibility_rate) if self.snapshot else None

    @property
    def judged_apart(self) -> bool:
        """The verdict is on another rate than the one shown (``MetricSnapshot.judged_apart``)."""
        return self.snapshot is not None and self.snapshot.judged_apart

    @property
    def threshold_percent(self) -> str | None:
        return threshold_percent(self.snapshot.threshold) if self.snapshot else None

    @property
    def action(self) -> str:
        return "" if self.passing else self.definition.action_text()

    @property
    def report_incident_url(self) -> str:
        """The incident report started beside this card: when it fails or is at risk and an
        incident can excuse its defects (SPEC section 7); "" otherwise."""
        snapshot = self.snapshot
        if snapshot is None or not incident_excuses(self.name) or (snapshot.passing and not snapshot.at_risk):
            return ""
        return report_incident_url(self.name, snapshot.window_days)


def metric_cards(
    snapshots: list[MetricSnapshot],
    *,
    day: dt.date,
    window_days: int,
    excused_by: Mapping[str, list[tuple[Incident, int]]] | None = None,
) -> tuple[list[MetricCard], dt.datetime | None]:
    """A card per metric from the window's trend snapshots (the last of each is D's), with
    the incidents that excuse its units on D (``excused_units_by_incident``), and the moment
    D's snapshots were computed."""
    excused_by = excused_by or {}
    by_metric: dict[str, list[MetricSnapshot]] = defaultdict(list)
    for snapshot in snapshots:
        by_metric[snapshot.metric].append(snapshot)
    # The chart spans the days that have snapshots, 30 to 90 of them (charts.trend_first_day).
    earliest = min((s.day for s in snapshots), default=day)
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
                chart=charts.dashboard_trend_chart(
                    points, last_day=day, earliest=earliest, higher_is_better=METRIC_DEFINITIONS[name].higher_is_better
                ),
                defects_url=f"{defects_url}?window={window_days}&metric={name}",
                population_url=f"{population_url}?window={window_days}&metric={name}",
                excused_by=list(excused_by.get(name, [])),
            )
        )
    return cards, computed_at


# Where the day's page (``render_dashboard_content``) takes the orders at risk now: an HTML
# comment no escaped value can contain.
AT_RISK_SLOT = "<!-- portal: the orders at risk now -->"


def dashboard_content(request: HttpRequest | None, *, seller: Seller, window_days: int, now: dt.datetime) -> str:
    """The dashboard's content, rendered once per state of the seller: after that a view
    costs five indexed queries (session, account, seller, its state, the volume control in
    force). The key holds everything it shows besides the seller and its state: the window
    and the volume control in force (a pause shows the moment it takes effect). All of it is
    kept for the day but the orders at risk now, kept for a short bucket (``at_risk_content``)
    and set into the day's page. The content reads nothing of the request (the daily run's
    warm-up renders it without one: ``metrics.presenters.warm``)."""
    state = seller_dashboard_state(seller=seller)
    control = seller.volume_control_at(now)
    parts = (window_days, control.pk if control else None, paused_by(control, now))
    rendered: dict[str, str] = {}  # the orders at risk, when the day's page is rendered now
    day_key = seller_day_cache_key("dashboard", seller=seller, state=state, parts=parts)

    def day_page() -> str:
        return render_dashboard_content(
            request, seller=seller, day=state.day, window_days=window_days, control=control, now=now, at_risk=rendered
        )

    day = state.day
    if day is None:
        return cached(day_key, day_page, seconds=DAY_CACHE_SECONDS)
    # Both parts in one round trip to the cache.
    page, at_risk = cached_all(
        [
            (day_key, day_page, DAY_CACHE_SECONDS),
            (
                seller_cache_key("dashboard-at-risk", seller=seller, state=state, parts=(window_days,), now=now),
                lambda: (
                    rendered.get("html") or at_risk_content(seller=seller, day=day, window_days=window_days, now=now)
                ),
                SELLER_CACHE_SECONDS,
            ),
        ]
    )
    return page.replace(AT_RISK_SLOT, at_risk, 1)


def at_risk_content(*, seller: Seller, day: dt.date, window_days: int, now: dt.datetime) -> str:
    """The dashboard's orders at risk now, rendered as the page includes them: D's snapshots
    of the window (the projection) and two queries on the orders."""
    snapshots = {
        name: s for (window, name), s in seller_day_snapshots(seller=seller, day=day).items() if window == window_days
    }
    at_risk = orders_at_risk(seller=seller, day=day, window_days=window_days, snapshots=snapshots, now=now)
    return _at_risk_html(at_risk_card(at_risk), seller=seller)


def _at_risk_html(at_risk: AtRiskCard, *, seller: Seller) -> str:
    """The orders at risk as ``metrics/_insights.html`` includes them."""
    return render_to_string("metrics/_at_risk.html", {"at_risk": at_risk, "seller": seller})


def render_dashboard_content(
    request: HttpRequest | None,
    *,
    seller: Seller,
    day: dt.date | None,
    window_days: int,
    control,
    now: dt.datetime,
    at_risk: dict[str, str] | None = None,
) -> str:
    """The dashboard below its notice (SPEC section 6): status, metric cards with trends,
    the insights in words, requirement checks, volume controls; rendered to HTML. Given
    ``at_risk``, the orders at risk now are left out, ``AT_RISK_SLOT`` in their place, and
    rendered apart into ``at_risk["html"]`` (``dashboard_content`` sets them in); else the
    page as a whole."""
    cards: list[MetricCard] = []
    computed_at: dt.datetime | None = None
    insights: DayInsightsCard | None = None
    day_snapshots: dict = {}
    if day is not None:
        day_snapshots = seller_day_snapshots(seller=seller, day=day)
        # Which incidents excuse units of the window (SPEC section 7): asked only when some are.
        excused = any(s.excused_units for (window, _name), s in day_snapshots.items() if window == window_days)
        cards, computed_at = metric_cards(
            list(seller_trend(seller=seller, day=day, window_days=window_days)),
            day=day,
            window_days=window_days,
            excused_by=excused_units_by_incident(seller=seller, day=day, window_days=window_days) if excused else None,
        )
        snapshots = {card.name: card.snapshot for card in cards if card.snapshot is not None}
        facts = seller_day_insights(seller=seller, day=day, window_days=window_days, snapshots=snapshots)
        insights = day_insights_card(facts)
        risks = at_risk_card(
            orders_at_risk(seller=seller, day=day, window_days=window_days, snapshots=snapshots, now=now)
        )
        if at_risk is None:
            insights = InsightsCard(**{f.name: getattr(insights, f.name) for f in fields(insights)}, at_risk=risks)
        else:
            at_risk["html"] = _at_risk_html(risks, seller=seller)
    revocation = None if seller.is_eligible else seller_latest_revocation(seller=seller)
    requirements = seller_requirements(seller=seller)
    revocation_reasons = revocation_reasons_from_json(revocation.reasons) if revocation else []
    reinstated_on = seller_reinstated_on(seller=seller)
    submission = seller_plan_submission(seller=seller)
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
            "revocation_reasons": [reason_sentence(r) for r in revocation_reasons],
            "checklist": revocation_checklist(
                revocation_reasons, requirements=requirements, snapshots=day_snapshots, day=day
            ),
            "verdict": seller_verdict(
                seller=seller,
                headrooms=[snapshot_headroom(s) for s in day_snapshots.values()],
                before_reinstatement=answered_by_reinstatement(day, reinstated_on),
            ),
            "metric_rows": metric_rows(day_snapshots) if day_snapshots else [],
            "status_since": seller.status_changed_at or (revocation.created_at if revocation else None),
            "reinstated_on": reinstated_on,
            "badge_active": seller.prime_badge_active_under(control, now),
            "volume_control": control,
            "paused": paused_by(control, now),
            "requirement_checks": requirement_checks(requirements),
            "requirements": requirements,
            "regions_total": len(CONTIGUOUS_REGIONS),
            "plan_submission": submission,
            # Shown with Create POA after a rejection: the feedback the next plan answers.
            "rejected_plan": seller_plan_rejected_since(seller=seller, since=revocation.created_at)
            if submission.allowed and revocation
            else None,
            "insights": insights,
            "at_risk_slot": mark_safe(AT_RISK_SLOT) if at_risk is not None and insights else None,
            "report_incident_url": revoked_incident_url(revocation_reasons),
            # Every incident submission and decision is audited, so the state's latest audit
            # entry keys these too (SPEC section 7).
            "incident_notices": list(seller_incidents_not_counted(seller=seller, day=day)),
        },
        request,
    )


def revoked_incident_url(reasons: list[RevocationReason]) -> str:
    """The banner's "Not your fault? Report an incident": started beside the first metric of
    the revocation an incident can excuse, if any."""
    for reason in reasons:
        if isinstance(reason, MetricReason) and incident_excuses(reason.metric):
            return report_incident_url(reason.metric, reason.window_days)
    return report_incident_url()
