"""Settings for the Prime Performance Portal, read from the environment.

The database is always PostgreSQL, named by DATABASE_URL: ``make run`` and ``make test`` set it
to the project's own server (``portal.devdb``) when it is unset. Celery tasks run in-process
unless CELERY_BROKER_URL is set. Production sets DATABASE_URL, CELERY_BROKER_URL, SECRET_KEY
and ALLOWED_HOSTS, and uses ``portal.settings_production`` on top of this.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from portal.bounds import ORDER_RETENTION_DAYS_DEFAULT, ORDER_RETENTION_DAYS_MAX, ORDER_RETENTION_DAYS_MIN
from portal.env import (
    env_base_url,
    env_bool,
    env_int,
    env_int_at_least,
    env_int_between,
    env_list,
    env_str,
    env_timezone,
    postgres_database,
)
from portal.routers import REPLICA, REPLICA_CONNECT_TIMEOUT_SECONDS, WRITE_MARK_SECONDS

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", default=False)

SECRET_KEY: str = env_str("SECRET_KEY") or ""
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set: export a long random SECRET_KEY, or set DEBUG=true for local development."
        )
    SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "axes",
    "sellers",
    "metrics",
    "webhooks",
    "feed",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "sellers.language.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After a seller's POST, that seller's reads stay on the primary until a replica has it.
    "portal.routers.ReplicaWritesMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

# DATABASE_URL, e.g. postgres://postgres@127.0.0.1:5432/portal: a PostgreSQL server, always.
_database_url = env_str("DATABASE_URL")
if not _database_url:
    raise ImproperlyConfigured(
        "DATABASE_URL is not set: run the command through `make` (make run, make test, make migrate), which "
        "starts the project's own PostgreSQL, or as `.venv/bin/python -m portal.devdb -- COMMAND`, or set "
        "DATABASE_URL=postgres://USER@HOST:5432/NAME."
    )
_conn_max_age = env_int("DB_CONN_MAX_AGE", 60)
DATABASES = {
    "default": postgres_database(
        "DATABASE_URL",
        _database_url,
        conn_max_age=_conn_max_age,
        instead=", or unset it and run through `make` for the project's own server",
    )
}
DATABASES["default"]["TEST"] = {"NAME": env_str("TEST_DATABASE_NAME") or None}
# Reads go to the primary (DATABASE_URL) unless a page opts in and DATABASE_REPLICA_URL names a
# streaming replica (below): portal.routers.
DATABASE_ROUTERS = ["portal.routers.ReplicaRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "sellers.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Axes first: it refuses a locked-out username and address before any password is checked.
# The standalone backend has no get_user, so force_login and sessions use ModelBackend.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Login throttling (django-axes): AXES_FAILURE_LIMIT failed logins for one username from one
# address lock that pair out for AXES_COOLOFF_MINUTES; another user, or the same user from
# elsewhere, can still log in. A successful login clears the count. Staff unlock an account
# by deleting its access attempt in the admin (or `manage.py axes_reset_username USERNAME`).
AXES_FAILURE_LIMIT = env_int_at_least("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_int_at_least("AXES_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"
# The client's address is REMOTE_ADDR unless AXES_IPWARE_PROXY_COUNT is set: a client can
# write any X-Forwarded-For, so it is read only when a proxy we run is known to set it. The
# count is how many proxy addresses follow the client's in that header (0 when the one proxy
# in front sets it to the client's address); a header of another length is not trusted.
if env_str("AXES_IPWARE_PROXY_COUNT"):
    AXES_IPWARE_PROXY_COUNT = env_int_at_least("AXES_IPWARE_PROXY_COUNT", 0, minimum=0)
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("de", _("German")), ("vi", _("Vietnamese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# The portal's own date and time formats over Django's (24-hour English times, Vietnamese
# dates without a leading "Ngày"): portal/formats/.
FORMAT_MODULE_PATH = ["portal.formats"]
# The portal's own time zone: the daily job's "yesterday" is taken here (SPEC section 4).
TIME_ZONE = env_timezone("TIME_ZONE", "America/Los_Angeles")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Where collectstatic gathers the files WhiteNoise serves; STATIC_ROOT=/srv/portal/static
# puts them outside the checkout.
STATIC_ROOT = Path(env_str("STATIC_ROOT") or BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]

# Request limits. No page takes a file upload (orders come in by the import_orders command),
# so Django's 2.5 MB defaults are kept, written out so a change is a decision. The largest
# form, a carrier service with every state ticked in both lists, posts about 110 fields.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Cache (the dashboard's insights): in-process by default; production shares one in Redis,
# e.g. CACHE_URL=redis://redis.internal:6379/1.
_cache_url = env_str("CACHE_URL") or None
if _cache_url and not _cache_url.startswith(("redis://", "rediss://")):
    raise ImproperlyConfigured(f"CACHE_URL={_cache_url!r} is not a Redis URL: use e.g. redis://HOST:6379/1.")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url}
    if _cache_url
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

# DATABASE_REPLICA_URL, e.g. postgres://portal@replica.internal:5432/portal: a PostgreSQL
# streaming replica of DATABASE_URL's server (docs/performance.md, "A read replica"). Unset: no
# replica, every query goes to DATABASE_URL. Set: the read-only pages that opt in
# (portal.routers.replica_reads) read from it while it keeps up; a seller who just wrote
# reads from the primary until the replica has replayed the write, which is remembered in
# the cache, so every web process and worker must share one: CACHE_URL.
_replica_url = env_str("DATABASE_REPLICA_URL") or None
if _replica_url:
    if not _cache_url:
        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URL is set but CACHE_URL is not: a seller's writes are remembered in the cache so "
            "that their next reads go to the primary, and every process must see them. Set CACHE_URL=redis://HOST:6379/1."
        )
    DATABASES[REPLICA] = postgres_database("DATABASE_REPLICA_URL", _replica_url, conn_max_age=_conn_max_age)
    # A replica that does not answer within seconds is down: the primary serves instead.
    DATABASES[REPLICA].setdefault("OPTIONS", {}).setdefault("connect_timeout", REPLICA_CONNECT_TIMEOUT_SECONDS)
    # A persistent connection to a replica that restarted is noticed before a page uses it.
    DATABASES[REPLICA]["CONN_HEALTH_CHECKS"] = True
    # Tests read the test database through it: no second test database.
    DATABASES[REPLICA]["TEST"] = {"MIRROR": "default"}
# How far behind the primary the replica may be (seconds since the last transaction it
# replayed, while it has not replayed everything) before the primary serves its pages. At most
# half of WRITE_MARK_SECONDS, how long a seller's write is remembered (portal.routers).
DATABASE_REPLICA_MAX_LAG_SECONDS = env_int_between(
    "DATABASE_REPLICA_MAX_LAG_SECONDS", 30, minimum=0, maximum=WRITE_MARK_SECONDS // 2
)
# How often each process asks the replica how far behind it is (0: on every request).
DATABASE_REPLICA_CHECK_SECONDS = env_int_between("DATABASE_REPLICA_CHECK_SECONDS", 5, minimum=0, maximum=60)

# Order retention (metrics.retention, `manage.py orders_retain`): orders are kept for the days
# a recompute of any of the last ORDER_RETENTION_DAYS days could count. The weekly Celery beat
# entry removes older ones only when ORDER_RETENTION_ENABLED is true (off by default: removing
# orders cannot be undone), archiving them first to a new .csv.gz in ORDER_RETENTION_ARCHIVE_DIR
# when that is set.
ORDER_RETENTION_DAYS = env_int_between(
    "ORDER_RETENTION_DAYS",
    ORDER_RETENTION_DAYS_DEFAULT,
    minimum=ORDER_RETENTION_DAYS_MIN,
    maximum=ORDER_RETENTION_DAYS_MAX,
)
ORDER_RETENTION_ENABLED = env_bool("ORDER_RETENTION_ENABLED", default=False)
ORDER_RETENTION_ARCHIVE_DIR = env_str("ORDER_RETENTION_ARCHIVE_DIR") or None

# Where people open the portal: the links in emails start with it (a seller follows one from
# a revocation notice, a reviewer from a plan waiting in the queue).
PORTAL_URL = env_base_url("PORTAL_URL", "http://127.0.0.1:8000")

# Email: console by default so nothing leaves a development machine.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Prime Performance Portal <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Celery. Without a broker, tasks run in-process (the quick start needs no Redis).
_broker_url = env_str("CELERY_BROKER_URL") or None
CELERY_TASK_ALWAYS_EAGER = _broker_url is None
# In-process runs still need a transport: "memory" never opens a connection. Eager tasks
# still build a (memory) producer to round-trip their arguments through the serializer; the
# host is named so kombu does not warn "No hostname was supplied" on every task.
CELERY_BROKER_URL = _broker_url or "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or None
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "celery")
# A task unacknowledged this long (its worker died) is handed to another worker. It must
# exceed the longest task time limit (35 minutes, metrics.tasks) or work would run twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 2 * 60 * 60)}

# Webhooks (SPEC section 8) go to public HTTPS addresses only. True lets an endpoint be on a
# private, loopback or link-local address, and use plain http: for a test receiver on this
# machine or inside a private network, never for a portal open to sellers.
WEBHOOKS_ALLOW_PRIVATE = env_bool("WEBHOOKS_ALLOW_PRIVATE", default=False)

# The data feed (SPEC section 9): requests per minute each integration token may send,
# counted in the cache above (per process with the default local-memory cache: set CACHE_URL
# to share the count between workers).
FEED_RATE_LIMIT = env_int_at_least("FEED_RATE_LIMIT", 120, minimum=1)

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {
        "forbidden_one_line": {"()": "portal.logs.ForbiddenWithoutTraceback"},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["forbidden_one_line"]},
        # Django's own: each server error emailed to ADMINS (none set: nobody), DEBUG off.
        "mail_admins": {
            "level": "ERROR",
            "filters": ["require_debug_false"],
            "class": "django.utils.log.AdminEmailHandler",
        },
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Django's default "django" logger prints to a console handler of its own under DEBUG,
        # and its records reached the root's handler as well: each 403 or error was logged
        # twice. Here: the one console handler, and Django's email to ADMINS kept.
        "django": {"handlers": ["console", "mail_admins"], "level": env_str("LOG_LEVEL", "INFO"), "propagate": False},
    },
}
