from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from sellers.selectors import seller_for_user


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    seller = seller_for_user(request.user)
    return render(request, "metrics/dashboard.html", {"seller": seller})
