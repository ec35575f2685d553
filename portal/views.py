"""The project's own pages: the home page, which sends each account where its work is."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect

from metrics.selectors import can_review_plans
from portal.types import AuthenticatedHttpRequest


@login_required
def home(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Send a seller's user to their dashboard, plan reviewers to the review queue and
    other programme staff to the admin.

    An account that is neither (no seller, not staff) has nothing to see: it gets a 403
    that says so rather than a dashboard that would 404.
    """
    user = request.user
    if user.seller_id is not None:
        return redirect("metrics:dashboard")
    if can_review_plans(user):
        return redirect("metrics:review_queue")
    if user.is_staff:
        return redirect("admin:index")
    raise PermissionDenied("This account belongs to no seller: ask programme staff to link it to your seller.")
