"""Writes for webhooks (SPEC section 8): endpoints, events, deliveries and their attempts."""

from __future__ import annotations

import base64
import datetime as dt
import http.client
import json
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from standardwebhooks import Webhook

from portal.sql import ids_among
from sellers.models import AuditEntry, Seller, User
from sellers.services import audit_entry_create
from webhooks import transport
from webhooks.addresses import AddressRefused, url_check
from webhooks.choices import TEST_EVENT_TYPE, DeliveryStatus, DisabledReason, EventType
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 24
ENDPOINTS_PER_SELLER_MAX = 10
# Growing delays between attempts, the last one repeated, for 24 hours after the first
# attempt (SPEC section 8); the final attempt is made at the 24-hour mark.
RETRY_DELAYS = (
    dt.timedelta(seconds=30),
    dt.timedelta(minutes=2),
    dt.timedelta(minutes=10),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=1),
    dt.timedelta(hours=2),
    dt.timedelta(hours=4),
    dt.timedelta(hours=8),
)
RETRY_FOR = dt.timedelta(hours=24)
# An endpoint failing without a success for this long is disabled (SPEC section 8).
DISABLE_AFTER = dt.timedelta(days=3)
# An attempt holds its delivery this long, so a second worker (a redelivered task, the
# sweeper) does not send it at the same time; longer than any attempt can take.
ATTEMPT_LEASE = dt.timedelta(minutes=2)


def webhook_secret_generate() -> str:
    """``whsec_`` and the base64 of 24 random bytes, as Standard Webhooks write a secret."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def event_id_generate() -> str:
    return "msg_" + secrets.token_urlsafe(18)


def signature_headers(*, secret: str, event_id: str, moment: dt.datetime, body: bytes) -> dict[str, str]:
    """The three headers of Standard Webhooks: ``webhook-id``, ``webhook-timestamp`` (the
    attempt's, in seconds) and ``webhook-signature`` (``v1,`` + base64 HMAC-SHA256 over
    ``{id}.{timestamp}.{body}``, keyed with the decoded secret), signed by the
    ``standardwebhooks`` library."""
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id=event_id, timestamp=moment, data=body),
    }


def event_body(*, event_type: str, moment: dt.datetime, data: dict) -> str:
    """The JSON body of every event: ``{"type", "timestamp", "data"}`` (SPEC section 8)."""
    return json.dumps(
        {"type": event_type, "timestamp": moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"), "data": data},
        separators=(",", ":"),
        ensure_ascii=False,
    )


# ---------------------------------------------------------------------------------------
# Endpoints
# ---------------------------------------------------------------------------------------


class EndpointError(ValueError):
    """An endpoint change that cannot be made; the message says why and what to do."""


@transaction.atomic
def webhook_endpoint_create(
    *, seller: Seller, actor: User | None, url: str, event_types: Sequence[str], now: dt.datetime | None = None
) -> WebhookEndpoint:
    """A new endpoint with a new secret, which the caller shows once. The URL is checked
    (``url_check``) here too, whoever calls; audited with the seller's row locked."""
    now = now or timezone.now()
    # Resolved before the seller's row is locked: a slow DNS answer holds no lock.
    try:
        url_check(url)
    except AddressRefused as exc:
        raise EndpointError(str(exc)) from None
    locked = Seller.objects.select_for_update().get(pk=seller.pk)
    if WebhookEndpoint.objects.filter(seller=locked).count() >= ENDPOINTS_PER_SELLER_MAX:
        raise EndpointError(
            _("You have %(count)s webhook endpoints, the most a seller may have; delete one you no longer use.")
            % {"count": ENDPOINTS_PER_SELLER_MAX}
        )
    wanted = set(event_types)
    types = [t for t in EventType.values if t in wanted]
    if not types:
        raise EndpointError(_("Choose at least one event to send to this endpoint."))
    endpoint = WebhookEndpoint.objects.create(
        seller=locked,
        url=url,
        secret=webhook_secret_generate(),
        event_types=types,
        created_by=actor if actor and actor.pk else None,
        created_at=now,
    )
    audit_entry_create(
        seller=locked,
        actor=actor,
        action=AuditEntry.Action.WEBHOOK_CREATED,
        summary=_("Webhook endpoint %(url)s added") % {"url": url},
        before={},
        after={"url": url, "event_types": types},
        now=now,
    )
    return endpoint


@transaction.atomic
def webhook_endpoint_delete(*, endpoint: WebhookEndpoint, actor: User | None, now: dt.datetime | None = None) -> None:
    """Delete the endpoint with its deliveries and their log; audited."""
    locked = Seller.objects.select_for_update().get(pk=endpoint.seller_id)
    audit_entry_create(
        seller=locked,
        actor=actor,
        action=AuditEntry.Action.WEBHOOK_DELETED,
        summary=_("Webhook endpoint %(url)s deleted") % {"url": endpoint.url},
        before={"url": endpoint.url, "event_types": list(endpoint.event_types)},
        after={},
        now=now,
    )
    endpoint.delete()


def webhook_endpoint_disable(
    *, endpoint: WebhookEndpoint, reason: str = DisabledReason.BY_USER, now: dt.datetime | None = None
) -> bool:
    """Stop sending to the endpoint; its pending deliveries are given up. False when it was
    already disabled (compare-and-set: of two disablings, one does it and one email goes)."""
    now = now or timezone.now()
    with transaction.atomic():
        updated = WebhookEndpoint.objects.filter(pk=endpoint.pk, enabled=True).update(
            enabled=False, disabled_at=now, disabled_reason=reason
        )
        if updated:
            WebhookDelivery.objects.filter(endpoint_id=endpoint.pk, status=DeliveryStatus.PENDING).update(
                status=DeliveryStatus.FAILED, next_attempt_at=None
            )
    if updated:
        endpoint.enabled, endpoint.disabled_at, endpoint.disabled_reason = False, now, reason
    return bool(updated)


def webhook_endpoint_enable(*, endpoint: WebhookEndpoint) -> bool:
    """Send to the endpoint again, from the next event on; its failure clock starts anew.
    False when it was already enabled."""
    updated = WebhookEndpoint.objects.filter(pk=endpoint.pk, enabled=False).update(
        enabled=True, disabled_at=None, disabled_reason="", failing_since=None
    )
    if updated:
        endpoint.enabled, endpoint.disabled_at, endpoint.disabled_reason, endpoint.failing_since = True, None, "", None
    return bool(updated)


# ---------------------------------------------------------------------------------------
# Events
# ---------------------------------------------------------------------------------------


def webhook_events_emit(
    *,
    event_type: str,
    seller_ids: Iterable[int] | None,
    data_for: Callable[[Seller], dict | None],
    key: str = "",
    now: dt.datetime | None = None,
) -> list[int]:
    """Create the event ``event_type`` for the sellers (all when None) that have an enabled
    endpoint subscribed to it, and send it once the transaction commits. Returns the ids of
    the deliveries created.

    One query finds the endpoints; a seller without one costs nothing more, so the daily run
    for 10,000 sellers pays one indexed query. ``data_for`` builds an event's ``data`` for
    one seller (None: nothing to send), only for sellers with endpoints, once per seller
    whatever its number of endpoints. With a ``key`` (e.g. the day of ``snapshot.computed``)
    an endpoint gets the event once per key: a rerun creates nothing (a unique constraint
    settles two runs at once).

    For ``seller.at_risk`` (entered at risk, once per entry; SPEC section 8) call it from where
    the entry is detected, with ``key`` naming the entry (e.g. the day it began) and
    ``data_for`` the JSON status: ``performance_payload(seller=s, day=D, window_days=30)``."""
    if event_type not in EventType.values:
        raise ValueError(f"{event_type!r} is not a webhook event type; use one of {EventType.values}.")
    endpoints = WebhookEndpoint.objects.filter(enabled=True, event_types__contains=[event_type])
    if seller_ids is not None:
        ids = list(seller_ids)
        if not ids:
            return []
        endpoints = endpoints.filter(seller_id__in=ids_among(ids))
    found = list(endpoints.values_list("pk", "seller_id"))
    if not found:
        return []
    if key:
        done = set(
            WebhookDelivery.objects.filter(
                endpoint_id__in=[pk for pk, _seller in found], event_type=event_type, key=key
            ).values_list("endpoint_id", flat=True)
        )
        found = [(pk, seller_id) for pk, seller_id in found if pk not in done]
    now = now or timezone.now()
    sellers = Seller.objects.in_bulk({seller_id for _pk, seller_id in found})
    bodies: dict[int, str | None] = {}
    deliveries = []
    for endpoint_id, seller_id in found:
        if seller_id not in bodies:
            data = data_for(sellers[seller_id])
            bodies[seller_id] = None if data is None else event_body(event_type=event_type, moment=now, data=data)
        body = bodies[seller_id]
        if body is not None:
            deliveries.append(
                WebhookDelivery(
                    endpoint_id=endpoint_id,
                    event_id=event_id_generate(),
                    event_type=event_type,
                    key=key,
                    body=body,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
    if not deliveries:
        return []
    WebhookDelivery.objects.bulk_create(deliveries, ignore_conflicts=bool(key))
    created = list(
        WebhookDelivery.objects.filter(event_id__in=[d.event_id for d in deliveries]).values_list("pk", flat=True)
    )
    _send_on_commit(created)
    return created


def webhook_test_event_send(*, endpoint: WebhookEndpoint, now: dt.datetime | None = None) -> WebhookDelivery:
    """A ``webhook.test`` event for this endpoint alone, whatever it subscribes to: attempted
    once, without retries, so its result is in the log at once; its failure never counts
    towards disabling, its success clears the failure clock as any success does."""
    now = now or timezone.now()
    seller = endpoint.seller
    data = {
        "merchant_token": seller.merchant_token,
        "message": "This is a test event from the Prime Performance Portal.",
    }
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_id=event_id_generate(),
        event_type=TEST_EVENT_TYPE,
        body=event_body(event_type=TEST_EVENT_TYPE, moment=now, data=data),
        retries=False,
        next_attempt_at=now,
        created_at=now,
    )
    _send_on_commit([delivery.pk])
    return delivery


def _send_on_commit(delivery_ids: list[int]) -> None:
    """Queue each delivery once the change commits. Robust: a broker that cannot be reached
    then is logged, not raised into the caller after its change has committed (a reviewer's
    decision answered with a 500, a daily chunk failing after its work); the delivery stays
    pending and the sweeper (``deliver_due_webhooks``) queues it."""
    from webhooks.tasks import deliver_webhook

    def queue(pk: int) -> Callable[[], None]:
        # A function, not a partial: a robust callback's failure is logged by its __qualname__.
        def queue_delivery() -> None:
            deliver_webhook.delay(pk)

        return queue_delivery

    for pk in delivery_ids:
        transaction.on_commit(queue(pk), robust=True)


# ---------------------------------------------------------------------------------------
# Delivery
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttemptOutcome:
    status_code: int | None
    error: str


def retry_delay(attempts: int) -> dt.timedelta:
    """The wait after the ``attempts``-th failed attempt (1-based): 30 s, 2 min, 10 min,
    30 min, 1 h, 2 h, 4 h, 8 h, then 8 h again."""
    return RETRY_DELAYS[min(attempts, len(RETRY_DELAYS)) - 1]


def _post(delivery: WebhookDelivery, endpoint: WebhookEndpoint, moment: dt.datetime) -> AttemptOutcome:
    """Check the address again (``url_check`` resolves the name now), then POST to the first
    checked address. Failures become a sentence for the delivery log."""
    try:
        target = url_check(endpoint.url)
    except AddressRefused as exc:
        return AttemptOutcome(None, str(exc))
    body = delivery.body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "PrimePerformancePortal-Webhooks/1",
        **signature_headers(secret=endpoint.secret, event_id=delivery.event_id, moment=moment, body=body),
    }
    try:
        answer = transport.post(target, address=target.addresses[0], body=body, headers=headers)
    except TimeoutError:
        return AttemptOutcome(None, _("No answer within %(seconds)s seconds.") % {"seconds": transport.TIMEOUT_SECONDS})
    except ConnectionRefusedError:
        return AttemptOutcome(None, _("The connection was refused."))
    except (OSError, http.client.HTTPException) as exc:
        error = _("The request failed: %(error)s") % {"error": str(exc) or type(exc).__name__}
        return AttemptOutcome(None, error[:300])
    return AttemptOutcome(answer.status_code, "")


def webhook_delivery_attempt(*, delivery_id: int, now: dt.datetime | None = None) -> str:
    """Make the next attempt of a delivery if it is due; returns what happened.

    The delivery is claimed by a compare-and-set (its next attempt moved a lease ahead), so a
    redelivered task or the sweeper never sends it twice at once; no transaction is held
    during the HTTP request. A 2xx is a success and clears the endpoint's failure clock; a
    failure schedules the next attempt after a growing delay, until 24 hours after the first
    attempt, then gives up; an endpoint failing for 3 days without a success is disabled and
    its seller's users emailed."""
    now = now or timezone.now()
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now, endpoint__enabled=True
    ).update(next_attempt_at=now + ATTEMPT_LEASE)
    if not claimed:
        WebhookDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING, endpoint__enabled=False).update(
            status=DeliveryStatus.FAILED, next_attempt_at=None
        )
        return "not due"
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    started = time.monotonic()
    outcome = _post(delivery, endpoint, now)
    duration_ms = int((time.monotonic() - started) * 1000)
    succeeded = outcome.status_code is not None and 200 <= outcome.status_code < 300
    first = delivery.first_attempt_at or now
    with transaction.atomic():
        WebhookAttempt.objects.create(
            delivery=delivery,
            endpoint=endpoint,
            attempted_at=now,
            status_code=outcome.status_code,
            error=outcome.error,
            duration_ms=duration_ms,
        )
        attempts = delivery.attempts + 1
        if succeeded:
            status, next_at = DeliveryStatus.SUCCEEDED, None
        elif delivery.retries and now < first + RETRY_FOR:
            status, next_at = DeliveryStatus.PENDING, min(now + retry_delay(attempts), first + RETRY_FOR)
        else:
            status, next_at = DeliveryStatus.FAILED, None
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=status, attempts=attempts, next_attempt_at=next_at, first_attempt_at=first
        )
        if succeeded:
            WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=False).update(failing_since=None)
        elif delivery.retries:
            WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(failing_since=now)
    if not succeeded and delivery.retries:
        endpoint.refresh_from_db(fields=["failing_since"])
        failing_for = now - endpoint.failing_since if endpoint.failing_since else dt.timedelta(0)
        if failing_for >= DISABLE_AFTER and webhook_endpoint_disable(
            endpoint=endpoint, reason=DisabledReason.FAILING, now=now
        ):
            from webhooks.tasks import send_endpoint_disabled_emails

            send_endpoint_disabled_emails.delay(endpoint.pk)
            return "failed; endpoint disabled"
    if next_at is not None:
        from webhooks.tasks import deliver_webhook

        deliver_webhook.apply_async((delivery.pk,), eta=next_at)
    return status


def webhook_deliveries_due(*, now: dt.datetime | None = None, limit: int = 1000) -> list[int]:
    """Pending deliveries whose next attempt is due (the sweeper's safety net for a lost
    task or a worker restart)."""
    now = now or timezone.now()
    return list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now, endpoint__enabled=True)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
