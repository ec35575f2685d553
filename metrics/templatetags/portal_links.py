"""Links that work outside the portal: an email's link is the portal's address
(``settings.PORTAL_URL``) and the page's path, since a mail client has no page to be relative to."""

from __future__ import annotations

from django import template
from django.conf import settings
from django.urls import reverse

register = template.Library()


def portal_link(name: str, *args: object) -> str:
    """The absolute address of the page ``name`` (a URL name, with its arguments)."""
    return settings.PORTAL_URL.rstrip("/") + reverse(name, args=args)


@register.simple_tag
def portal_url(name: str, *args: object) -> str:
    return portal_link(name, *args)
