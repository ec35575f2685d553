"""The seller's incidents (SPEC section 7): report one, list them, read one.

Placeholders until the reporting pages are built (issue 16): each answers 404."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse


def incident_list(request: HttpRequest) -> HttpResponse:
    raise Http404


def incident_create(request: HttpRequest) -> HttpResponse:
    raise Http404


def incident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    raise Http404
