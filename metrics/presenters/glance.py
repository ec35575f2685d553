"""The dashboard's first screen (SPEC section 8): one verdict across both windows (eligible,
at risk or not eligible) with the tightest headroom in words, the seven metrics in one
compact table, and, for a revoked seller, its revocation reasons as a checklist of what is
still failing and what is fixed now, each with the page that fixes it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.urls import reverse
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from metrics.definitions import (
    METRIC_DEFINITIONS,
    METRICS,
    SNAPSHOT_KEYS,
    WINDOWS,
    MetricDefinition,
    seller_at_risk,
)
from metrics.insights.headroom import Headroom, snapshot_headroom
from metrics.models import MetricSnapshot
from metrics.presenters.rates import rate_percent, threshold_percent
from metrics.presenters.reasons import reason_label, reason_sentence
from metrics.reasons import MetricReason, RequirementReason, RevocationReason
from sellers.models import Seller
from sellers.requirements import REQUIREMENTS, Requirements

# A metric's state on D, worst first: the status badge and the headroom badge read it.
FAILING, AT_RISK, PASSING = "failing", "at_risk", "passing"
STATE_ORDER = (FAILING, AT_RISK, PASSING)
# Bootstrap's colour of each state: red, amber, green.
STATE_COLOURS = {FAILING: "danger", AT_RISK: "warning", PASSING: "success"}

ELIGIBLE, NOT_ELIGIBLE = "eligible", "not_eligible"


def headroom_state(headroom: Headroom) -> str:
    """Failing (negative headroom), at risk (SPEC section 8) or passing; no orders passes."""
    if not headroom.passing:
        return FAILING
    return AT_RISK if headroom.at_risk else PASSING


def tightest_headroom(headrooms: Iterable[Headroom]) -> Headroom | None:
    """Of the passing metrics with orders, in both windows, the one closest to losing Prime:
    the fewest defect units left (ties: an at-risk one, then the 7-day window, then the
    dashboard's order of metrics). None when no metric has orders or every one fails."""
    order = {name: index for index, name in enumerate(METRICS)}
    candidates = [h for h in headrooms if h.units is not None and h.units >= 0]
    if not candidates:
        return None
    return min(candidates, key=lambda h: (h.units, not h.at_risk, h.window_days, order[h.metric]))


def tightest_sentence(headroom: Headroom) -> str:
    """The tightest headroom in words: "3 more unprotected late deliveries in the 7-day window
    and you lose Prime." (the headroom is what the window can still absorb, so one more than
    it loses Prime). The defect units' words come from the metric's record."""
    if headroom.units is None or headroom.units < 0:
        raise ValueError("Only a passing metric with orders has a headroom to say in words.")
    count = headroom.units + 1
    return ngettext(
        "%(count)s more %(defects)s in the %(days)s-day window and you lose Prime.",
        "%(count)s more %(defects)s in the %(days)s-day window and you lose Prime.",
        count,
    ) % {
        "count": count,
        "defects": METRIC_DEFINITIONS[headroom.metric].defects_noun(count),
        "days": headroom.window_days,
    }


def at_risk_line(snapshot: MetricSnapshot) -> str:
    """One metric at risk in a window, for the at-risk email: its rate for eligibility, the
    threshold and the headroom left."""
    definition = snapshot.definition
    rate = snapshot.exact_eligibility_rate
    return _(
        "%(metric)s over %(days)s days: %(rate)s against %(comparison)s %(threshold)s; "
        "%(headroom)s more %(defects)s fit before it fails."
    ) % {
        "metric": definition.label,
        "days": snapshot.window_days,
        "rate": rate_percent(rate, snapshot.threshold, higher_is_better=definition.higher_is_better),
        "comparison": _("at least") if definition.higher_is_better else _("at most"),
        "threshold": threshold_percent(snapshot.threshold),
        "headroom": snapshot.headroom,
        "defects": definition.defects_noun(snapshot.headroom or 0),
    }


@dataclass(frozen=True)
class Verdict:
    """One verdict across both windows: ``eligible`` (green), ``at_risk`` (amber) or
    ``not_eligible`` (red), with the tightest headroom of an eligible seller in words and
    the metrics at risk (which need not be the tightest: a large allowance is at risk
    sooner)."""

    kind: str
    tightest: Headroom | None
    sentence: str  # the tightest headroom in words, or ""
    at_risk: list[str]  # the metrics at risk, "One-day delivery speed (7 days)"

    @property
    def colour(self) -> str:
        return {ELIGIBLE: "success", AT_RISK: "warning", NOT_ELIGIBLE: "danger"}[self.kind]


def seller_verdict(*, seller: Seller, headrooms: Iterable[Headroom], before_reinstatement: bool = False) -> Verdict:
    """The verdict of the seller's latest figures (``headrooms``, both windows). Figures from
    before the seller's reinstatement (``before_reinstatement``) were answered by it: the
    seller is eligible, and they say nothing about how close it is now."""
    headrooms = list(headrooms)
    if not seller.is_eligible:
        return Verdict(kind=NOT_ELIGIBLE, tightest=None, sentence="", at_risk=[])
    if before_reinstatement:
        return Verdict(kind=ELIGIBLE, tightest=None, sentence="", at_risk=[])
    tightest = tightest_headroom(headrooms)
    at_risk = seller_at_risk(eligible=True, metrics_at_risk=(h.at_risk for h in headrooms))
    order = {(window, name): index for index, (window, name) in enumerate(SNAPSHOT_KEYS)}
    return Verdict(
        kind=AT_RISK if at_risk else ELIGIBLE,
        tightest=tightest,
        sentence=tightest_sentence(tightest) if tightest else "",
        at_risk=[
            _("%(metric)s (%(days)s days)") % {"metric": METRIC_DEFINITIONS[h.metric].label, "days": h.window_days}
            for h in sorted(headrooms, key=lambda h: order[(h.window_days, h.metric)])
            if h.at_risk
        ],
    )


# ---------------------------------------------------------------------------------------
# The table of the seven metrics
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WindowCell:
    """One metric in one window on D, as a cell of the table."""

    window_days: int
    state: str
    lead: str  # the rate that decides: protected and excused units not counted
    shown: str  # where that differs (``MetricSnapshot.judged_apart``), the rate shown (every defect), else ""
    no_orders: bool
    defect_units: int
    defects_url: str


@dataclass(frozen=True)
class MetricRow:
    """One metric across both windows on D: a row of the first screen's table."""

    name: str
    definition: MetricDefinition
    cells: list[WindowCell | None]  # in WINDOWS order; None when not computed
    threshold: str  # "≥ 99.00 %"
    headroom: Headroom | None  # the tighter window's
    state: str  # the worse window's

    @property
    def label(self) -> str:
        return str(self.definition.label)

    @property
    def window_cells(self) -> list[tuple[int, WindowCell | None]]:
        """(window, cell) in WINDOWS order: a cell missing still names its column."""
        return list(zip(WINDOWS, self.cells, strict=True))

    @property
    def colour(self) -> str:
        return STATE_COLOURS[self.state]

    @property
    def headroom_colour(self) -> str:
        return STATE_COLOURS[headroom_state(self.headroom)] if self.headroom and self.headroom.units is not None else ""


def _cell(snapshot: MetricSnapshot, defects_url: str) -> WindowCell:
    threshold, higher = snapshot.threshold, snapshot.definition.higher_is_better
    population, defects = snapshot.population_units, snapshot.defect_units
    # Protected and excused units not counted: the rate the verdict is on.
    lead = rate_percent(snapshot.exact_eligibility_rate, threshold, higher_is_better=higher)
    shown = ""
    if snapshot.judged_apart and population:
        shown = rate_percent(snapshot.exact_rate, threshold, higher_is_better=higher)
    return WindowCell(
        window_days=snapshot.window_days,
        state=headroom_state(snapshot_headroom(snapshot)),
        lead=lead,
        shown=shown,
        no_orders=population == 0,
        defect_units=defects,
        defects_url=f"{defects_url}?window={snapshot.window_days}&metric={snapshot.metric}",
    )


def metric_rows(snapshots: Mapping[tuple[int, str], MetricSnapshot]) -> list[MetricRow]:
    """A row per metric from D's snapshots of both windows (``seller_day_snapshots``)."""
    defects_url = reverse("metrics:defects")
    rows = []
    for name in METRICS:
        definition = METRIC_DEFINITIONS[name]
        of_metric = [snapshots.get((window, name)) for window in WINDOWS]
        computed = [s for s in of_metric if s is not None]
        cells = [None if s is None else _cell(s, defects_url) for s in of_metric]
        headroom = tightest_headroom(snapshot_headroom(s) for s in computed)
        failing = [snapshot_headroom(s) for s in computed if not s.passing]
        if failing:  # the window that fails, furthest below
            headroom = min(failing, key=lambda h: h.units or 0)
        states = [cell.state for cell in cells if cell is not None]
        rows.append(
            MetricRow(
                name=name,
                definition=definition,
                cells=cells,
                threshold=(
                    f"{'≥' if definition.higher_is_better else '≤'} {threshold_percent(computed[-1].threshold)}"
                    if computed
                    else "—"
                ),
                headroom=headroom,
                state=min(states, key=STATE_ORDER.index) if states else PASSING,
            )
        )
    return rows


# ---------------------------------------------------------------------------------------
# The revocation banner as a checklist
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChecklistItem:
    """One reason of the latest revocation: fixed now or still failing, and where to fix it."""

    label: str
    sentence: str  # why it was revoked, as recorded
    fixed: bool
    now: str  # how it stands now, in words ("" when nothing to add)
    fix_url: str
    fix_label: str


def _metric_item(
    reason: MetricReason, snapshots: Mapping[tuple[int, str], MetricSnapshot], day: dt.date | None
) -> ChecklistItem:
    definition = METRIC_DEFINITIONS[reason.metric]
    snapshot = snapshots.get((reason.window_days, reason.metric))
    now = ""
    if snapshot is not None and snapshot.population_units:
        rate = snapshot.exact_eligibility_rate
        now = _("Now %(rate)s over %(days)s days (figures of %(day)s).") % {
            "rate": rate_percent(rate, snapshot.threshold, higher_is_better=definition.higher_is_better),
            "days": reason.window_days,
            "day": formats.date_format(day, "DATE_FORMAT") if day else "",
        }
    return ChecklistItem(
        label=_("%(metric)s (%(days)s days)") % {"metric": definition.label, "days": reason.window_days},
        sentence=reason_sentence(reason),
        # Fixed when the latest computed day passes (no figures: nothing shows it is fixed).
        fixed=snapshot is not None and snapshot.passing,
        now=now,
        fix_url=f"{reverse('metrics:defects')}?window={reason.window_days}&metric={reason.metric}",
        fix_label=_("See the orders behind it"),
    )


def _requirement_item(reason: RequirementReason, requirements: Requirements) -> ChecklistItem:
    requirement = REQUIREMENTS.get(reason.requirement)
    passing = requirements.passing.get(reason.requirement, False)
    return ChecklistItem(
        label=reason_label(reason),
        sentence=reason_sentence(reason),
        fixed=passing,
        now=(requirement.detail(requirements) if requirement and not passing else ""),
        fix_url=reverse(requirement.settings_page) if requirement else reverse("sellers:settings"),
        fix_label=_("Open the setting"),
    )


def revocation_checklist(
    reasons: Iterable[RevocationReason],
    *,
    requirements: Requirements,
    snapshots: Mapping[tuple[int, str], MetricSnapshot],
    day: dt.date | None,
) -> list[ChecklistItem]:
    """Each reason of the latest revocation, "still failing" or "fixed now": a requirement
    by the seller's settings now (the requirements registry's check), a metric by the
    latest computed day's figures (``snapshots`` of ``day``)."""
    return [
        _metric_item(reason, snapshots, day)
        if isinstance(reason, MetricReason)
        else _requirement_item(reason, requirements)
        for reason in reasons
    ]
