"""Under CI the suite must run on PostgreSQL and Redis: a CI that silently fell back to the
SQLite and in-process defaults would skip the tests that need them and still pass."""

from __future__ import annotations

import os

import pytest
from django.conf import settings
from django.db import connection

pytestmark = pytest.mark.skipif(os.environ.get("CI") != "true", reason="only under CI (CI=true)")


def test_ci_runs_on_postgresql():
    assert connection.vendor == "postgresql", "CI must set DATABASE_URL to a PostgreSQL database."


def test_ci_has_a_redis_broker():
    broker = os.environ.get("CELERY_BROKER_URL", "")
    assert broker.startswith("redis://"), "CI must set CELERY_BROKER_URL to the Redis broker."
    assert broker == settings.CELERY_BROKER_URL
