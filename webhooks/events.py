"""Which events the portal sends, and what their ``data`` holds (SPEC section 8).

The status and snapshot events carry the JSON status of SPEC section 6, built by the one
builder the API uses (``metrics.api.performance_payload``), for the default 30-day window;
its ``at_risk`` covers both windows. Each function is called by the service that makes the
change, inside its transaction: the deliveries are created with the change and sent after
it commits (``webhooks.services.webhook_events_emit``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING

from sellers.models import Seller
from webhooks.choices import EventType
from webhooks.services import webhook_events_emit

if TYPE_CHECKING:
    from metrics.models import Incident, PlanOfAction

STATUS_WINDOW_DAYS = 30


def status_data(seller: Seller, *, day: dt.date | None = None) -> dict:
    """The JSON status of SPEC section 6 as of D (default: the latest computed day); a seller
    with no computed day yet gets the part that needs no figures."""
    from metrics.api import performance_payload
    from metrics.selectors import seller_latest_day

    day = day or seller_latest_day(seller=seller)
    payload = performance_payload(seller=seller, day=day, window_days=STATUS_WINDOW_DAYS) if day else None
    if payload is None:
        return {"merchant_token": seller.merchant_token, "date": None, "status": seller.status}
    return payload


def status_changed_emit(*, seller_ids: Iterable[int], day: dt.date | None = None) -> list[int]:
    """``seller.status_changed``: the sellers were revoked (``day``: the D that revoked) or
    reinstated (their latest computed day)."""
    return webhook_events_emit(
        event_type=EventType.SELLER_STATUS_CHANGED,
        seller_ids=seller_ids,
        data_for=lambda seller: status_data(seller, day=day),
    )


def snapshot_computed_emit(*, day: dt.date, seller_ids: Iterable[int] | None) -> list[int]:
    """``snapshot.computed``: D's figures for the sellers (all when None); once per endpoint
    and D, so a rerun of the daily job sends nothing again."""
    return webhook_events_emit(
        event_type=EventType.SNAPSHOT_COMPUTED,
        seller_ids=seller_ids,
        data_for=lambda seller: status_data(seller, day=day),
        key=day.isoformat(),
    )


def at_risk_entered_emit(*, seller_ids: Iterable[int], day: dt.date) -> list[int]:
    """``seller.at_risk``: the sellers entered at risk with D's figures (SPEC section 8: once
    per entry, not daily). Called by ``metrics.services.sellers_entered_at_risk`` with the
    sellers that entered on D; the key (D) keeps a rerun of that day from sending it again,
    and a later entry (a later D) is sent anew."""
    return webhook_events_emit(
        event_type=EventType.SELLER_AT_RISK,
        seller_ids=seller_ids,
        data_for=lambda seller: status_data(seller, day=day),
        key=day.isoformat(),
    )


def plan_decided_emit(*, plan: PlanOfAction) -> list[int]:
    """``plan.decided``: a reviewer approved or rejected the seller's plan of action."""

    def data(seller: Seller) -> dict:
        return {
            "merchant_token": seller.merchant_token,
            "plan": plan.pk,
            "status": plan.status,
            "submitted_at": plan.submitted_at.isoformat(),
            "decided_at": plan.decided_at.isoformat() if plan.decided_at else None,
            "feedback": plan.feedback,
        }

    return webhook_events_emit(event_type=EventType.PLAN_DECIDED, seller_ids=[plan.seller_id], data_for=data)


def incident_decided_emit(*, incident: Incident) -> list[int]:
    """``incident.decided``: a reviewer approved or rejected the seller's incident (SPEC
    section 7). ``data`` is the incident as ``/api/incidents/`` lists it, and ``reinstated``:
    whether the approval reinstated the seller at once (then ``seller.status_changed`` is sent
    too). Call it after the reinstatement, in the same transaction."""
    from metrics.api import incident_payload
    from metrics.selectors import incident_reinstated

    def data(seller: Seller) -> dict:
        return {**incident_payload(incident), "reinstated": incident_reinstated(incident=incident)}

    return webhook_events_emit(event_type=EventType.INCIDENT_DECIDED, seller_ids=[incident.seller_id], data_for=data)
