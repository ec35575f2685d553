"""Who may write to the feed (SPEC section 9): an integration token, sent as
``Authorization: Bearer <token>``; and how often (a per-token rate limit).

An integration token is ``ppi_`` and 43 random URL-safe characters, hashed as a seller's
token is (``sellers.auth``). A seller's token authenticates but may only read: it is refused
with 403, so a seller who tries learns why rather than that the token is "unknown".
"""

from __future__ import annotations

import datetime as dt
import math

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q
from django.http import HttpRequest

from feed.models import IntegrationToken
from sellers.auth import LAST_USED_RESOLUTION, BearerTokenError, api_token_hash, bearer_token
from sellers.models import ApiToken

INTEGRATION_TOKEN_PREFIX = "ppi_"
CREATE_COMMAND = "manage.py create_integration_token NAME"
# The rate limit counts requests per token in windows of this length.
RATE_WINDOW_SECONDS = 60


class FeedAuthError(Exception):
    """The request may not write; ``status`` (401 or 403) and a sentence with the fix."""

    def __init__(self, status: int, message: str):
        self.status = status
        self.message = message
        super().__init__(message)


def integration_authenticate(request: HttpRequest, *, now: dt.datetime) -> IntegrationToken:
    """The integration token a request writes with, or ``FeedAuthError``: 401 without a
    token, with a malformed header or an unknown or revoked token; 403 with a seller's token."""
    try:
        raw = bearer_token(request)
    except BearerTokenError:
        raw = ""
    if not raw:
        raise FeedAuthError(
            401,
            "Send 'Authorization: Bearer <token>' with an integration token; programme staff create one with "
            f"{CREATE_COMMAND}.",
        )
    key_hash = api_token_hash(raw)
    token = IntegrationToken.objects.filter(key_hash=key_hash, revoked_at__isnull=True).first()
    if token is None:
        if ApiToken.objects.filter(key_hash=key_hash, revoked_at__isnull=True).exists():
            raise FeedAuthError(
                403,
                "This is a seller's API token, which can only read (GET /api/performance/); writing to the feed "
                f"needs an integration token, which programme staff create with {CREATE_COMMAND}.",
            )
        raise FeedAuthError(
            401,
            f"This integration token is unknown or was revoked; ask programme staff for a new one ({CREATE_COMMAND}).",
        )
    IntegrationToken.objects.filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION), pk=token.pk
    ).update(last_used_at=now)
    return token


def rate_limit_wait(token: IntegrationToken, *, now: dt.datetime) -> int | None:
    """Seconds until ``token`` may send again when it has used up ``FEED_RATE_LIMIT``
    requests in the current minute, else None (and this request counted).

    Counted in the portal's cache (``CACHES``, shared by every worker when it is Redis);
    without a working cache (the dummy one, a counter evicted) nothing is limited."""
    window = int(now.timestamp() // RATE_WINDOW_SECONDS)
    key = f"feed:rate:{token.pk}:{window}"
    cache.add(key, 0, timeout=RATE_WINDOW_SECONDS * 2)
    try:
        count = cache.incr(key)
    except ValueError:
        return None
    if count <= settings.FEED_RATE_LIMIT:
        return None
    return max(1, math.ceil((window + 1) * RATE_WINDOW_SECONDS - now.timestamp()))
