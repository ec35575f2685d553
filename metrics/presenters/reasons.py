"""A revocation reason, or a plan's failing item (``metrics.reasons``), in words: the
sentence on the dashboard, in the revocation email, the plan pages and the audit history."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from metrics.definitions import METRIC_DEFINITIONS
from metrics.models import PlanOfAction
from metrics.presenters.rates import rate_percent, threshold_percent
from metrics.reasons import MetricReason, RequirementReason, RevocationReason
from sellers.presenters import requirement_unmet_sentence
from sellers.requirements import REQUIREMENTS


def reason_sentence(reason: RevocationReason) -> str:
    """One revocation reason as a sentence a seller understands, with what fixes it."""
    if isinstance(reason, RequirementReason):
        return requirement_unmet_sentence(reason.requirement)
    definition = METRIC_DEFINITIONS[reason.metric]
    # The rate the verdict was on (protected and excused units not counted, where there are
    # some), exactly from the recorded units: never the rounded float stored beside them.
    population, defects = reason.population_units, reason.defect_units
    protected, excused = reason.protected_units, reason.excused_units
    rate = definition.eligibility_rate(population=population, defects=defects, protected=protected, excused=excused)
    comparison = _("at least") if definition.higher_is_better else _("at most")
    sentence = _(
        "%(metric)s over %(window)s days was %(rate)s; it must be %(comparison)s %(threshold)s "
        "(%(defects)s of %(population)s %(population_label)s were defects)."
    ) % {
        "metric": definition.label,
        "window": reason.window_days,
        "rate": rate_percent(rate, reason.threshold, higher_is_better=definition.higher_is_better),
        "comparison": comparison,
        "threshold": threshold_percent(reason.threshold),
        "defects": defects - protected - excused,
        "population": population,
        "population_label": definition.population,
    }
    if excused:
        sentence += " " + excused_units_sentence(excused)
    return sentence


def excused_units_sentence(excused: int) -> str:
    """Defect units approved incidents excused (SPEC section 7), beside the ones counted."""
    return ngettext(
        "%(count)s more defect unit was excused by an approved incident and not counted.",
        "%(count)s more defect units were excused by approved incidents and not counted.",
        excused,
    ) % {"count": excused}


def reason_label(reason: RevocationReason) -> str:
    """What the reason is about: the metric's or the requirement's name."""
    if isinstance(reason, MetricReason):
        return str(METRIC_DEFINITIONS[reason.metric].label)
    requirement = REQUIREMENTS.get(reason.requirement)
    return str(requirement.label) if requirement else reason.requirement


def reason_item_label(reason: RevocationReason) -> str:
    """The item in a list of failing items: a metric's name with its window ("On-time
    shipment rate (30 days)"), so the two windows of one metric read as two items."""
    if isinstance(reason, MetricReason):
        return _("%(metric)s (%(days)s days)") % {
            "metric": METRIC_DEFINITIONS[reason.metric].label,
            "days": reason.window_days,
        }
    return reason_label(reason)


@dataclass(frozen=True)
class FailingItem:
    """One item a plan of action answers for, as the plan pages list it."""

    item: RevocationReason
    label: str
    sentence: str


def failing_item_rows(reasons: Iterable[RevocationReason]) -> list[FailingItem]:
    return [
        FailingItem(item=reason, label=reason_label(reason), sentence=reason_sentence(reason)) for reason in reasons
    ]


@dataclass(frozen=True)
class ListedPlan:
    """A plan of action in a list (the seller's plans, the review queue), with its failing items."""

    plan: PlanOfAction
    item_rows: list[FailingItem]


def listed_plans(plans: Iterable[PlanOfAction]) -> list[ListedPlan]:
    return [ListedPlan(plan=plan, item_rows=failing_item_rows(plan.failing_reasons)) for plan in plans]
