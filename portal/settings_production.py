"""Production settings: everything in ``portal.settings`` plus transport security.

Use with ``DJANGO_SETTINGS_MODULE=portal.settings_production``; ``manage.py check --deploy``
passes with these. SECRET_KEY, ALLOWED_HOSTS and DATABASE_URL come from the environment.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from portal.env import env_bool, env_int
from portal.settings import *  # noqa: F403
from portal.settings import DEBUG, SECRET_KEY

if DEBUG:
    raise ImproperlyConfigured("DEBUG is on with production settings: unset DEBUG or set DEBUG=false.")
if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("django-insecure"):
    raise ImproperlyConfigured("SECRET_KEY is too short for production: use at least 50 random characters.")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
