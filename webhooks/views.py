"""The seller's webhook settings (SPEC section 8): /settings/webhooks/."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from portal.once import submission_done, submitted_before
from portal.types import AuthenticatedHttpRequest
from sellers.selectors import seller_for_user, seller_object_or_404
from webhooks.addresses import allow_private
from webhooks.choices import TEST_EVENT_TYPE
from webhooks.forms import WebhookEndpointForm
from webhooks.models import WebhookEndpoint
from webhooks.selectors import endpoint_attempts, seller_webhook_endpoints
from webhooks.services import (
    EndpointError,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_disable,
    webhook_endpoint_enable,
    webhook_test_event_send,
)

LOG_PAGE_SIZE = 50


@never_cache
@login_required
def endpoints(request: AuthenticatedHttpRequest) -> HttpResponse:
    """List and add endpoints. A new endpoint's secret is shown in this response only, as a
    new API token is: neither put in a redirect nor kept in the session."""
    seller = seller_for_user(request.user)
    form = WebhookEndpointForm(request.POST if request.method == "POST" else None)
    new_endpoint = None
    if form.is_bound and form.is_valid():
        if submitted_before(request, form.cleaned_data["once"]):
            # A reload of the page that showed the new secret: added once, shown once.
            messages.info(request, _("That endpoint was already added; its secret was shown once, when it was added."))
            return redirect("webhooks:endpoints")
        try:
            new_endpoint = webhook_endpoint_create(
                seller=seller,
                actor=request.user,
                url=form.cleaned_data["url"],
                event_types=form.cleaned_data["event_types"],
            )
        except EndpointError as exc:
            form.add_error(None, str(exc))
        else:
            submission_done(request, form.cleaned_data["once"])
            form = WebhookEndpointForm()
    return render(
        request,
        "webhooks/endpoints.html",
        {
            "seller": seller,
            "form": form,
            "endpoints": seller_webhook_endpoints(seller=seller),
            "new_endpoint": new_endpoint,
            "allow_private": allow_private(),
        },
    )


@login_required
def endpoint_log(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    endpoint = seller_object_or_404(request.user, WebhookEndpoint.objects.all(), pk=pk)
    page = Paginator(endpoint_attempts(endpoint=endpoint), LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "webhooks/endpoint_log.html",
        {
            "seller": endpoint.seller,
            "endpoint": endpoint,
            "page": page,
            "test_event_type": TEST_EVENT_TYPE,
        },
    )


@login_required
@require_POST
def endpoint_disable(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    endpoint = seller_object_or_404(request.user, WebhookEndpoint.objects.all(), pk=pk)
    if webhook_endpoint_disable(endpoint=endpoint):
        messages.success(
            request, _("Webhook endpoint %(url)s disabled: nothing is sent to it.") % {"url": endpoint.url}
        )
    else:
        messages.info(request, _("Webhook endpoint %(url)s was already disabled.") % {"url": endpoint.url})
    return redirect("webhooks:endpoints")


@login_required
@require_POST
def endpoint_enable(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    endpoint = seller_object_or_404(request.user, WebhookEndpoint.objects.all(), pk=pk)
    if webhook_endpoint_enable(endpoint=endpoint):
        messages.success(
            request, _("Webhook endpoint %(url)s enabled: events from now on are sent to it.") % {"url": endpoint.url}
        )
    else:
        messages.info(request, _("Webhook endpoint %(url)s was already enabled.") % {"url": endpoint.url})
    return redirect("webhooks:endpoints")


@login_required
@require_POST
def endpoint_delete(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    endpoint = seller_object_or_404(request.user, WebhookEndpoint.objects.all(), pk=pk)
    url = endpoint.url
    webhook_endpoint_delete(endpoint=endpoint, actor=request.user)
    messages.success(request, _("Webhook endpoint %(url)s deleted, with its delivery log.") % {"url": url})
    return redirect("webhooks:endpoints")


@login_required
@require_POST
def endpoint_test(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    endpoint = seller_object_or_404(request.user, WebhookEndpoint.objects.all(), pk=pk)
    if not endpoint.enabled:
        messages.error(request, _("This endpoint is disabled; enable it first, then send a test event."))
    else:
        webhook_test_event_send(endpoint=endpoint)
        messages.success(
            request,
            _("A %(type)s event is on its way; its attempt appears in the log below (reload after a few seconds).")
            % {"type": TEST_EVENT_TYPE},
        )
    return redirect("webhooks:endpoint_log", pk=endpoint.pk)
