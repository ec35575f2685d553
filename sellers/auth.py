"""Bearer tokens for the JSON status (SPEC section 6): ``Authorization: Bearer <token>``.

A token is ``ppp_`` and 43 random URL-safe characters. Only its SHA-256 hash is stored, so
a copy of the database gives no working token; the first characters (``prefix``) are kept
so a seller can tell their tokens apart.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from sellers.models import ApiToken, Seller, User

TOKEN_PREFIX = "ppp_"
PREFIX_LENGTH = 8
# Writing last_used_at on every request would turn each read into a write; once a minute
# tells the seller whether a token is in use.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


class BearerTokenError(Exception):
    """The request carries an Authorization header that does not authenticate; the message
    says why and what to do, for the 401 response."""


@dataclass(frozen=True)
class BearerIdentity:
    user: User
    seller: Seller
    api_token: ApiToken


def api_token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def api_token_generate(prefix: str = TOKEN_PREFIX) -> tuple[str, str, str]:
    """A new token: (the token itself, its prefix, its hash). ``prefix`` marks its kind:
    a seller's, or an integration's (``feed.auth``)."""
    raw = prefix + secrets.token_urlsafe(32)
    return raw, raw[:PREFIX_LENGTH], api_token_hash(raw)


def bearer_token(request: HttpRequest) -> str | None:
    """The token of a request's ``Authorization: Bearer <token>`` header; None without the
    header. Raises ``BearerTokenError`` for a header of another shape."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, raw = header.strip().partition(" ")
    raw = raw.strip()
    if scheme.lower() != "bearer" or not raw or " " in raw:
        raise BearerTokenError("Send the header as 'Authorization: Bearer <token>', with a token from your settings.")
    return raw


def bearer_authenticate(request: HttpRequest, *, now: dt.datetime | None = None) -> BearerIdentity | None:
    """The user and seller a request's bearer token acts for; None when the request has no
    Authorization header (the caller then falls back to the session).

    Raises ``BearerTokenError`` for a malformed header, an unknown or revoked token, or a
    token whose creator no longer belongs to the token's seller or is deactivated.
    """
    raw = bearer_token(request)
    if raw is None:
        return None
    api_token = (
        ApiToken.objects.select_related("seller", "created_by")
        .filter(key_hash=api_token_hash(raw), revoked_at__isnull=True)
        .first()
    )
    if api_token is None:
        raise BearerTokenError("This token is unknown or was revoked; create a new one in your API token settings.")
    user = api_token.created_by
    if user is None or not user.is_active or user.seller_id != api_token.seller_id:
        raise BearerTokenError(
            "The account that created this token no longer has access to this seller; create a new token."
        )
    now = now or timezone.now()
    ApiToken.objects.filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION), pk=api_token.pk
    ).update(last_used_at=now)
    return BearerIdentity(user=user, seller=api_token.seller, api_token=api_token)
