"""Template helpers of plan review: one-line tags over plain functions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.utils.timesince import timesince
from django.utils.translation import ngettext_lazy

from metrics.selectors import can_review_plans

register = template.Library()

# How long a plan has waited, in the portal's own catalogues: Django 5.2's Vietnamese
# catalogue lacks its ``timesince`` words ("%(num)d minute"), so a Vietnamese queue said
# "0 minutes". The same words as Django's, so every other language reads as before. Lazy
# (``Any`` for timesince's ``dict[str, str]``): the plural is chosen when a count is known.
WAITING_WORDS: dict[str, Any] = {
    "year": ngettext_lazy("%(num)d year", "%(num)d years", "num"),
    "month": ngettext_lazy("%(num)d month", "%(num)d months", "num"),
    "week": ngettext_lazy("%(num)d week", "%(num)d weeks", "num"),
    "day": ngettext_lazy("%(num)d day", "%(num)d days", "num"),
    "hour": ngettext_lazy("%(num)d hour", "%(num)d hours", "num"),
    "minute": ngettext_lazy("%(num)d minute", "%(num)d minutes", "num"),
}


@register.filter
def reviews_plans(user) -> bool:
    """Whether ``user`` reviews plans of action (``metrics.selectors.can_review_plans``)."""
    return can_review_plans(user)


@register.filter(expects_localtime=False)
def waiting(since: dt.datetime | None) -> str:
    """How long since ``since``, as Django's ``timesince`` says it, in the portal's words."""
    return timesince(since, time_strings=WAITING_WORDS) if since else ""
