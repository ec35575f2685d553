"""Celery tasks: thin shells that take ids and ISO dates and call services."""

from __future__ import annotations

import datetime as dt
import logging

from celery import group, shared_task
from django.db import DatabaseError

from metrics.notifications import plan_decided_emails_send, plan_submitted_emails_send, revocation_emails_send
from metrics.services import DEFAULT_CHUNK_SIZE, chunk_evaluate, portal_yesterday, seller_id_chunks

logger = logging.getLogger(__name__)

RETRYING = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (DatabaseError, ConnectionError),
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 5,
}


@shared_task(**RETRYING, soft_time_limit=30 * 60, time_limit=35 * 60)
def daily_evaluation(day_iso: str | None = None, chunk_size: int = DEFAULT_CHUNK_SIZE) -> dict:
    """Fan the day's evaluation out over chunks of sellers so several workers share it."""
    day = dt.date.fromisoformat(day_iso) if day_iso else portal_yesterday()
    chunks = seller_id_chunks(chunk_size)
    group(evaluate_sellers_chunk.s(day.isoformat(), chunk) for chunk in chunks).apply_async()
    logger.info("Daily evaluation for %s: %d chunks of up to %d sellers queued", day, len(chunks), chunk_size)
    return {"day": day.isoformat(), "chunks": len(chunks)}


@shared_task(**RETRYING, soft_time_limit=20 * 60, time_limit=25 * 60)
def evaluate_sellers_chunk(day_iso: str, seller_ids: list[int]) -> dict:
    """Snapshots and evaluation for one chunk; idempotent, so a retry or redelivery is safe."""
    result = chunk_evaluate(day=dt.date.fromisoformat(day_iso), seller_ids=seller_ids)
    logger.info(
        "Evaluated %d sellers for %s: %d snapshots, %d revoked",
        result.evaluated,
        day_iso,
        result.snapshots,
        len(result.revoked),
    )
    return {"day": day_iso, "evaluated": result.evaluated, "snapshots": result.snapshots, "revoked": result.revoked}


@shared_task(**RETRYING)
def send_revocation_emails(event_ids: list[int]) -> int:
    return revocation_emails_send(event_ids=event_ids)


@shared_task(**RETRYING)
def send_plan_submitted_emails(plan_id: int) -> int:
    return plan_submitted_emails_send(plan_id=plan_id)


@shared_task(**RETRYING)
def send_plan_decided_emails(plan_id: int) -> int:
    return plan_decided_emails_send(plan_id=plan_id)
