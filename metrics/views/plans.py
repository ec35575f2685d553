"""The seller's plans of action (SPEC section 4): Create POA while not eligible, with the
failing items prefilled and the facts that help a root cause beside the form; the list of
the seller's plans with the reviewers' decisions."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from metrics.forms import PlanDraftForm, PlanOfActionForm
from metrics.models import PlanDraft
from metrics.presenters.insights import root_cause_facts
from metrics.presenters.reasons import failing_item_rows, listed_plans
from metrics.selectors import plan_submission, seller_plan_submission, seller_plans
from metrics.services import PLAN_ANSWERS, PlanError, plan_draft_save, plan_failing_items, plan_submit
from portal.types import AuthenticatedHttpRequest
from sellers.selectors import seller_for_user


@login_required
def poa_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    seller = seller_for_user(request.user)
    submission = seller_plan_submission(seller=seller)
    if submission.eligible:
        messages.info(request, _("Your account is eligible for Prime: there is no plan of action to write."))
        return redirect("metrics:dashboard")
    if submission.open_plan is not None:
        messages.info(request, _("Your plan of action is under review; you can write a new one after its decision."))
        return redirect("metrics:poa_list")
    draft = PlanDraft.objects.filter(seller=seller).first()
    form: PlanOfActionForm  # a PlanDraftForm for a draft saved on its own
    if request.method == "POST" and request.POST.get("action") == "save_draft":
        form = PlanDraftForm(request.POST, seller=seller)
        if form.is_valid():
            plan_draft_save(seller=seller, user=request.user, answers=form.cleaned_data)
            messages.success(request, _("Draft saved. It stays here until you submit the plan."))
            return redirect("metrics:poa_create")
    elif request.method == "POST":
        form = PlanOfActionForm(request.POST, seller=seller)
        if form.is_valid():
            try:
                plan_submit(seller=seller, user=request.user, merchant_token=form.cleaned_data["merchant_token"],
                            **form.answers())  # fmt: skip
            except PlanError as exc:
                messages.error(request, str(exc))
                return redirect("metrics:poa_list")
            messages.success(request, _("Your plan of action was submitted. Programme staff will review it."))
            return redirect("metrics:poa_list")
        # Keep what was written even if the session ends before the errors are fixed, as
        # far as it can be kept (the page shows the rest as it was typed, with its error).
        kept = PlanDraftForm(request.POST, seller=seller)
        if kept.is_valid():
            plan_draft_save(seller=seller, user=request.user, answers=kept.cleaned_data)
    else:
        initial = {name: getattr(draft, name) for name in PLAN_ANSWERS} if draft else {}
        form = PlanOfActionForm(initial=initial, seller=seller)
    failing_items = plan_failing_items(seller=seller)
    return render(
        request,
        "metrics/poa_form.html",
        {
            "seller": seller,
            "form": form,
            "draft": draft,
            "failing_items": failing_item_rows(failing_items),
            "facts": root_cause_facts(seller=seller, failing_items=failing_items),
        },
    )


@require_POST
@login_required
def poa_draft(request: AuthenticatedHttpRequest) -> JsonResponse:
    """Autosave of the Create POA form (the page's script posts here every few seconds)."""
    seller = seller_for_user(request.user)
    form = PlanDraftForm(request.POST, seller=seller)
    submission = seller_plan_submission(seller=seller)
    if submission.eligible:
        return JsonResponse({"saved": False}, status=400)
    if not form.is_valid():
        errors = {name: list(field_errors) for name, field_errors in form.errors.items()}
        return JsonResponse({"saved": False, "errors": errors}, status=400)
    if submission.open_plan is not None:
        # A late autosave after the submission must not bring back the draft it removed.
        return JsonResponse({"saved": False, "reason": "submitted"}, status=409)
    # Two first saves at once: update_or_create re-reads the draft the other one made.
    draft = plan_draft_save(seller=seller, user=request.user, answers=form.cleaned_data)
    return JsonResponse({"saved": True, "updated_at": draft.updated_at.isoformat()})


@login_required
def poa_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    seller = seller_for_user(request.user)
    plans = list(seller_plans(seller=seller))
    return render(
        request,
        "metrics/poa_list.html",
        {
            "seller": seller,
            "listed_plans": listed_plans(plans),
            "can_create": plan_submission(
                status=seller.status, open_plan=next((plan for plan in plans if plan.is_open), None)
            ).allowed,
        },
    )
