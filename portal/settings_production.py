"""Production settings: everything in ``portal.settings`` plus transport security.

Use with ``DJANGO_SETTINGS_MODULE=portal.settings_production``; ``manage.py check --deploy``
passes with these. SECRET_KEY, ALLOWED_HOSTS and DATABASE_URL come from the environment.
"""

from __future__ import annotations

import copy

from django.core.exceptions import ImproperlyConfigured

from portal.env import env_addresses, env_base_url, env_bool, env_int
from portal.settings import *  # noqa: F403
from portal.settings import ALLOWED_HOSTS, DEBUG, LOGGING, PORTAL_URL, SECRET_KEY

if DEBUG:
    raise ImproperlyConfigured("DEBUG is on with production settings: unset DEBUG or set DEBUG=false.")
if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("django-insecure"):
    raise ImproperlyConfigured("SECRET_KEY is too short for production: use at least 50 random characters.")

# The links in emails: PORTAL_URL, else the first host of ALLOWED_HOSTS that names one
# host, over https (with neither, the development address, which `check --deploy` refuses:
# metrics.checks).
_hosts = [host for host in ALLOWED_HOSTS if host != "*" and not host.startswith(".")]
PORTAL_URL = env_base_url("PORTAL_URL", f"https://{_hosts[0]}" if _hosts else PORTAL_URL)

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
# No script reads the CSRF cookie: the plan-of-action autosave takes the token from the form.
CSRF_COOKIE_HTTPONLY = True
# Lax keeps the session on a link followed from an email (the daily revocation notice)
# while cross-site POSTs arrive without it.
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# A working day's session: a seller stays logged in through the day, not for Django's two
# weeks, and closing the browser does not log out a seller in the middle of a plan.
SESSION_COOKIE_AGE = 12 * 60 * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = False
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# ADMINS="Ops <ops@example.com>, security@example.com": who gets an email for each server
# error (Django's mail_admins with DEBUG off). Unset: errors are only logged.
ADMINS = env_addresses("ADMINS")

# Refused hosts, bad CSRF tokens and other suspicious requests (django.security.*) go to
# the console at every LOG_LEVEL, so operators see probes and misconfiguration; they stop
# there, so a scan of Host headers does not become a flood of emails to ADMINS.
LOGGING = copy.deepcopy(LOGGING)
LOGGING["loggers"]["django.security"] = {"handlers": ["console"], "level": "INFO", "propagate": False}

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
