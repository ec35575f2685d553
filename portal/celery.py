"""The Celery application. Configuration is read from Django settings (``CELERY_*``).

Without CELERY_BROKER_URL, tasks run eagerly in-process (``CELERY_TASK_ALWAYS_EAGER``).
The beat schedule is declared once, in ``portal.schedule``.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
