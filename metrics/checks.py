"""System checks of the portal's own settings, beside Django's (``manage.py check --deploy``)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def portal_url_check(app_configs, **kwargs) -> list[Error]:
    """A deployment's emails link to ``PORTAL_URL``: over https, and not to this machine."""
    parsed = urlsplit(settings.PORTAL_URL)
    if parsed.scheme == "https" and parsed.hostname not in {"localhost", "127.0.0.1", "::1"}:
        return []
    return [
        Error(
            f"PORTAL_URL is {settings.PORTAL_URL}: the links in emails would not reach the portal.",
            hint="Set PORTAL_URL to the https address people open the portal at, e.g. https://portal.example.com, "
            "or list that host first in ALLOWED_HOSTS.",
            id="portal.E001",
        )
    ]
