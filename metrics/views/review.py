"""Programme staff's review of plans of action and incidents (SPEC sections 4 and 7): the
queue of submitted plans and incidents, a plan with the seller's metrics, defects, earlier
plans and history, an incident with the orders it covers, the evidence and its effect, and
the decisions. Only accounts with the ``metrics.review_plan`` permission get in (403 for
everyone else)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from metrics.definitions import METRIC_DEFINITIONS, WINDOWS
from metrics.forms import IncidentDecisionForm, PlanDecisionForm
from metrics.incidents import EXCUSABLE_METRICS, INCIDENT_MAX_CANDIDATES, IncidentScope, first_day_counted
from metrics.models import Incident, MetricSnapshot, PlanOfAction
from metrics.presenters import rate_percent, threshold_percent
from metrics.presenters.incident_review import (
    covered_order_rows,
    peer_rows,
    preselected_metrics,
    recent_decision_rows,
    reinstatement_explanation,
    review_queue_rows,
    status_effect_sentence,
)
from metrics.presenters.incidents import carrier_text, counted_sentence, dates_text, effect_rows, metrics_text
from metrics.presenters.insights import root_cause_facts
from metrics.presenters.reasons import failing_item_rows, listed_plans
from metrics.selectors import (
    can_review_plans,
    carrier_peer_defects,
    incident_covered_orders,
    incident_effect,
    incident_reinstated,
    incident_reinstatement,
    incidents_recently_decided,
    incidents_review_queue,
    plans_recently_decided,
    plans_review_queue,
    seller_evaluation_start,
    seller_incidents,
    seller_latest_snapshots,
    seller_plans,
)
from metrics.services import (
    IncidentAlreadyDecided,
    IncidentError,
    PlanAlreadyDecided,
    PlanError,
    incident_approve,
    incident_reject,
    plan_approve,
    plan_reject,
)
from portal.types import AuthenticatedHttpRequest
from sellers.models import Seller
from sellers.presenters import requirement_checks
from sellers.selectors import seller_audit_entries, seller_requirements

HISTORY_PAGE_SIZE = 50


def reviewer_required(view: Callable) -> Callable:
    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not can_review_plans(request.user):
            raise PermissionDenied(_("Reviewing plans of action needs the review permission of programme staff."))
        return view(request, *args, **kwargs)

    return wrapper


@reviewer_required
def queue(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Submitted plans and incidents in one list, oldest first (SPEC sections 4 and 7)."""
    rows = review_queue_rows(plans=listed_plans(plans_review_queue()), incidents=incidents_review_queue())
    # An empty queue points to the latest decisions rather than to nothing.
    recent = (
        [] if rows else recent_decision_rows(plans=plans_recently_decided(), incidents=incidents_recently_decided())
    )
    return render(request, "review/queue.html", {"rows": rows, "recent": recent})


def _metric_cell(snapshot: MetricSnapshot) -> dict:
    """A metric's value and units in one window, for staff. Where protected or excused units
    make the verdict's rate differ from the rate shown, the cell shows that rate
    too: what reads against the threshold beside the verdict is what was judged."""
    definition = snapshot.definition

    def shown(rate) -> str:
        return rate_percent(rate, snapshot.threshold, higher_is_better=definition.higher_is_better)

    judged_apart = snapshot.protected_units or snapshot.excused_units
    return {
        "percent": shown(snapshot.exact_rate),
        "eligibility_percent": shown(snapshot.exact_eligibility_rate) if judged_apart else None,
        "defects": snapshot.defect_units,
        "population": snapshot.population_units,
        "passing": snapshot.passing,
    }


def _metric_rows(snapshots: dict[int, list[MetricSnapshot]]) -> list[dict]:
    """One row per metric: each window's value and units on the latest D, and the threshold."""
    by_key = {(s.window_days, s.metric): s for window in snapshots.values() for s in window}
    rows = []
    for name, definition in METRIC_DEFINITIONS.items():
        cells, threshold = [], None
        for window_days in WINDOWS:
            snapshot = by_key.get((window_days, name))
            if snapshot is not None:
                threshold = snapshot.threshold
            cells.append(None if snapshot is None else _metric_cell(snapshot))
        rows.append(
            {
                "name": name,
                "label": definition.label,
                "higher_is_better": definition.higher_is_better,
                "cells": cells,
                "threshold_percent": threshold_percent(threshold) if threshold is not None else None,
            }
        )
    return rows


def _seller_context(seller: Seller) -> dict:
    snapshots = seller_latest_snapshots(seller=seller)
    day = next((window[0].day for window in snapshots.values() if window), None)
    requirements = seller_requirements(seller=seller)
    return {
        "seller": seller,
        "day": day,
        "evaluation_start": seller.local_date(
            seller_evaluation_start(seller=seller, day=day or seller.local_date(timezone.now()))
        ),
        "metric_rows": _metric_rows(snapshots) if day else [],
        "requirement_rows": requirement_checks(requirements),
        "history": seller_audit_entries(seller=seller).select_related("actor")[:HISTORY_PAGE_SIZE],
    }


@reviewer_required
def plan_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    plan = get_object_or_404(PlanOfAction.objects.select_related("seller", "submitted_by", "decided_by"), pk=pk)
    seller = plan.seller
    earlier = [p for p in seller_plans(seller=seller) if p.pk != plan.pk]
    context = _seller_context(seller) | {
        "plan": plan,
        "item_rows": failing_item_rows(plan.failing_reasons),
        "facts": root_cause_facts(seller=seller, failing_items=plan.failing_reasons),
        "earlier_plans": earlier,
        "incidents": seller_incidents(seller=seller)[:HISTORY_PAGE_SIZE],
        "form": PlanDecisionForm(),
        "own_seller": request.user.seller_id == seller.pk,
    }
    return render(request, "review/plan.html", context)


def _form_errors_told(request: AuthenticatedHttpRequest, form: forms.Form) -> None:
    """A refused decision's every error as a message on the page it returns to."""
    for errors in form.errors.values():
        for error in errors.get_json_data():
            messages.error(request, error["message"])


@require_POST
@reviewer_required
def plan_decide(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    plan = get_object_or_404(PlanOfAction, pk=pk)
    form = PlanDecisionForm(request.POST)
    if not form.is_valid():
        _form_errors_told(request, form)
        return redirect("metrics:review_plan", pk=plan.pk)
    try:
        if form.cleaned_data["decision"] == PlanDecisionForm.APPROVE:
            plan_approve(plan=plan, reviewer=request.user, feedback=form.cleaned_data["feedback"])
            messages.success(
                request,
                _("Plan approved: %(seller)s is eligible for Prime again.") % {"seller": plan.seller.name},
            )
        else:
            plan_reject(plan=plan, reviewer=request.user, feedback=form.cleaned_data["feedback"])
            messages.success(request, _("Plan rejected; the seller was sent your feedback."))
    except PlanAlreadyDecided as exc:
        messages.warning(request, str(exc))
    except PlanError as exc:
        messages.error(request, str(exc))
    return redirect("metrics:review_plan", pk=plan.pk)


@reviewer_required
def seller_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Everything about one seller for staff: status, metrics, plans and the whole audit history."""
    seller = get_object_or_404(Seller, pk=pk)
    page = Paginator(seller_audit_entries(seller=seller).select_related("actor"), HISTORY_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    plans = list(seller_plans(seller=seller))
    incidents = list(seller_incidents(seller=seller)[:HISTORY_PAGE_SIZE])
    context = _seller_context(seller) | {"plans": plans, "incidents": incidents, "page": page}
    return render(request, "review/seller.html", context)


@reviewer_required
def incident_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """An incident for staff (SPEC section 7): its facts, the orders it covers, the carrier's
    other sellers' defects on its days, the effect an approval would have on each metric and
    on the seller's status, and Approve (with a reinstatement at once when it answers the
    revocation) or Reject; a decided incident shows its decision instead."""
    incident = get_object_or_404(Incident.objects.select_related("seller", "submitted_by", "decided_by"), pk=pk)
    seller = incident.seller
    context = _seller_context(seller)
    day = context["day"]
    context |= {
        "incident": incident,
        "carrier": carrier_text(incident.carrier),
        "dates": dates_text(incident.start_date, incident.end_date),
        "excused_labels": metrics_text(incident.excused_metrics),
        "own_seller": request.user.seller_id == seller.pk,
        "earlier_incidents": seller_incidents(seller=seller).exclude(pk=incident.pk)[:HISTORY_PAGE_SIZE],
    }
    if incident.is_open:
        reinstatement = incident_reinstatement(incident=incident, metrics=EXCUSABLE_METRICS)
        context |= {
            "form": IncidentDecisionForm(initial={"metrics": preselected_metrics(incident)}),
            "status_effect": status_effect_sentence(seller=seller, reinstatement=reinstatement),
            "reinstatement": reinstatement,
            "reinstatement_explanation": reinstatement_explanation(reinstatement) if reinstatement.possible else "",
        }
        # An approval counts as of the seller's date of the approval (SPEC section 7).
        context["approval_day"] = seller.local_date(timezone.now())
    else:
        excused_from = first_day_counted(incident, seller.timezone)
        context |= {
            "reinstated": incident_reinstated(incident=incident),
            "excused_from": excused_from,
            "counted": counted_sentence(excused_from, day) if excused_from else "",
        }
    if day is not None:
        covered = incident_covered_orders(seller=incident.seller, day=day, scope=IncidentScope.of(incident)).order_by(
            "purchased_at", "order_id"
        )
        context |= {
            "covered_count": covered.count(),
            "covered_rows": covered_order_rows(covered[:INCIDENT_MAX_CANDIDATES]),
            "covered_shown": INCIDENT_MAX_CANDIDATES,
            "covered_window": max(WINDOWS),
        }
        peers = carrier_peer_defects(incident=incident, day=day)
        if any(peer.population_sellers for peer in peers):
            context["peer_rows"] = peer_rows(peers)
        else:
            # Nobody else shipped on the carrier those days: a sentence, not a table of zeros.
            context["peers_without_orders"] = bool(peers)
        if incident.is_open:
            context["effect_rows"] = effect_rows(
                incident_effect(seller=seller, day=day, scope=IncidentScope.of(incident))
            )
    return render(request, "review/incident.html", context)


@require_POST
@reviewer_required
def incident_decide(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    incident = get_object_or_404(Incident.objects.select_related("seller"), pk=pk)
    form = IncidentDecisionForm(request.POST)
    if not form.is_valid():
        _form_errors_told(request, form)
        return redirect("metrics:review_incident", pk=incident.pk)
    decided = form.cleaned_data
    try:
        if decided["decision"] == IncidentDecisionForm.APPROVE:
            incident_approve(
                incident=incident,
                reviewer=request.user,
                metrics=decided["metrics"],
                note=decided["note"],
                reinstate=decided["reinstate"],
            )
            if decided["reinstate"]:
                messages.success(
                    request,
                    _("Incident approved: %(seller)s is eligible for Prime again.") % {"seller": incident.seller.name},
                )
            else:
                messages.success(request, _("Incident approved; the seller was told which metrics it excuses."))
        else:
            incident_reject(incident=incident, reviewer=request.user, note=decided["note"])
            messages.success(request, _("Incident rejected; the seller was sent your note."))
    except IncidentAlreadyDecided as exc:
        messages.warning(request, str(exc))
    except IncidentError as exc:
        messages.error(request, str(exc))
    return redirect("metrics:review_incident", pk=incident.pk)
