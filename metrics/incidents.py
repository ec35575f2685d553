"""Extenuating circumstances (SPEC section 7): which orders an incident covers and which of
their defects an approved incident excuses, written once for SQL and once for Python, side
by side like the metric rules of ``metrics.definitions``; and the bounds of a report.

An approved incident *excuses*, for each metric it was approved for, the defect units of
the orders it covers: the listed order ids, else the seller's orders on its carrier (any
carrier when none) whose *relevant date* for the metric is in the incident's local date
range. As of D an incident counts only if it was approved by the end of D (in the seller's
zone), so a later approval never changes an earlier day. A late delivery already protected
by Buy Shipping is protected, not excused: no unit is subtracted twice, and for every
metric and window *excused + protected + counted = defects*.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db.models import BooleanField, DateField, DateTimeField, Exists, F, Func, OuterRef, Q, QuerySet, Value
from django.utils.translation import gettext as _

from metrics.definitions import METRIC_RULES, is_protected_late, q_protected_late
from metrics.models import Incident
from sellers.models import Order, day_end, local_date, zone

# A report spans at most this many local dates, the last not in the future, the first at
# most INCIDENT_MAX_AGE_DAYS before today (SPEC section 7).
INCIDENT_MAX_DAYS = 7
INCIDENT_MAX_AGE_DAYS = 30
# What a report and a decision may hold: every value bounded.
INCIDENT_DESCRIPTION_MIN = 20
INCIDENT_DESCRIPTION_MAX = 4000
INCIDENT_MAX_ORDERS = 500
INCIDENT_NOTE_MAX = 4000
# Incidents a seller may have waiting for a decision at once: enough for a bad week, few
# enough that a script cannot flood the review queue.
INCIDENT_MAX_OPEN = 10
# The covered defect orders a page lists (the report's to pick from, the seller's and the
# reviewer's incident pages), with how many there are in all: a page, not a dump.
INCIDENT_MAX_CANDIDATES = 200
# The most a report's JSON body (POST /api/incidents/) may hold: the longest description
# and the most order ids, written with escapes, fit in it.
INCIDENT_BODY_MAX = 64 * 1024

# The metrics an incident can excuse, each with the order's *relevant date* for it: the
# promised ship date for shipped late and no valid tracking, the promised delivery date for
# delivered late, the local cancellation date for cancelled by seller (SPEC section 7).
EXCUSAL_DATES: dict[str, str] = {
    "on_time_shipment_rate": "promised_ship_date",
    "on_time_delivery_rate": "promised_delivery_date",
    "valid_tracking_rate": "promised_ship_date",
    "cancellation_rate": "cancelled_date",
}
EXCUSABLE_METRICS: tuple[str, ...] = tuple(EXCUSAL_DATES)

# The metrics an approval preselects for each kind (the reviewer may change them): what
# such an incident typically makes late, untracked or cancelled.
KIND_METRICS: dict[str, tuple[str, ...]] = {
    Incident.Kind.CARRIER: ("on_time_shipment_rate", "on_time_delivery_rate", "valid_tracking_rate"),
    Incident.Kind.WEATHER: ("on_time_shipment_rate", "on_time_delivery_rate", "cancellation_rate"),
    Incident.Kind.POWER: ("on_time_shipment_rate", "valid_tracking_rate", "cancellation_rate"),
    Incident.Kind.TECHNICAL: ("on_time_shipment_rate", "valid_tracking_rate", "cancellation_rate"),
    Incident.Kind.OTHER: ("on_time_shipment_rate", "on_time_delivery_rate"),
}


def open_incidents_full_sentence() -> str:
    """Why a seller with ``INCIDENT_MAX_OPEN`` incidents waiting cannot report another yet."""
    return _(
        "You have %(count)s incidents waiting for a decision, the most at once. Wait until programme staff have "
        "decided one, then report this one."
    ) % {"count": INCIDENT_MAX_OPEN}


def kind_for_metric(metric: str) -> str | None:
    """The kind a report started beside ``metric`` (``?metric=``) begins with: the first kind
    whose approval preselects the metric (on-time delivery: a carrier breakdown or delay);
    None for a metric no incident excuses."""
    return next((str(kind) for kind, metrics in KIND_METRICS.items() if metric in metrics), None)


@dataclass(frozen=True)
class IncidentScope:
    """What an incident covers, whether stored, being reported or previewed: a carrier
    service ('' for all), a local date range and the order ids it names (none: every order
    of the carrier and dates)."""

    carrier: str
    start_date: dt.date
    end_date: dt.date
    order_ids: tuple[str, ...] = field(default=())

    @classmethod
    def of(cls, incident: Incident) -> IncidentScope:
        return cls(incident.carrier, incident.start_date, incident.end_date, tuple(incident.order_ids))


class _EqualsAny(Func):
    """``value = ANY(array)``: the order id among an incident's listed ones."""

    output_field = BooleanField()
    template = "(%(expressions)s))"
    arg_joiner = " = ANY("


class _DayEnd(Func):
    """The moment a local date ends in a zone given by a column: ``(D + 1) AT TIME ZONE tz``
    (SQL half of ``sellers.models.day_end``)."""

    output_field = DateTimeField()
    template = "((%(expressions)s))"
    arg_joiner = ")::timestamp AT TIME ZONE ("


# ---------------------------------------------------------------------------------------
# Covering: SQL over sellers.Order (a scope's values as constants, or an incident's as
# OuterRefs), Python over an Order. Keep them in pairs.


def q_covered(metric: str, scope: IncidentScope) -> Q:
    """SQL half of ``is_covered``: the orders ``scope`` covers for ``metric``."""
    if scope.order_ids:
        return Q(order_id__in=list(scope.order_ids))
    date = EXCUSAL_DATES[metric]
    covered = Q(**{f"{date}__range": (scope.start_date, scope.end_date)})
    return covered & Q(carrier=scope.carrier) if scope.carrier else covered


def is_covered(order: Order, metric: str, scope: IncidentScope) -> bool:
    if scope.order_ids:
        return order.order_id in scope.order_ids
    relevant = getattr(order, EXCUSAL_DATES[metric])
    if relevant is None or not scope.start_date <= relevant <= scope.end_date:
        return False
    return not scope.carrier or order.carrier == scope.carrier


def q_excusable_defects(metric: str, day: dt.date) -> Q:
    """The orders whose ``metric`` defect units an incident could excuse as of D: its
    defects, Buy Shipping's protected late deliveries left out (those are protected, never
    excused too). What a report offers to pick and an incident's page lists."""
    defects = METRIC_RULES[metric].defects(day)
    return defects & ~q_protected_late(day) if metric == "on_time_delivery_rate" else defects


def _is_excusable_defect(order: Order, metric: str, day: dt.date) -> bool:
    if not METRIC_RULES[metric].py_defects(order, day):
        return False
    return not (metric == "on_time_delivery_rate" and is_protected_late(order, day))


def approved_as_of(day: dt.date) -> Q:
    """Incidents that count as of D: approved by the end of D in their seller's zone."""
    return Q(
        status=Incident.Status.APPROVED,
        decided_at__lt=_DayEnd(Value(day + dt.timedelta(days=1), output_field=DateField()), F("seller__timezone")),
    )


def covering_incidents(metric: str, day: dt.date) -> QuerySet[Incident]:
    """The incidents that cover the outer order (``OuterRef``s to a ``sellers.Order``) for
    ``metric`` and count as of D: its seller's, approved by the end of D for the metric,
    listing it or, listing none, on its carrier (or all) over its relevant date."""
    date = EXCUSAL_DATES[metric]
    by_dates = (Q(carrier="") | Q(carrier=OuterRef("carrier"))) & Q(
        start_date__lte=OuterRef(date), end_date__gte=OuterRef(date)
    )
    return Incident.objects.filter(
        approved_as_of(day),
        seller_id=OuterRef("seller_id"),
        excused_metrics__contains=[metric],
    ).filter((Q(order_ids=[]) & by_dates) | Q(_EqualsAny(OuterRef("order_id"), F("order_ids"))))


def q_excused(metric: str, day: dt.date) -> Q:
    """SQL half of ``is_excused``: the orders whose defect units for ``metric`` are excused
    as of D, by an incident of their seller approved by the end of D for the metric."""
    if metric not in EXCUSAL_DATES:
        return Q(pk__in=[])
    return q_excusable_defects(metric, day) & Q(Exists(covering_incidents(metric, day)))


def counts_as_of(incident: Incident, day: dt.date, zone_name: str) -> bool:
    """Python half of ``approved_as_of`` for one incident of a seller in ``zone_name``."""
    return (
        incident.status == Incident.Status.APPROVED
        and incident.decided_at is not None
        and incident.decided_at < day_end(day, zone_name)
    )


def first_day_counted(incident: Incident, zone_name: str) -> dt.date | None:
    """The first D an approved incident counts as of (``counts_as_of`` holds from it on): the
    local date of its approval. The daily run computes D's figures after D ends, so a seller
    sees the incident in the figures the day after. None until it is approved."""
    if incident.status != Incident.Status.APPROVED or incident.decided_at is None:
        return None
    return local_date(incident.decided_at, zone(zone_name))


def _excusing(
    order: Order, metric: str, day: dt.date, *, incidents: Iterable[Incident], zone_name: str
) -> Incident | None:
    """The first of ``incidents`` that excuses ``order``'s defect units for ``metric`` as of
    D, or None: the one Python rule ``is_excused`` and ``excused_by`` both ask."""
    if metric not in EXCUSAL_DATES or not _is_excusable_defect(order, metric, day):
        return None
    return next(
        (
            incident
            for incident in incidents
            if metric in incident.excused_metrics
            and counts_as_of(incident, day, zone_name)
            and is_covered(order, metric, IncidentScope.of(incident))
        ),
        None,
    )


def is_excused(order: Order, metric: str, day: dt.date, *, incidents: Iterable[Incident], zone_name: str) -> bool:
    """Whether ``order``'s defect units for ``metric`` are excused as of D by one of its
    seller's ``incidents`` (SPEC section 7)."""
    return _excusing(order, metric, day, incidents=incidents, zone_name=zone_name) is not None


def excused_by(order: Order, day: dt.date, *, incidents: Sequence[Incident], zone_name: str) -> dict[str, Incident]:
    """For one order, the metrics whose defect units are excused as of D and the (first)
    incident that excuses each: what the defect list says beside the order."""
    found = {
        metric: _excusing(order, metric, day, incidents=incidents, zone_name=zone_name) for metric in EXCUSABLE_METRICS
    }
    return {metric: incident for metric, incident in found.items() if incident is not None}


def q_would_excuse(metric: str, day: dt.date, scope: IncidentScope) -> Q:
    """The orders whose ``metric`` defect units an incident of ``scope``, approved for the
    metric, would excuse beyond what is excused already as of D: what a report previews and
    a reviewer weighs."""
    return q_excusable_defects(metric, day) & q_covered(metric, scope) & ~q_excused(metric, day)


def q_covered_defects(metric: str, day: dt.date, scope: IncidentScope) -> Q:
    """The orders whose ``metric`` defect units as of D an incident of ``scope`` covers and,
    approved for the metric, would excuse (protected late deliveries aside), whether or not
    another approved incident excuses them already: the orders a reviewer sees it covers."""
    return q_excusable_defects(metric, day) & q_covered(metric, scope)
