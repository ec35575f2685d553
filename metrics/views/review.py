"""Programme staff's review of plans of action (SPEC section 4): the queue of submitted
plans, a plan with the seller's metrics, defects, earlier plans and history, and the
decision. Only accounts with the ``metrics.review_plan`` permission get in (403 for
everyone else)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from metrics.definitions import METRIC_DEFINITIONS, WINDOWS
from metrics.forms import PlanDecisionForm
from metrics.models import MetricSnapshot, PlanOfAction
from metrics.presenters import rate_percent, threshold_percent
from metrics.presenters.insights import root_cause_facts
from metrics.presenters.reasons import failing_item_rows, listed_plans
from metrics.selectors import (
    can_review_plans,
    plans_recently_decided,
    plans_review_queue,
    seller_evaluation_start,
    seller_latest_snapshots,
    seller_plans,
)
from metrics.services import PlanAlreadyDecided, PlanError, plan_approve, plan_reject
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
    listed = listed_plans(plans_review_queue())
    # An empty queue points to the latest decisions rather than to nothing.
    recent = [] if listed else list(plans_recently_decided())
    return render(request, "review/queue.html", {"listed_plans": listed, "recent": recent})


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
        "form": PlanDecisionForm(),
        "own_seller": request.user.seller_id == seller.pk,
    }
    return render(request, "review/plan.html", context)


@require_POST
@reviewer_required
def plan_decide(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    plan = get_object_or_404(PlanOfAction, pk=pk)
    form = PlanDecisionForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors.get_json_data():
                messages.error(request, error["message"])
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
    context = _seller_context(seller) | {"plans": plans, "page": page}
    return render(request, "review/seller.html", context)


# Placeholders until the review of incidents is built (issue 16): each answers 404.
@reviewer_required
def incident_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    raise Http404


@reviewer_required
def incident_decide(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    raise Http404
