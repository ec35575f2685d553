"""System checks of the portal's own settings, beside Django's (``manage.py check --deploy``)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.http.request import validate_host


def _this_machine(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


@register(Tags.security, deploy=True)
def portal_url_check(app_configs, **kwargs) -> list[Error]:
    """A deployment's emails link to ``PORTAL_URL``: over https, to a host the portal answers
    (``ALLOWED_HOSTS``), not to this machine."""
    parsed = urlsplit(settings.PORTAL_URL)
    host = parsed.hostname or ""
    if parsed.scheme != "https" or _this_machine(host):
        why = "the links in emails would not reach the portal"
    elif not validate_host(host, settings.ALLOWED_HOSTS):
        why = "its host is not in ALLOWED_HOSTS, so the links in emails would be refused"
    else:
        return []
    return [
        Error(
            f"PORTAL_URL is {settings.PORTAL_URL}: {why}.",
            hint="Set PORTAL_URL to the https address people open the portal at, e.g. https://portal.example.com "
            "(unset, it is https:// and the first host of ALLOWED_HOSTS).",
            id="portal.E001",
        )
    ]
