"""Sentences that explain a revocation reason and the action that fixes it.

The actions follow the programme's own table of revocation reasons and actions
(seeds/000), in our words.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from metrics.definitions import METRIC_DEFINITIONS
from metrics.presenters import rate_percent, threshold_percent
from sellers.presenters import requirement_unmet_sentence


def reason_sentence(reason: dict) -> str:
    """One revocation reason as a sentence a seller understands."""
    if reason.get("kind") == "requirement":
        return requirement_unmet_sentence(reason["requirement"])
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
