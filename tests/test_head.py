"""HEAD is GET without the body (RFC 9110): every page and endpoint that answers GET answers
HEAD with the same status, for every actor. A load balancer's or a link checker's HEAD must
not get 405 from a page that exists.

The URL patterns are walked, so a page added later is checked too; one with a URL argument
the test has no sample for fails until ``url_kwargs`` gets one."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from metrics.models import Incident
from metrics.services import daily_run, plan_submit
from sellers.factories import D, OrderFactory
from sellers.models import ApiToken, CarrierService
from sellers.services import api_token_create
from tests.factories import PLAN_ANSWERS
from webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db

ANSWERS = PLAN_ANSWERS


# Django's admin login redirects a user who is already logged in as staff on GET only
# (``request.method == "GET"``); to HEAD it answers with the login form. Django's own
# behaviour, and no refusal: allowed here and nowhere else.
GET_ONLY_REDIRECTS = {"admin:login"}


def url_names(patterns, namespace: str = "") -> list[str]:
    """The name of every URL pattern (namespaced), the admin's included."""
    names = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names.extend(url_names(pattern.url_patterns, inner))
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.append(namespace + pattern.name)
    return sorted(set(names))


@pytest.fixture
def world(seller, seller_user, reviewer, make_orders, django_user_model):
    """A revoked seller with an open plan, a carrier service and an API token; a reviewer;
    a superuser for the admin."""
    make_orders(
        *(OrderFactory.build(seller=seller) for _ in range(9)),
        *(OrderFactory.build(seller=seller, late=True, ship_to_state="TX") for _ in range(3)),
    )
    daily_run(day=D)
    seller.refresh_from_db()
    plan = plan_submit(seller=seller, user=seller_user, merchant_token=seller.merchant_token, **ANSWERS)
    token, _raw = api_token_create(seller=seller, actor=seller_user, name="Dashboard")
    superuser = django_user_model.objects.create_superuser(username="root", password="root pass 1")
    # Made directly: the service would resolve the host name, and these tests have no DNS.
    endpoint = WebhookEndpoint.objects.create(seller=seller, url="https://hooks.example.com/", secret="whsec_x")
    incident = Incident.objects.create(
        seller=seller,
        kind=Incident.Kind.CARRIER,
        start_date=D - dt.timedelta(days=2),
        end_date=D,
        description="The carrier's depot was closed for two days.",
        submitted_by=seller_user,
        submitted_at=timezone.now(),
    )
    return {
        "incident": incident,
        "endpoint": endpoint,
        "seller": seller,
        "plan": plan,
        "carrier": CarrierService.objects.filter(seller=seller).first(),
        "token": token,
        "users": {"seller": seller_user, "reviewer": reviewer, "superuser": superuser},
    }


def url_kwargs(name: str, world) -> list[dict]:
    """The arguments to reverse ``name`` with: one sample per URL argument."""
    samples = {
        "sellers:carrier_edit": {"pk": world["carrier"].pk},
        "sellers:carrier_delete": {"pk": world["carrier"].pk},
        "sellers:api_token_revoke": {"pk": world["token"].pk},
        "metrics:review_plan": {"pk": world["plan"].pk},
        "metrics:review_decide": {"pk": world["plan"].pk},
        "metrics:review_seller": {"pk": world["seller"].pk},
        **{
            name: {"pk": world["incident"].pk}
            for name in ("metrics:incident_detail", "metrics:review_incident", "metrics:review_incident_decide")
        },
        **{
            f"webhooks:endpoint_{action}": {"pk": world["endpoint"].pk}
            for action in ("log", "disable", "enable", "delete", "test")
        },
        "password_reset_confirm": {"uidb64": "MQ", "token": "set-password"},
        "admin:auth_user_password_change": {"id": world["users"]["seller"].pk},
    }
    if name in samples:
        return [samples[name]]
    if not name.startswith("admin:"):
        return [{}]
    # The admin: its index and app pages, and each registered model's list and add pages,
    # and its change, history and delete pages for the model's first object, if any.
    if name == "admin:app_list":
        return [{"app_label": label} for label in ("sellers", "metrics", "webhooks", "auth")]
    for model in admin.site._registry:
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}_"
        if name.startswith(prefix):
            if name[len(prefix) :] in {"changelist", "add"}:
                return [{}]
            obj = model.objects.first()
            return [{"object_id": obj.pk}] if obj is not None else []
    if name == "admin:view_on_site":
        return []
    return [{}]


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_every_page_that_answers_get_answers_head_the_same_way(world):
    clients = {"anonymous": Client()}
    for role, user in world["users"].items():
        clients[role] = Client()
        clients[role].force_login(user)
    checked, refused = [], []
    for name in url_names(get_resolver().url_patterns):
        for kwargs in url_kwargs(name, world):
            url = reverse(name, kwargs=kwargs)
            for role, client in clients.items():
                get = client.get(url)
                if get.status_code == 405:
                    continue
                head = client.head(url)
                checked.append((name, role))
                if name in GET_ONLY_REDIRECTS and head.status_code == 200 and get.status_code == 302:
                    continue
                if head.status_code != get.status_code or body(head):
                    refused.append(f"{url} as {role}: GET {get.status_code}, HEAD {head.status_code}")
    assert not refused, "HEAD does not answer as GET does:\n" + "\n".join(refused)
    # The walk reached the pages: a broken walk must not pass by checking nothing.
    for name in ("metrics:dashboard", "metrics:api_performance", "sellers:volume_control", "login"):
        assert (name, "seller") in checked, name
    assert ("metrics:review_plan", "reviewer") in checked
    assert ("metrics:review_incident", "reviewer") in checked
    assert ("admin:sellers_seller_change", "superuser") in checked
    assert ("sellers:carrier_delete", "seller") not in checked  # POST only: 405 to GET and HEAD alike


def test_post_only_endpoints_refuse_head(world):
    client = Client()
    client.force_login(world["users"]["seller"])
    for url in (reverse("sellers:carrier_delete", kwargs={"pk": world["carrier"].pk}), reverse("metrics:poa_draft")):
        assert client.head(url).status_code == 405
    assert ApiToken.objects.filter(pk=world["token"].pk, revoked_at__isnull=True).exists()
