"""Celery tasks: thin shells that take ids and ISO dates and call services."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from celery import group, shared_task
from django.conf import settings
from django.utils import timezone

from metrics.notifications import (
    at_risk_emails_send,
    incident_decided_emails_send,
    incident_submitted_emails_send,
    plan_decided_emails_send,
    plan_submitted_emails_send,
    revocation_emails_send,
)
from metrics.presenters.warm import seller_pages_warm
from metrics.retention import archive_name, orders_retain, retention_cut
from metrics.services import (
    DEFAULT_CHUNK_SIZE,
    chunk_evaluate,
    portal_yesterday,
    seller_id_chunks,
    sellers_readiness,
)
from portal.celery import RETRYING
from portal.routers import replica_mark_written

logger = logging.getLogger(__name__)


@shared_task(**RETRYING, bind=True, soft_time_limit=30 * 60, time_limit=35 * 60)
def daily_evaluation(
    self, day_iso: str | None = None, chunk_size: int = DEFAULT_CHUNK_SIZE, seller_ids: list[int] | None = None
) -> dict:
    """Fan the day's evaluation out over chunks of sellers so several workers share it.

    Sellers for whom D has not ended yet in their own zone (Pacific/Honolulu while Los Angeles
    keeps daylight time: 02:30 there is 23:30 in Honolulu) are evaluated by this same task
    again, queued for the moment D has ended for all of them (SPEC section 4)."""
    day = dt.date.fromisoformat(day_iso) if day_iso else portal_yesterday()
    readiness = sellers_readiness(day=day, seller_ids=seller_ids)
    chunks = seller_id_chunks(chunk_size, readiness.ready)
    group(evaluate_sellers_chunk.s(day.isoformat(), chunk) for chunk in chunks).apply_async()
    logger.info("Daily evaluation for %s: %d chunks of up to %d sellers queued", day, len(chunks), chunk_size)
    # waiting_until is set exactly when some sellers wait (sellers_readiness).
    if readiness.waiting_until is not None and self.request.is_eager:
        # In-process (no broker): nothing can wait for later; run_daily --date covers them.
        logger.warning(
            "Daily evaluation for %s: %d sellers wait for the end of the day in their zone, until %s; "
            "without a broker nothing queues them: run run_daily --date %s then",
            day,
            len(readiness.waiting),
            readiness.waiting_until.isoformat(),
            day.isoformat(),
        )
    elif readiness.waiting_until is not None:
        daily_evaluation.apply_async((day.isoformat(), chunk_size, readiness.waiting), eta=readiness.waiting_until)
        logger.info(
            "Daily evaluation for %s: %d sellers wait for the end of the day in their zone, until %s",
            day,
            len(readiness.waiting),
            readiness.waiting_until.isoformat(),
        )
    return {"day": day.isoformat(), "chunks": len(chunks), "waiting": len(readiness.waiting)}


@shared_task(**RETRYING, soft_time_limit=20 * 60, time_limit=25 * 60)
def evaluate_sellers_chunk(day_iso: str, seller_ids: list[int]) -> dict:
    """Snapshots and evaluation for one chunk; idempotent, so a retry or redelivery is safe."""
    result = chunk_evaluate(day=dt.date.fromisoformat(day_iso), seller_ids=seller_ids)
    # New snapshots and statuses: these sellers' pages read them from the primary until a
    # read replica has them (portal.routers).
    replica_mark_written(seller_ids=seller_ids)
    # Their first views of D, rendered in the background (never in-process: that would make
    # the run wait for it).
    if not settings.CELERY_TASK_ALWAYS_EAGER and result.evaluated:
        warm_seller_pages.delay(day_iso, seller_ids)
    logger.info(
        "Evaluated %d sellers for %s: %d snapshots, %d revoked, %d entered at-risk",
        result.evaluated,
        day_iso,
        result.snapshots,
        len(result.revoked),
        len(result.entered_at_risk),
    )
    return {
        "day": day_iso,
        "evaluated": result.evaluated,
        "snapshots": result.snapshots,
        "revoked": result.revoked,
        "entered_at_risk": result.entered_at_risk,
    }


@shared_task(soft_time_limit=10 * 60, time_limit=12 * 60)
def warm_seller_pages(day_iso: str, seller_ids: list[int]) -> int:
    """The first views of D of a chunk's largest sellers rendered into the cache
    (``metrics.presenters.warm``). Not retried: a page it misses renders on its first view."""
    return seller_pages_warm(day=dt.date.fromisoformat(day_iso), seller_ids=seller_ids, now=timezone.now())


@shared_task(**RETRYING, soft_time_limit=30 * 60, time_limit=35 * 60)
def retain_orders() -> dict:
    """The weekly order retention (portal.celery): only when ORDER_RETENTION_ENABLED is true,
    keeping ORDER_RETENTION_DAYS days, archiving to a new file in ORDER_RETENTION_ARCHIVE_DIR
    when that is set (``metrics.retention``)."""
    if not settings.ORDER_RETENTION_ENABLED:
        logger.info("Order retention is off (ORDER_RETENTION_ENABLED): no order removed")
        return {"enabled": False, "removed": 0}
    now = timezone.now()
    days, today = settings.ORDER_RETENTION_DAYS, timezone.localdate(now)
    archive = None
    if settings.ORDER_RETENTION_ARCHIVE_DIR:
        _, cut = retention_cut(days=days, today=today)
        archive = Path(settings.ORDER_RETENTION_ARCHIVE_DIR) / archive_name(cut=cut, now=now)
    result = orders_retain(days=days, today=today, archive=archive)
    logger.info(
        "Order retention: %d orders purchased before %s removed%s",
        result.removed,
        result.plan.cut.isoformat(),
        f", archived to {result.archive}" if result.archive else "",
    )
    return {"enabled": True, "removed": result.removed, "cut": result.plan.cut.isoformat()}


@shared_task(**RETRYING)
def send_revocation_emails(event_ids: list[int]) -> int:
    return revocation_emails_send(event_ids=event_ids)


@shared_task(**RETRYING)
def send_at_risk_emails(seller_ids: list[int], day_iso: str) -> int:
    return at_risk_emails_send(seller_ids=seller_ids, day=dt.date.fromisoformat(day_iso))


@shared_task(**RETRYING)
def send_plan_submitted_emails(plan_id: int) -> int:
    return plan_submitted_emails_send(plan_id=plan_id)


@shared_task(**RETRYING)
def send_incident_submitted_emails(incident_id: int) -> int:
    return incident_submitted_emails_send(incident_id=incident_id)


@shared_task(**RETRYING)
def send_plan_decided_emails(plan_id: int) -> int:
    return plan_decided_emails_send(plan_id=plan_id)


@shared_task(**RETRYING)
def send_incident_decided_emails(incident_id: int) -> int:
    return incident_decided_emails_send(incident_id=incident_id)
