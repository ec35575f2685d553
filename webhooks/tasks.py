"""Celery tasks for webhooks: thin shells that take ids and call services."""

from __future__ import annotations

import logging

from celery import shared_task

from portal.celery import RETRYING
from webhooks.notifications import endpoint_disabled_emails_send
from webhooks.services import webhook_deliveries_due, webhook_delivery_attempt

logger = logging.getLogger(__name__)


# 5 s of HTTP timeout per attempt (transport.TIMEOUT_SECONDS, the whole attempt): a minute is ample.
@shared_task(**RETRYING, soft_time_limit=60, time_limit=90)
def deliver_webhook(delivery_id: int) -> str:
    return webhook_delivery_attempt(delivery_id=delivery_id)


@shared_task(**RETRYING, soft_time_limit=60, time_limit=90)
def deliver_due_webhooks() -> int:
    """Queue every delivery whose attempt is due: the safety net under the tasks each
    attempt queues for the next one (a worker restart, a task lost with the broker)."""
    due = webhook_deliveries_due()
    for pk in due:
        deliver_webhook.delay(pk)
    if due:
        logger.info("Queued %d due webhook deliveries", len(due))
    return len(due)


@shared_task(**RETRYING)
def send_endpoint_disabled_emails(endpoint_id: int) -> int:
    return endpoint_disabled_emails_send(endpoint_id=endpoint_id)
