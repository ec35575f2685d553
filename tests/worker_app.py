"""The Celery app as a real worker runs it in tests, with an optional delay before each task
(TEST_TASK_DELAY seconds) so a test can kill the worker in the middle of a run."""

from __future__ import annotations

import os
import time

from celery.signals import task_prerun

from portal.celery import app

__all__ = ["app"]


@task_prerun.connect
def _slow_down(**_kwargs) -> None:
    time.sleep(float(os.environ.get("TEST_TASK_DELAY", "0")))
