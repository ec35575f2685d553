from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from sellers.selectors import seller_for_user


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    seller = seller_for_user(request.user)
    return render(request, "metrics/dashboard.html", {"seller": seller})


def _not_built_yet(request: HttpRequest, *args, **kwargs) -> HttpResponse:
    # Placeholder while the defect report views are written.
    raise Http404("This page is not built yet.")


defects = defects_csv = _not_built_yet
