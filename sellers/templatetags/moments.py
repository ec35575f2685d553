"""How the pages write a moment: the language's DATETIME_FORMAT in the time zone the page
is rendered in (``{% timezone %}``), followed by that zone's abbreviation, so a reader always
knows which clock it is ("Nov. 20, 2026, 17:05 PST"). One filter, so every page writes
moments alike."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import dateformat
from django.utils.formats import date_format

register = template.Library()


@register.filter(expects_localtime=True)
def moment(value: dt.datetime | None) -> str:
    """``value`` as DATETIME_FORMAT and its zone's abbreviation; "" for no moment."""
    if not value:
        return ""
    return f"{date_format(value, 'DATETIME_FORMAT')} {dateformat.format(value, 'T')}"
