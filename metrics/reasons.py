"""Sentences that explain a revocation reason and the action that fixes it.

The actions follow the programme's own table of revocation reasons and actions
(seeds/000), in our words.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from metrics.definitions import METRIC_DEFINITIONS
from metrics.presenters import rate_percent, threshold_percent

REQUIREMENT_LABELS = {
    "nationwide_coverage": gettext_lazy("Nationwide coverage"),
    "weekday_cutoff": gettext_lazy("Weekday cutoff"),
    "weekend_cutoff": gettext_lazy("Weekend cutoff"),
    "weekend_operations": gettext_lazy("Weekend operations"),
    "weekend_delivery": gettext_lazy("Weekend delivery"),
    "carrier_pickups": gettext_lazy("Carrier pickups"),
}

REQUIREMENT_ACTIONS = {
    "nationwide_coverage": gettext_lazy(
        "Offer Prime in all 48 contiguous states and the District of Columbia in your Prime shipping template."
    ),
    "weekday_cutoff": gettext_lazy("Set every operated weekday's order cutoff to 14:00 or later."),
    "weekend_cutoff": gettext_lazy("Set the order cutoff of every operated Saturday or Sunday to 10:30 or later."),
    "weekend_operations": gettext_lazy(
        "Operate Monday to Friday and at least one weekend day, so the Prime badge stays on at the weekend."
    ),
    "weekend_delivery": gettext_lazy(
        "Turn on six-day delivery and use carrier services that pick up and deliver on Saturday."
    ),
    "carrier_pickups": gettext_lazy(
        "Make sure a carrier picks up at or after your cutoff on every operated day, or move the cutoff earlier."
    ),
}


def reason_sentence(reason: dict) -> str:
    """One revocation reason as a sentence a seller understands."""
    if reason.get("kind") == "requirement":
        name = reason["requirement"]
        return _("%(check)s requirement is not met. %(action)s") % {
            "check": REQUIREMENT_LABELS.get(name, name),
            "action": REQUIREMENT_ACTIONS.get(name, ""),
        }
    definition = METRIC_DEFINITIONS[reason["metric"]]
    # The rate the verdict was on (protected units excused, as only on-time delivery has
    # them), exactly from the recorded units: never the rounded float stored beside them.
    population, defects = reason["population_units"], reason["defect_units"]
    protected = reason.get("protected_units", 0)
    rate = definition.eligibility_rate(population=population, defects=defects, protected=protected)
    comparison = _("at least") if definition.higher_is_better else _("at most")
    return _(
        "%(metric)s over %(window)s days was %(rate)s; it must be %(comparison)s %(threshold)s "
        "(%(defects)s of %(population)s %(population_label)s were defects)."
    ) % {
        "metric": definition.label,
        "window": reason["window_days"],
        "rate": rate_percent(rate, reason["threshold"], higher_is_better=definition.higher_is_better),
        "comparison": comparison,
        "threshold": threshold_percent(reason["threshold"]),
        "defects": defects - protected,
        "population": population,
        "population_label": definition.population,
    }


def requirement_rows(passing: dict[str, bool], names: Iterable[str]) -> list[dict]:
    """The requirement checks ``names`` (SPEC section 2) as the pages show them: label,
    pass/fail, whether a failure is only a warning, and the action that fixes it."""
    from metrics.selectors import WARNING_REQUIREMENTS

    return [
        {
            "name": name,
            "label": REQUIREMENT_LABELS[name],
            "passing": passing[name],
            "warning": name in WARNING_REQUIREMENTS,
            "action": REQUIREMENT_ACTIONS[name],
        }
        for name in names
    ]
