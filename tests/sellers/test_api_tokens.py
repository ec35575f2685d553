"""API tokens: created in settings, shown once, stored hashed, revocable, and accepted as
``Authorization: Bearer <token>`` by the JSON status (SPEC section 6)."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.apps import apps
from django.test import Client, RequestFactory
from django.urls import reverse

from metrics.services import daily_run
from sellers.auth import BearerTokenError, bearer_authenticate
from sellers.factories import D, OrderFactory
from sellers.models import ApiToken, AuditEntry
from sellers.services import api_token_create, api_token_revoke

pytestmark = pytest.mark.django_db

API = "/api/performance/"
T0 = dt.datetime(2026, 11, 21, 9, 0, tzinfo=dt.UTC)


def bearer(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.fixture
def seller_client(client, seller_user):
    client.force_login(seller_user)
    return client


@pytest.fixture
def computed(seller, other_seller, make_orders):
    """Snapshots for D for both sellers: the seller has 3 orders, the other seller 1."""
    make_orders(*(OrderFactory.build(seller=seller) for _ in range(3)), OrderFactory.build(seller=other_seller))
    daily_run(day=D)


@pytest.fixture
def token(seller, seller_user):
    return api_token_create(seller=seller, actor=seller_user, name="Warehouse", now=T0)


def create_on_page(client, name="Warehouse dashboard"):
    response = client.post(reverse("sellers:api_tokens"), {"name": name})
    assert response.status_code == 200
    return response, response.context["new_token"]["raw"]


# --- creating and showing --------------------------------------------------------------------


def test_a_new_token_is_shown_once_in_the_response_itself(seller_client, seller):
    response, raw = create_on_page(seller_client)
    assert raw.startswith("ppp_") and len(raw) == len("ppp_") + 43
    assert raw in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    # Not carried over in the session, nor shown again.
    assert raw not in str(dict(seller_client.session))
    again = seller_client.get(reverse("sellers:api_tokens")).content.decode()
    assert raw not in again and "Warehouse dashboard" in again and raw[:8] in again


def test_only_the_hash_and_prefix_are_stored(seller_client, seller, seller_user):
    _response, raw = create_on_page(seller_client)
    stored = ApiToken.objects.get(seller=seller)
    assert stored.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert stored.prefix == raw[:8] and stored.name == "Warehouse dashboard" and stored.created_by == seller_user
    assert stored.revoked_at is None and stored.last_used_at is None


def test_the_token_appears_nowhere_in_the_database(seller_client, seller):
    _response, raw = create_on_page(seller_client)
    secret = raw[len("ppp_") :]
    for model in apps.get_models():
        for row in model._default_manager.values():
            assert secret not in str(row), model


def test_each_token_is_different(seller, seller_user):
    raws = {api_token_create(seller=seller, actor=seller_user, name=f"T{i}")[1] for i in range(5)}
    assert len(raws) == 5


def test_a_token_needs_a_name(seller_client, seller):
    response = seller_client.post(reverse("sellers:api_tokens"), {"name": "  "})
    assert response.context["new_token"] is None and response.context["form"].errors["name"]
    assert not ApiToken.objects.exists()


def test_the_list_shows_name_prefix_created_last_used_and_revoked(seller_client, seller, seller_user, token):
    api_token, _raw = token
    ApiToken.objects.filter(pk=api_token.pk).update(last_used_at=T0 + dt.timedelta(hours=1))
    api_token_revoke(api_token=api_token, actor=seller_user, now=T0 + dt.timedelta(hours=2))
    row = seller_client.get(reverse("sellers:api_tokens")).content.decode().split(f'data-token="{api_token.pk}"')[1]
    row = row.split("</tr>")[0]
    # Times in the seller's zone (Los Angeles, UTC-8).
    assert "Warehouse" in row and api_token.prefix in row
    assert "Nov. 21, 2026, 01:00 PST" in row and "Nov. 21, 2026, 02:00 PST" in row and "Nov. 21, 2026, 03:00 PST" in row
    assert "Revoke</button>" not in row


def test_the_list_shows_only_the_sellers_own_tokens(seller_client, other_seller, other_seller_user):
    api_token_create(seller=other_seller, actor=other_seller_user, name="Theirs")
    assert "Theirs" not in seller_client.get(reverse("sellers:api_tokens")).content.decode()


# --- revoking --------------------------------------------------------------------------------


def test_revoke_stops_the_token(seller_client, seller, computed, token):
    api_token, raw = token
    assert seller_client.get(API, **bearer(raw)).status_code == 200
    response = seller_client.post(reverse("sellers:api_token_revoke", args=[api_token.pk]), follow=True)
    api_token.refresh_from_db()
    assert api_token.revoked_at is not None
    assert "API token Warehouse revoked; it no longer works." in [str(m) for m in response.context["messages"]]
    seller_client.logout()
    refused = seller_client.get(API, **bearer(raw))
    assert refused.status_code == 401 and "revoked" in refused.json()["error"]


def test_revoke_is_post_only(seller_client, token):
    api_token, _raw = token
    assert seller_client.get(reverse("sellers:api_token_revoke", args=[api_token.pk])).status_code == 405
    api_token.refresh_from_db()
    assert api_token.revoked_at is None


def test_another_sellers_token_cannot_be_revoked(client, other_seller_user, token):
    api_token, _raw = token
    client.force_login(other_seller_user)
    assert client.post(reverse("sellers:api_token_revoke", args=[api_token.pk])).status_code == 404
    api_token.refresh_from_db()
    assert api_token.revoked_at is None
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.API_TOKEN_REVOKED).exists()


def test_revoking_twice_changes_nothing_the_second_time(seller, seller_user, token):
    api_token, _raw = token
    assert api_token_revoke(api_token=api_token, actor=seller_user, now=T0) is not None
    assert api_token_revoke(api_token=api_token, actor=seller_user, now=T0 + dt.timedelta(days=1)) is None
    api_token.refresh_from_db()
    assert api_token.revoked_at == T0
    assert AuditEntry.objects.filter(action=AuditEntry.Action.API_TOKEN_REVOKED).count() == 1


# --- Bearer on /api/performance/ ---------------------------------------------------------------


def test_bearer_token_reads_the_sellers_status_without_a_session(client, computed, token):
    _api_token, raw = token
    response = client.get(API, {"window": 30}, **bearer(raw))
    assert response.status_code == 200
    body = response.json()
    assert body["merchant_token"] == "SELLER01" and body["date"] == D.isoformat()
    assert body["metrics"]["cancellation_rate"]["units"] == 3


def test_a_token_only_ever_sees_its_own_seller(client, other_seller_user, other_seller, computed, token):
    _api_token, raw = token
    _theirs, their_raw = api_token_create(seller=other_seller, actor=other_seller_user, name="Theirs")
    assert client.get(API, **bearer(raw)).json()["merchant_token"] == "SELLER01"
    assert client.get(API, **bearer(their_raw)).json()["merchant_token"] == "SELLER02"
    # A token wins over a session of another seller's user: it never borrows the session's seller.
    client.force_login(other_seller_user)
    assert client.get(API, **bearer(raw)).json()["merchant_token"] == "SELLER01"


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Bearer ppp_unknownunknownunknownunknownunknownunknownun", "unknown or was revoked"),
        ("Bearer ", "Authorization: Bearer <token>"),
        ("Bearer", "Authorization: Bearer <token>"),
        ("Basic dXNlcjpwYXNz", "Authorization: Bearer <token>"),
        ("Token abc", "Authorization: Bearer <token>"),
        ("Bearer two words", "Authorization: Bearer <token>"),
    ],
)
def test_unknown_or_malformed_tokens_get_401_json(client, computed, token, header, message):
    response = client.get(API, HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert message in response.json()["error"]
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_bad_token_is_refused_even_with_a_valid_session(seller_client, computed):
    response = seller_client.get(API, HTTP_AUTHORIZATION="Bearer ppp_nothing")
    assert response.status_code == 401


def test_the_scheme_is_case_insensitive(client, computed, token):
    _api_token, raw = token
    assert client.get(API, HTTP_AUTHORIZATION=f"bearer {raw}").status_code == 200


def test_a_token_of_a_deactivated_account_is_refused(client, computed, seller_user, token):
    _api_token, raw = token
    seller_user.is_active = False
    seller_user.save()
    response = client.get(API, **bearer(raw))
    assert response.status_code == 401 and "no longer has access" in response.json()["error"]


def test_a_token_of_an_account_moved_to_another_seller_is_refused(client, computed, seller_user, other_seller, token):
    _api_token, raw = token
    seller_user.seller = other_seller
    seller_user.save()
    assert client.get(API, **bearer(raw)).status_code == 401


def test_session_still_works_without_a_header(seller_client, computed):
    assert seller_client.get(API).json()["merchant_token"] == "SELLER01"


def test_bearer_request_needs_no_csrf_token(computed, token):
    _api_token, raw = token
    assert Client(enforce_csrf_checks=True).get(API, **bearer(raw)).status_code == 200


def test_last_used_is_written_at_most_once_a_minute(seller, seller_user, token):
    api_token, raw = token
    request = RequestFactory().get(API, **bearer(raw))
    identity = bearer_authenticate(request, now=T0)
    assert identity.seller == seller and identity.user == seller_user and identity.api_token == api_token
    api_token.refresh_from_db()
    assert api_token.last_used_at == T0
    bearer_authenticate(request, now=T0 + dt.timedelta(seconds=59))
    api_token.refresh_from_db()
    assert api_token.last_used_at == T0
    bearer_authenticate(request, now=T0 + dt.timedelta(seconds=61))
    api_token.refresh_from_db()
    assert api_token.last_used_at == T0 + dt.timedelta(seconds=61)


def test_no_header_means_no_bearer_identity(token):
    assert bearer_authenticate(RequestFactory().get(API)) is None


def test_a_revoked_token_raises_before_touching_last_used(seller_user, token):
    api_token, raw = token
    api_token_revoke(api_token=api_token, actor=seller_user, now=T0)
    with pytest.raises(BearerTokenError):
        bearer_authenticate(RequestFactory().get(API, **bearer(raw)), now=T0 + dt.timedelta(hours=1))
    api_token.refresh_from_db()
    assert api_token.last_used_at is None


def test_a_reload_of_the_created_page_does_not_create_a_second_token(seller_client, seller):
    """The browser's reload sends the same form again: its one-time key was used, so nothing
    more is created and the page says why (the token itself is not kept to show again)."""
    data = {"name": "Warehouse sync", "once": "reload-key-1"}
    first = seller_client.post(reverse("sellers:api_tokens"), data)
    assert first.status_code == 200 and ApiToken.objects.filter(seller=seller).count() == 1
    again = seller_client.post(reverse("sellers:api_tokens"), data, follow=True)
    assert ApiToken.objects.filter(seller=seller).count() == 1
    assert "That token was already created; it was shown once, when it was created." in again.content.decode()
    # A new form carries a new key: a second token on purpose is created.
    page = seller_client.get(reverse("sellers:api_tokens")).content.decode()
    assert 'name="once"' in page and 'value="reload-key-1"' not in page
    seller_client.post(reverse("sellers:api_tokens"), {"name": "Second", "once": "reload-key-2"})
    assert ApiToken.objects.filter(seller=seller).count() == 2
