"""The insights (``metrics.insights``) as the dashboard, the plan pages and the JSON status
say them: headroom, orders at risk, root causes and settings risks in sentences, with the
settings page that fixes each risk. The facts come from ``metrics.insights``; nothing here
reads the database but the plan pages' root-cause facts, which gather their own."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from fractions import Fraction

from django.urls import reverse
from django.utils import formats
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from metrics.definitions import METRIC_DEFINITIONS
from metrics.insights import DayInsights, Insights
from metrics.insights.at_risk import AtRisk, AtRiskOrder, Projection, RiskKind
from metrics.insights.headroom import Headroom
from metrics.insights.root_causes import (
    AFTER_CUTOFF,
    CARRIER,
    STATE,
    WEEKDAY,
    CutoffBreakdown,
    LateShipmentsByHour,
    RootCauses,
    RootCauseSummary,
    Share,
    late_shipments_by_hour,
    root_causes,
)
from metrics.insights.settings_risks import SettingsRisk, SettingsRiskKind
from metrics.presenters.rates import rate_percent
from metrics.reasons import MetricReason, RevocationReason
from metrics.selectors import seller_latest_day
from sellers.choices import weekday_in_sentence
from sellers.models import Seller

# ---------------------------------------------------------------------------------------
# Headroom
# ---------------------------------------------------------------------------------------


def headroom_sentence(headroom: Headroom) -> str:
    """How much more the window can absorb, or how far it fails, in a sentence."""
    days, definition = headroom.window_days, METRIC_DEFINITIONS[headroom.metric]
    if headroom.units is None:
        return _("No orders in the %(days)s-day window yet: nothing to fail.") % {"days": days}
    if headroom.units > 0:
        return _(
            "You can afford %(count)s more %(defects)s in the %(days)s-day window; "
            "one more than that and you lose Prime."
        ) % {"count": headroom.units, "defects": definition.defects_noun(headroom.units), "days": days}
    if headroom.units == 0:
        return _("No room left: one more %(defect)s in the %(days)s-day window and you lose Prime.") % {
            "defect": definition.defects_noun(1),
            "days": days,
        }
    over = -headroom.units
    return ngettext(
        "Failing by %(count)s unit: %(count)s %(defects)s too many in the %(days)s-day window.",
        "Failing by %(count)s units: %(count)s %(defects)s too many in the %(days)s-day window.",
        over,
    ) % {"count": over, "defects": definition.defects_noun(over), "days": days}


@dataclass(frozen=True)
class HeadroomLine:
    metric: str
    label: str
    units: int | None
    sentence: str


def headroom_line(headroom: Headroom) -> HeadroomLine:
    label = str(METRIC_DEFINITIONS[headroom.metric].label)
    return HeadroomLine(headroom.metric, label, headroom.units, headroom_sentence(headroom))


# ---------------------------------------------------------------------------------------
# Orders at risk
# ---------------------------------------------------------------------------------------

RISK_KIND_LABELS = {
    RiskKind.SHIPPED_LATE_IN_TRANSIT: gettext_lazy("Shipped late, not delivered yet"),
    RiskKind.NOT_SCANNED_OVERDUE: gettext_lazy("Not scanned, ship date passed"),
    RiskKind.NOT_SCANNED_SHIP_TODAY: gettext_lazy("Not scanned, ships today"),
    RiskKind.DUE_TODAY: gettext_lazy("Due today, not delivered"),
}


@dataclass(frozen=True)
class ProjectionLine:
    """A metric's projected rate if every order at risk goes wrong, as the page reads it."""

    metric: str
    label: str
    rate: Fraction | None  # exactly; the rate that decides (protected and excused units not counted)
    rate_percent: str  # as read beside the threshold, never rounded across it
    defects: int  # the units that count (protected and excused units not)
    population: int
    passing: bool

    @property
    def defects_noun(self) -> str:
        """The metric's defect units in its own words, for ``defects`` of them."""
        return METRIC_DEFINITIONS[self.metric].defects_noun(self.defects)


def projection_line(projection: Projection) -> ProjectionLine:
    definition = projection.definition
    return ProjectionLine(
        metric=projection.metric,
        label=str(definition.label),
        rate=projection.rate,
        rate_percent=rate_percent(projection.rate, projection.threshold, higher_is_better=definition.higher_is_better),
        defects=projection.counted,
        population=projection.population,
        passing=projection.passing,
    )


@dataclass(frozen=True)
class AtRiskCard:
    today: dt.date  # the seller's local date now
    count: int
    units: int
    orders: list[AtRiskOrder]  # the facts, soonest deadline first
    rows: list[tuple[AtRiskOrder, str]]  # each listed order with its kind in words
    by_kind: list[tuple[str, str, int, int]]  # kind, label, orders, units
    projected: dict[str, ProjectionLine]

    @property
    def more(self) -> int:
        """Orders at risk beyond the ones listed."""
        return self.count - len(self.orders)


def at_risk_card(at_risk: AtRisk) -> AtRiskCard:
    return AtRiskCard(
        today=at_risk.today,
        count=at_risk.count,
        units=at_risk.units,
        orders=at_risk.orders,
        rows=[(order, str(RISK_KIND_LABELS[RiskKind(order.kind)])) for order in at_risk.orders],
        by_kind=[
            (kind, str(RISK_KIND_LABELS[RiskKind(kind)]), orders, units) for kind, orders, units in at_risk.by_kind
        ],
        projected={name: projection_line(projection) for name, projection in at_risk.projected.items()},
    )


# ---------------------------------------------------------------------------------------
# Root causes
# ---------------------------------------------------------------------------------------

# What a share of defect units is a share of, in words.
DIMENSIONS = {
    CARRIER: gettext_lazy("carrier service"),
    WEEKDAY: gettext_lazy("weekday of purchase"),
    STATE: gettext_lazy("destination state"),
    AFTER_CUTOFF: gettext_lazy("bought after the cutoff"),
}


def percent_of(units: int, total: int) -> int:
    """``units`` as a whole percentage of ``total``, rounded half up, exactly."""
    return (200 * units + total) // (2 * total) if total else 0


def breakdowns(causes: RootCauses) -> list[tuple[str, str, list[Share]]]:
    """Each breakdown of the defect units: its key, its title, its shares."""
    return [
        ("carrier", _("By carrier service"), causes.by_carrier),
        ("weekday", _("By weekday of purchase"), causes.by_weekday),
        ("state", _("By destination state"), causes.by_state),
    ]


def largest_sentence(metric: str, causes: RootCauses) -> str | None:
    """The largest single contributor (carrier, weekday or state) in a sentence."""
    share = causes.largest
    if share is None:
        return None
    values = {
        "label": share.label,
        "percent": percent_of(share.units, causes.total_units),
        "defects": METRIC_DEFINITIONS[metric].defects_phrase,
    }
    if share.dimension == CARRIER:
        return _("%(label)s carried %(percent)s %% of your %(defects)s.") % values
    if share.dimension == WEEKDAY:
        values["label"] = _share_weekday(share)
        return _("%(percent)s %% of your %(defects)s were ordered on a %(label)s.") % values
    return _("%(percent)s %% of your %(defects)s went to %(label)s.") % values


def _share_weekday(share: Share) -> str:
    """The weekday of a share (keyed by its ISO number, Monday 1) as a sentence names it."""
    return weekday_in_sentence(int(share.key) - 1)


def after_cutoff_sentence(metric: str, causes: RootCauses, cutoff: CutoffBreakdown) -> str | None:
    """Which weekday's purchases after its cutoff contributed most, in a sentence."""
    if not cutoff.after_cutoff_by_weekday:
        return None
    share = cutoff.after_cutoff_by_weekday[0]
    values = {
        "weekday": _share_weekday(share),
        "percent": percent_of(share.units, causes.total_units),
        "defects": METRIC_DEFINITIONS[metric].defects_phrase,
    }
    if int(share.key) in cutoff.days_not_operated:
        return _("%(percent)s %% of your %(defects)s were ordered on %(weekday)s, a day you do not ship.") % values
    return _("%(percent)s %% of your %(defects)s were ordered after your %(weekday)s cutoff.") % values


@dataclass(frozen=True)
class RootCauseCard:
    """The root causes of the weakest metric of a window, as the dashboard says them."""

    metric: str
    window_days: int
    label: str
    causes: RootCauses
    cutoff: CutoffBreakdown
    breakdowns: list[tuple[str, str, list[Share]]]
    largest_sentence: str | None
    after_cutoff_sentence: str | None

    @property
    def defects(self) -> str:
        """The metric's defect units in its own words, for ``causes.total_units`` of them."""
        return METRIC_DEFINITIONS[self.metric].defects_noun(self.causes.total_units)


def root_cause_card(summary: RootCauseSummary) -> RootCauseCard:
    metric, causes = summary.metric, summary.causes
    return RootCauseCard(
        metric=metric,
        window_days=summary.window_days,
        label=str(METRIC_DEFINITIONS[metric].label),
        causes=causes,
        cutoff=summary.cutoff,
        breakdowns=breakdowns(causes),
        largest_sentence=largest_sentence(metric, causes),
        after_cutoff_sentence=after_cutoff_sentence(metric, causes, summary.cutoff),
    )


@dataclass(frozen=True)
class MetricCauseFacts:
    """One failing metric's defects by carrier, weekday and state, for the plan pages."""

    metric: str
    label: Promise
    defects: str  # the defect units in the metric's own words, e.g. "12 units shipped late"
    window_days: int
    causes: RootCauses
    largest_dimension: Promise | str  # "" without defect units
    breakdowns: list[tuple[str, list[Share]]]  # (title, shares)


@dataclass(frozen=True)
class RootCauseFacts:
    """The plan pages' root-cause facts, from the orders evaluated on ``day``."""

    day: dt.date
    metrics: list[MetricCauseFacts]
    late_shipments: LateShipmentsByHour


def root_cause_facts(*, seller: Seller, failing_items: list[RevocationReason]) -> list[RootCauseFacts]:
    """For each failing metric (and window) of a plan: its defects by carrier, weekday and
    state, and late shipments by hour of purchase against the cutoff, as the plan pages show
    them beside the form and to the reviewer. Grouped in the database on the seller's latest
    computed D."""
    day = seller_latest_day(seller=seller)
    if day is None:
        return []
    facts: list[MetricCauseFacts] = []
    seen: set[str] = set()
    for item in failing_items:
        if not isinstance(item, MetricReason) or item.metric in seen:
            continue
        seen.add(item.metric)
        causes = root_causes(seller=seller, day=day, window_days=item.window_days, metric=item.metric)
        largest = causes.largest
        facts.append(
            MetricCauseFacts(
                metric=item.metric,
                label=METRIC_DEFINITIONS[item.metric].label,
                defects=METRIC_DEFINITIONS[item.metric].defects_noun(causes.total_units),
                window_days=item.window_days,
                causes=causes,
                largest_dimension=DIMENSIONS[largest.dimension] if largest else "",
                breakdowns=[(title, shares) for _key, title, shares in breakdowns(causes)],
            )
        )
    if not facts:
        return []
    late_shipments = late_shipments_by_hour(seller=seller, day=day, window_days=facts[0].window_days)
    return [RootCauseFacts(day=day, metrics=facts, late_shipments=late_shipments)]


# ---------------------------------------------------------------------------------------
# Settings that predict defects
# ---------------------------------------------------------------------------------------

# Each kind of settings risk: its name, and the settings page (URL name) that fixes it.
SETTINGS_RISKS = {
    SettingsRiskKind.CUTOFF_AFTER_PICKUP: (
        gettext_lazy("Cutoff after the last carrier pickup"),
        gettext_lazy("Move the cutoff earlier"),
        "sellers:fulfilment",
    ),
    SettingsRiskKind.ONE_DAY_UNREACHABLE: (
        gettext_lazy("One-day promise no carrier keeps"),
        gettext_lazy("Change the Prime template"),
        "sellers:shipping_template",
    ),
    SettingsRiskKind.WEEKEND_WITHOUT_PICKUP: (
        gettext_lazy("Weekend day operated without a pickup"),
        gettext_lazy("Add a carrier pickup"),
        "sellers:carriers",
    ),
}


@dataclass(frozen=True)
class SettingsRiskCard:
    kind: str
    label: str
    detail: str  # what in the settings predicts defects
    cost: str  # which orders it already cost, in words
    orders: int
    units: int
    fix_label: str
    fix_url: str


def _time(moment: dt.time) -> str:
    return formats.time_format(moment, "TIME_FORMAT")


def _risk_words(risk: SettingsRisk) -> tuple[str, str]:
    """The risk's detail and its cost, in words."""
    if risk.kind == SettingsRiskKind.ONE_DAY_UNREACHABLE:
        values = {"states": ", ".join(risk.states)}
        return (
            _(
                "Your Prime template promises one-day delivery to %(states)s, "
                "which none of your carrier services reaches in one day."
            )
            % values,
            _("Late deliveries of orders shipped to %(states)s") % values,
        )
    if risk.weekday is None or risk.cutoff is None:
        raise ValueError(f"A {risk.kind} risk names its weekday and cutoff.")
    values = {"weekday": weekday_in_sentence(risk.weekday), "cutoff": _time(risk.cutoff)}
    if risk.kind == SettingsRiskKind.WEEKEND_WITHOUT_PICKUP:
        return (
            _("You ship on %(weekday)s, but no carrier picks up that day: its orders wait for the next pickup.")
            % values,
            _("Late shipments of orders bought on %(weekday)s") % values,
        )
    if risk.last_pickup is None:
        return (
            _("Your %(weekday)s cutoff is %(cutoff)s, but no carrier picks up that day.") % values,
            _("Late shipments of orders bought on %(weekday)s before the cutoff") % values,
        )
    values["pickup"] = _time(risk.last_pickup)
    return (
        _(
            "Your %(weekday)s cutoff is %(cutoff)s, but the last carrier pickup is at %(pickup)s: "
            "orders bought in between are promised to ship that day and miss the carrier."
        )
        % values,
        _("Late shipments of orders bought on %(weekday)s between %(pickup)s and %(cutoff)s") % values,
    )


def settings_risk_card(risk: SettingsRisk) -> SettingsRiskCard:
    label, fix_label, settings_page = SETTINGS_RISKS[SettingsRiskKind(risk.kind)]
    detail, cost = _risk_words(risk)
    return SettingsRiskCard(
        kind=risk.kind,
        label=str(label),
        detail=detail,
        cost=cost,
        orders=risk.orders,
        units=risk.units,
        fix_label=str(fix_label),
        fix_url=reverse(settings_page),
    )


# ---------------------------------------------------------------------------------------
# All of them for one seller and window
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DayInsightsCard:
    """D's insights of one window in words (``metrics.insights.DayInsights``)."""

    day: dt.date
    window_days: int
    headroom: dict[str, HeadroomLine]
    root_causes: RootCauseCard | None
    settings_risks: list[SettingsRiskCard]


@dataclass(frozen=True)
class InsightsCard(DayInsightsCard):
    """D's insights and the orders at risk now, in words."""

    at_risk: AtRiskCard


def day_insights_card(insights: DayInsights) -> DayInsightsCard:
    """D's insights of one window in words, in the active language."""
    return DayInsightsCard(
        day=insights.day,
        window_days=insights.window_days,
        headroom={name: headroom_line(headroom) for name, headroom in insights.headroom.items()},
        root_causes=root_cause_card(insights.root_causes) if insights.root_causes else None,
        settings_risks=[settings_risk_card(risk) for risk in insights.settings_risks],
    )


def insights_card(insights: Insights) -> InsightsCard:
    """The seller's insights of one window in words, in the active language."""
    facts = day_insights_card(insights)
    return InsightsCard(
        **{f.name: getattr(facts, f.name) for f in fields(facts)}, at_risk=at_risk_card(insights.at_risk)
    )
