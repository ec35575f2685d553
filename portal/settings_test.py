"""Settings for the test suite: ``portal.settings`` with fast hashing and captured email.

DATABASE_URL and CELERY_BROKER_URL still come from the environment: ``make test`` sets
DATABASE_URL to the project's own PostgreSQL when it is unset, CI names its server.
"""

from __future__ import annotations

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-that-is-long-enough-for-django-checks-0123456789")

from portal.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Tests call tasks in-process unless a test starts a real worker itself.
CELERY_TASK_ALWAYS_EAGER = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Login throttling off: tests call authenticate() without a request, which django-axes
# refuses, and need not record every login. tests/test_hardening.py turns it on to test it.
AXES_ENABLED = False

# No cache between requests of a test: each test sees what it just wrote. The insights
# cache is tested with a local-memory cache switched on where it is tested.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
