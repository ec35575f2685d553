"""Reading settings from the environment, failing loudly on a value we cannot use.

A typo in production configuration must stop the process at start-up with a sentence
that names the variable and the fix, not surface later as odd behaviour.
"""

from __future__ import annotations

import os
import zoneinfo
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip()


def env_base_url(name: str, default: str) -> str:
    """An absolute http(s) address without a trailing slash, e.g. ``https://portal.example.com``:
    what links in emails start with."""
    raw = env_str(name, default) or default
    parsed = urlsplit(raw)
    if parsed.scheme not in {"http", "https"} or not parsed.netloc or parsed.query or parsed.fragment:
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not the portal's address: set it to what people open the portal at, "
            "e.g. https://portal.example.com."
        )
    return raw.rstrip("/")


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean: set it to one of true/false, 1/0, yes/no, on/off.")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number: set it to e.g. {default}.") from None


def env_int_at_least(name: str, default: int, *, minimum: int) -> int:
    value = env_int(name, default)
    if value < minimum:
        raise ImproperlyConfigured(f"{name}={value} is too small: set it to {minimum} or more, e.g. {default}.")
    return value


def env_int_between(name: str, default: int, *, minimum: int, maximum: int) -> int:
    value = env_int(name, default)
    if not minimum <= value <= maximum:
        raise ImproperlyConfigured(
            f"{name}={value} is out of range: set it from {minimum} to {maximum}, e.g. {default}."
        )
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_addresses(name: str) -> list[tuple[str, str]]:
    """Comma-separated email addresses, each ``address`` or ``Name <address>``, as the
    (name, address) pairs Django's ADMINS and MANAGERS take."""
    addresses = []
    for item in env_list(name, []):
        real_name, address = parseaddr(item)
        if "@" not in address:
            raise ImproperlyConfigured(
                f"{name} has {item!r}, which is not an email address: "
                "use e.g. ops@example.com or Ops <ops@example.com>, separated by commas."
            )
        addresses.append((real_name or address, address))
    return addresses


def env_timezone(name: str, default: str) -> str:
    value = env_str(name, default) or default
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ImproperlyConfigured(
            f"{name}={value!r} is not an IANA time zone: use a name such as 'America/Los_Angeles' or 'UTC'."
        ) from None
    return value


def postgres_database(name: str, url: str, *, conn_max_age: int, instead: str = "") -> dict[str, Any]:
    """Django's settings of the PostgreSQL database at ``url``, read from the variable ``name``;
    refused, naming it, when it is no database URL or another kind of database. ``instead``
    ends the refusal with another way to a database."""
    try:
        database = dj_database_url.parse(url, conn_max_age=conn_max_age)
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"{name}={url!r} is not a database URL ({exc}): use e.g. postgres://USER@HOST:5432/NAME."
        ) from None
    if database["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured(
            f"{name}={url!r} is not a PostgreSQL database: the portal runs on PostgreSQL only; "
            f"use e.g. postgres://USER@HOST:5432/NAME{instead}."
        )
    return dict(database)
