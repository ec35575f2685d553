"""Under CI the suite must run against Redis: a CI that silently fell back to in-process
tasks would skip the tests that need a broker and still pass. (The database is always
PostgreSQL: the settings refuse anything else.)"""

from __future__ import annotations

import os

import pytest
from django.conf import settings

pytestmark = pytest.mark.skipif(os.environ.get("CI") != "true", reason="only under CI (CI=true)")


def test_ci_has_a_redis_broker():
    broker = os.environ.get("CELERY_BROKER_URL", "")
    assert broker.startswith("redis://"), "CI must set CELERY_BROKER_URL to the Redis broker."
    assert broker == settings.CELERY_BROKER_URL
