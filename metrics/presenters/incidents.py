"""An incident (SPEC section 7) in words: its facts as the seller's pages and the reviewers'
email list them, the link that starts a report beside a metric, and what an approval would
make of each metric, as the report's preview shows it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from django.db.models import Field
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from metrics.definitions import METRIC_DEFINITIONS, MetricDefinition
from metrics.incidents import EXCUSABLE_METRICS, first_day_counted
from metrics.models import Incident
from metrics.presenters.rates import rate_percent, threshold_percent
from metrics.selectors import IncidentEffect
from sellers.models import Seller

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

# Bootstrap's colour of each status badge.
STATUS_COLOURS = {
    Incident.Status.SUBMITTED: "secondary",
    Incident.Status.APPROVED: "success",
    Incident.Status.REJECTED: "danger",
}


def incident_label(name: str) -> StrOrPromise:
    """The label of an incident's field: the model field's own name for it, capitalised
    (lazy: a form's class-level label is translated when shown)."""
    field = Incident._meta.get_field(name)
    if not isinstance(field, Field):
        raise TypeError(f"Incident.{name} is not a field of its own.")
    return capfirst(field.verbose_name)


def carrier_text(carrier: str) -> str:
    """The carrier service an incident names, or all of them ('' in the model)."""
    return carrier or _("All carrier services")


def dates_text(start: dt.date, end: dt.date) -> str:
    """An incident's local dates: one day, or the first to the last."""
    if start == end:
        return formats.date_format(start, "DATE_FORMAT")
    return _("%(start)s to %(end)s") % {
        "start": formats.date_format(start, "DATE_FORMAT"),
        "end": formats.date_format(end, "DATE_FORMAT"),
    }


def metrics_text(metrics: Iterable[str]) -> str:
    """Metric names for a sentence, in the dashboard's order."""
    return ", ".join(str(METRIC_DEFINITIONS[name].label) for name in METRIC_DEFINITIONS if name in set(metrics))


def incident_facts(incident: Incident) -> list[tuple[str, str]]:
    """What the seller reported, as (label, words) pairs: the list and detail pages and the
    reviewers' email say it this way."""
    facts = [
        (str(incident_label("kind")), str(incident.get_kind_display())),
        (str(incident_label("carrier")), carrier_text(incident.carrier)),
        (_("Local dates"), dates_text(incident.start_date, incident.end_date)),
    ]
    if incident.order_ids:
        facts.append((str(incident_label("order_ids")), str(len(incident.order_ids))))
    if incident.excused_metrics:
        facts.append((_("Excused metrics"), metrics_text(incident.excused_metrics)))
    return facts


# ---------------------------------------------------------------------------------------
# What became of it, and from which figures on it counts


def counted_sentence(first_day: dt.date, day: dt.date | None) -> str:
    """Whether the figures shown (of D, the latest computed day; None before the first run)
    count an incident approved for ``first_day`` on: an approval counts as of D only when it
    came by the end of D, and D's figures are computed after D ends (SPEC section 7)."""
    if day is not None and first_day <= day:
        return _("The figures shown, of %(day)s, count it.") % {"day": formats.date_format(day, "DATE_FORMAT")}
    return _(
        "The daily run computes the figures of %(first)s after that day ends; until then the figures shown "
        "still count its defects."
    ) % {"first": formats.date_format(first_day, "DATE_FORMAT")}


def incident_decision_sentences(incident: Incident, *, seller: Seller, day: dt.date | None) -> list[str]:
    """What became of a seller's incident, as its pages and the dashboard say it: waiting for
    review, rejected, or approved with the metrics it excuses, the first figures that count
    it and whether the figures shown (of D) do yet."""
    if incident.is_open or incident.decided_at is None:
        return [_("Waiting for review by programme staff. You are emailed their decision.")]
    decided = formats.date_format(timezone.localtime(incident.decided_at, seller.zone), "DATETIME_FORMAT")
    first_day = first_day_counted(incident, seller.timezone)
    if first_day is None:
        return [_("Rejected on %(decided)s.") % {"decided": decided}]
    return [
        _(
            "Approved on %(decided)s: it excuses the defects of the orders it covers for %(metrics)s, from the figures "
            "of %(first)s on."
        )
        % {
            "decided": decided,
            "metrics": metrics_text(incident.excused_metrics),
            "first": formats.date_format(first_day, "DATE_FORMAT"),
        },
        counted_sentence(first_day, day),
    ]


# ---------------------------------------------------------------------------------------
# Where a report starts


def report_incident_url(metric: str | None = None, window_days: int | None = None) -> str:
    """The report form, started beside ``metric`` of a window (``?metric=&window=``)."""
    url = reverse("metrics:incident_create")
    if metric is None:
        return url
    query = {"metric": metric} | ({"window": window_days} if window_days else {})
    return f"{url}?{urlencode(query)}"


def incident_excuses(metric: str) -> bool:
    """Whether an approved incident can excuse ``metric``'s defects: only those metrics get
    the link beside them (a slow promise or a label bought elsewhere is no incident)."""
    return metric in EXCUSABLE_METRICS


def came_from_sentence(metric: str, window_days: int | None) -> str:
    """What the report page says of the metric it was started beside."""
    label = METRIC_DEFINITIONS[metric].label
    if not incident_excuses(metric):
        return _(
            "You came from %(metric)s. An incident cannot excuse it: an approved incident excuses only %(metrics)s."
        ) % {"metric": label, "metrics": metrics_text(EXCUSABLE_METRICS)}
    if window_days:
        return _("You came from %(metric)s over %(days)s days: an approved incident can excuse its defects.") % {
            "metric": label,
            "days": window_days,
        }
    return _("You came from %(metric)s: an approved incident can excuse its defects.") % {"metric": label}


# ---------------------------------------------------------------------------------------
# The preview of an approval


@dataclass(frozen=True)
class EffectRow:
    """One excusable metric of one window on D, as it is judged now and as it would be were
    the incident approved for it (``metrics.selectors.IncidentEffect``): the report's preview
    and the reviewer's page both show these."""

    metric: str
    label: str
    window_days: int
    would_excuse: int
    excused: int
    rate_now: str
    rate_if_approved: str
    passing_now: bool
    passing_if_approved: bool
    threshold: str
    higher_is_better: bool

    @property
    def changes(self) -> bool:
        """An approval would turn the metric from failing to passing."""
        return self.passing_if_approved and not self.passing_now


def effect_rows(effects: Sequence[IncidentEffect]) -> list[EffectRow]:
    """The rates judged for eligibility (protected and excused units not counted), as the
    pages write a rate beside its threshold, by window then in the dashboard's order."""
    order = {name: index for index, name in enumerate(METRIC_DEFINITIONS)}
    rows = []
    for effect in sorted(effects, key=lambda e: (e.window_days, order[e.metric])):
        definition = METRIC_DEFINITIONS[effect.metric]

        def shown(rate: Fraction | None, definition: MetricDefinition = definition, effect=effect) -> str:
            return rate_percent(rate, effect.threshold, higher_is_better=definition.higher_is_better)

        rows.append(
            EffectRow(
                metric=effect.metric,
                label=str(definition.label),
                window_days=effect.window_days,
                would_excuse=effect.would_excuse,
                excused=effect.excused,
                rate_now=shown(effect.eligibility_rate(if_approved=False)),
                rate_if_approved=shown(effect.eligibility_rate(if_approved=True)),
                passing_now=effect.passing_now,
                passing_if_approved=effect.passing_if_approved,
                threshold=threshold_percent(effect.threshold),
                higher_is_better=definition.higher_is_better,
            )
        )
    return rows
