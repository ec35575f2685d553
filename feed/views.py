"""The feed's endpoints (SPEC section 9) and the JSON API's description.

POST /api/v1/orders and POST /api/v1/tracking-events, with an integration token. Every
answer is JSON, refusals included: 401/403 (the token), 405, 415 (the content type), 413
(the size), 400 (not JSON), 422 (invalid items), 429 (the rate limit, with Retry-After),
503 (the database failed; nothing was stored).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.db import Error as DatabaseFailure
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from feed.auth import FeedAuthError, integration_authenticate, rate_limit_wait
from feed.body import JSON, NDJSON, BodyRefused, body_items, body_read, content_type
from feed.models import FeedBatch, IntegrationToken
from feed.openapi import openapi_document
from feed.presenters import events_payload, orders_payload
from feed.services import (
    EventsReceived,
    FeedFailed,
    OrdersReceived,
    feed_batch_log,
    feed_database_failure,
    feed_events_receive,
    feed_orders_receive,
)


def _error(status: int, message: str, **headers: str) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _batch(request: HttpRequest, *, kind: str) -> tuple[IntegrationToken, list[object], dt.datetime] | JsonResponse:
    """The token, the items and the moment of a feed request, or the JSON refusal: the
    method, the token, the rate limit, the content type, the size, the JSON."""
    if request.method != "POST":
        return _error(405, f"Use POST to send a batch to {request.path}.", Allow="POST")
    now = timezone.now()
    try:
        token = integration_authenticate(request, now=now)
    except FeedAuthError as exc:
        headers = {"WWW_Authenticate": 'Bearer realm="feed"'} if exc.status == 401 else {}
        return _error(exc.status, exc.message, **headers)
    wait = rate_limit_wait(token, now=now)
    if wait is not None:
        return _error(
            429,
            f"This token has sent its requests for this minute; send again in {wait} seconds, or fewer, larger "
            "batches.",
            Retry_After=str(wait),
        )
    try:
        media_type = content_type(request, accepted=(JSON, NDJSON))
        items = body_items(body_read(request), media_type)
    except BodyRefused as exc:
        feed_batch_log(token=token, kind=kind, status_code=exc.status, received_at=now, error=exc.message)
        return _error(exc.status, exc.message)
    return token, items, now


def _receive(
    request: HttpRequest,
    *,
    kind: str,
    receive: Callable[..., OrdersReceived | EventsReceived],
    answer: Callable[[Any, list[object]], tuple[int, dict]],
) -> JsonResponse:
    """A batch's refusal or answer; 503 with a sentence when the database fails anywhere on
    the way (the token's lookup, the log, the batch itself): nothing of the batch is stored."""
    try:
        batch = _batch(request, kind=kind)
        if isinstance(batch, JsonResponse):
            return batch
        token, items, now = batch
        received = receive(token=token, items=items, now=now)
    except FeedFailed as exc:
        return _error(503, str(exc), Retry_After="60")
    except DatabaseFailure as exc:
        return _error(503, feed_database_failure(exc), Retry_After="60")
    status, body = answer(received, items)
    return JsonResponse(body, status=status)


@csrf_exempt
def orders(request: HttpRequest) -> JsonResponse:
    """POST /api/v1/orders: a JSON array or NDJSON of up to 10,000 orders."""
    return _receive(request, kind=FeedBatch.Kind.ORDERS, receive=feed_orders_receive, answer=orders_payload)


@csrf_exempt
def tracking_events(request: HttpRequest) -> JsonResponse:
    """POST /api/v1/tracking-events: a JSON array (or NDJSON) of up to 10,000 carrier events."""
    return _receive(request, kind=FeedBatch.Kind.TRACKING_EVENTS, receive=feed_events_receive, answer=events_payload)


@never_cache
@require_safe
def openapi(request: HttpRequest) -> JsonResponse:
    """GET /api/v1/openapi.json: the OpenAPI 3 description of the portal's JSON API."""
    return JsonResponse(openapi_document(), json_dumps_params={"indent": 1})
