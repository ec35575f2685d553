from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send a seller's user to their dashboard and programme staff to the admin.

    An account that is neither (no seller, not staff) has nothing to see: it gets a 403
    that says so rather than a dashboard that would 404.
    """
    user = request.user
    if user.seller_id is not None:
        return redirect("metrics:dashboard")
    if user.is_staff:
        return redirect("admin:index")
    raise PermissionDenied("This account belongs to no seller: ask programme staff to link it to your seller.")


def _not_built_yet(request: HttpRequest, *args, **kwargs) -> HttpResponse:
    # Placeholder while the settings editors are written; replaced view by view.
    raise Http404("This settings page is not built yet.")


settings_overview = shipping_template = fulfilment = carriers = carrier_create = carrier_edit = _not_built_yet
carrier_delete = volume_control = api_tokens = api_token_revoke = history = _not_built_yet
