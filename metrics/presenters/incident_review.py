"""What the review pages say about incidents (SPEC section 7): the queue's rows, plans and
incidents in one list; an incident's covered orders, the effect an approval would have on the
seller's status, the other sellers' defects on its carrier and days, and the reinstatement at
once it may offer. An incident's facts and the effect on each metric are worded once, in
``metrics.presenters.incidents``, for the seller's pages and these."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.urls import reverse
from django.utils.formats import date_format, number_format
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from metrics.definitions import METRIC_DEFINITIONS
from metrics.incidents import EXCUSABLE_METRICS, KIND_METRICS
from metrics.models import Incident, PlanOfAction
from metrics.presenters.incidents import carrier_text, dates_text, metrics_text
from metrics.presenters.rates import percent
from metrics.presenters.reasons import ListedPlan, reason_item_label
from metrics.selectors import IncidentReinstatement, PeerDefects
from sellers.models import Order, Seller


@dataclass(frozen=True)
class QueueRow:
    """A plan of action or an incident waiting in the review queue, or lately decided."""

    kind: str  # "plan" or "incident"
    pk: int
    what: str  # "Plan of action", "Incident: Severe weather"
    detail: str  # a plan's failing items, an incident's carrier and dates
    seller: Seller
    submitted_at: dt.datetime
    decided_at: dt.datetime | None
    status: str  # the plan's or incident's status, in words
    url: str


def _plan_row(listed: ListedPlan) -> QueueRow:
    plan = listed.plan
    items = []
    for row in listed.item_rows:
        window = getattr(row.item, "window_days", None)
        items.append(_("%(item)s (%(days)s days)") % {"item": row.label, "days": window} if window else row.label)
    return QueueRow(
        kind="plan",
        pk=plan.pk,
        what=_("Plan of action"),
        detail=", ".join(items),
        seller=plan.seller,
        submitted_at=plan.submitted_at,
        decided_at=plan.decided_at,
        status=plan.get_status_display(),
        url=reverse("metrics:review_plan", args=[plan.pk]),
    )


def _incident_row(incident: Incident) -> QueueRow:
    return QueueRow(
        kind="incident",
        pk=incident.pk,
        what=_("Incident: %(kind)s") % {"kind": incident.get_kind_display()},
        detail=f"{carrier_text(incident.carrier)} · {dates_text(incident.start_date, incident.end_date)}",
        seller=incident.seller,
        submitted_at=incident.submitted_at,
        decided_at=incident.decided_at,
        status=incident.get_status_display(),
        url=reverse("metrics:review_incident", args=[incident.pk]),
    )


def review_queue_rows(*, plans: Iterable[ListedPlan], incidents: Iterable[Incident]) -> list[QueueRow]:
    """Submitted plans and incidents in one list, oldest first (SPEC section 7)."""
    rows = [_plan_row(listed) for listed in plans] + [_incident_row(incident) for incident in incidents]
    return sorted(rows, key=lambda row: (row.submitted_at, row.kind, row.pk))


def recent_decision_rows(
    *, plans: Iterable[PlanOfAction], incidents: Iterable[Incident], limit: int = 5
) -> list[QueueRow]:
    """The latest decided plans and incidents, newest first: where an empty queue points."""
    rows = [_plan_row(ListedPlan(plan=plan, item_rows=[])) for plan in plans]
    rows += [_incident_row(incident) for incident in incidents]
    newest = sorted(rows, key=lambda row: (row.decided_at or row.submitted_at, row.kind, row.pk), reverse=True)
    return newest[:limit]


@dataclass(frozen=True)
class CoveredOrderRow:
    order: Order
    metrics: str  # the excusable metrics it is covered for, in words


def covered_order_rows(orders: Iterable[Order]) -> list[CoveredOrderRow]:
    """Orders of ``metrics.selectors.incident_covered_orders`` with the metrics each is covered for."""
    return [
        CoveredOrderRow(
            order=order,
            metrics=metrics_text(name for name in EXCUSABLE_METRICS if getattr(order, f"covered_{name}", False)),
        )
        for order in orders
    ]


def preselected_metrics(incident: Incident) -> list[str]:
    """The metrics an approval starts with: those such an incident typically hits."""
    return [name for name in EXCUSABLE_METRICS if name in KIND_METRICS[incident.kind]]


def status_effect_sentence(*, seller: Seller, reinstatement: IncidentReinstatement) -> str:
    """What an approval would do to the seller's status, ``reinstatement`` judged with every
    metric an incident can excuse."""
    if reinstatement.eligible:
        return _(
            "%(seller)s is eligible for Prime: an approval changes no status. From the local date of the approval on, "
            "the excused defects no longer count against the thresholds, which leaves the seller more room."
        ) % {"seller": seller.name}
    revocation = reinstatement.revocation
    if revocation is None or revocation.day is None:
        return _(
            "%(seller)s is not eligible, and no revocation with failing metrics is recorded: an approval cannot "
            "reinstate the seller; a plan of action can."
        ) % {"seller": seller.name}
    day = date_format(revocation.day, "DATE_FORMAT")
    if reinstatement.possible:
        return _(
            "Approved for %(metrics)s, the incident answers every failing item of the revocation after the "
            "evaluation of %(day)s: you may reinstate the seller now."
        ) % {"metrics": metrics_text(reinstatement.needed_metrics), "day": day}
    return _(
        "Even approved for every metric it can excuse, the incident leaves failing items of the revocation after "
        "the evaluation of %(day)s unanswered (%(items)s): the seller stays not eligible until a plan of action "
        "is approved."
    ) % {"day": day, "items": ", ".join(reason_item_label(reason) for reason in reinstatement.unanswered)}


def reinstatement_explanation(reinstatement: IncidentReinstatement) -> str:
    """Beside the "Reinstate the seller now" box: what it does and what it needs."""
    return _(
        "Tick it to reinstate the seller with this approval: eligible for Prime again from now, its performance "
        "measured from today, recorded in the status history with this incident as the reason, and emailed. A plan "
        "of action under review is closed. It needs the incident approved for %(metrics)s; it is checked again "
        "when you approve."
    ) % {"metrics": metrics_text(reinstatement.needed_metrics)}


# --- The other sellers on the carrier and days ----------------------------------------------


@dataclass(frozen=True)
class PeerRow:
    """One excusable metric's defects at the other sellers on the carrier and days."""

    metric: str
    defects: str  # "Units delivered late"
    sellers: str  # "3 of 12"
    units: str  # "37 of 1,250 due units"
    share: str  # "2.96 %", "—" without a population


def _part_of(part: int, whole: int) -> str:
    return _("%(part)s of %(whole)s") % {
        "part": number_format(part, force_grouping=True),
        "whole": number_format(whole, force_grouping=True),
    }


def peer_rows(peers: Sequence[PeerDefects]) -> list[PeerRow]:
    rows = []
    for peer in peers:
        definition = METRIC_DEFINITIONS[peer.metric]
        units = f"{_part_of(peer.defect_units, peer.population_units)} {definition.population}"
        rows.append(
            PeerRow(
                metric=peer.metric,
                defects=capfirst(str(definition.defects)),
                sellers=_part_of(peer.sellers, peer.population_sellers),
                units=units,
                share=percent(peer.share),
            )
        )
    return rows
