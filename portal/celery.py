"""The Celery application. Configuration is read from Django settings (``CELERY_*``).

Without CELERY_BROKER_URL, tasks run eagerly in-process (``CELERY_TASK_ALWAYS_EAGER``).
Tasks are Django-aware (``delay_on_commit`` enqueues only once the transaction commits).
"""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab
from django.db import DatabaseError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

# The options of every task that must not be lost (metrics.tasks, webhooks.tasks): acked
# after it ran, requeued when its worker dies, and retried with growing delays when the
# database or the broker connection fails.
RETRYING = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (DatabaseError, ConnectionError),
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 5,
}

app = Celery("portal", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The beat schedule, declared once. Times are in CELERY_TIMEZONE (the portal's TIME_ZONE).
app.conf.beat_schedule = {
    # SPEC section 4: every day, compute D = yesterday's snapshots for every seller and
    # evaluate eligibility. 02:30 leaves late scans of D time to arrive; sellers whose D has
    # not ended yet in their own zone (Honolulu in summer) are queued by the task for later.
    # A run not started within six hours is dropped: the next day's run (or `run_daily
    # --date`) covers it.
    "daily-evaluation": {
        "task": "metrics.tasks.daily_evaluation",
        "schedule": crontab(hour=2, minute=30),
        "options": {"expires": 6 * 60 * 60},
    },
    # Order retention (metrics.retention), weekly: Sunday 04:30, after the daily run and the
    # sellers it queued for the end of their day. The task removes nothing unless
    # ORDER_RETENTION_ENABLED is true: removing orders cannot be undone, so an operator turns
    # it on, having chosen whether to archive (ORDER_RETENTION_ARCHIVE_DIR). Weekly rather than
    # daily: the cut moves a day a day, so a week's orders go in one run of short batches, and
    # at most six days more than needed are kept (1.5 % of 400). A run not started within six
    # hours is dropped: the next week's covers it.
    "order-retention": {
        "task": "metrics.tasks.retain_orders",
        "schedule": crontab(hour=4, minute=30, day_of_week="sun"),
        "options": {"expires": 6 * 60 * 60},
    },
    # SPEC section 8: webhook deliveries whose next attempt is due. Each attempt queues the
    # next itself; this catches those a restart or a lost task left behind. A sweep not
    # started within its minute is dropped: the next one covers it.
    "webhook-deliveries-due": {
        "task": "webhooks.tasks.deliver_due_webhooks",
        "schedule": 60.0,
        "options": {"expires": 60},
    },
}
