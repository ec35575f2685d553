from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send a seller's user to their dashboard and staff to the review queue or admin."""
    user = request.user
    if user.seller_id is not None:
        return redirect("metrics:dashboard")
    if user.is_staff:
        return redirect("admin:index")
    return redirect("metrics:dashboard")
