"""Template helpers of plan review: one-line tags over plain functions."""

from __future__ import annotations

from django import template

from metrics.selectors import can_review_plans

register = template.Library()


@register.filter
def reviews_plans(user) -> bool:
    """Whether ``user`` reviews plans of action (``metrics.selectors.can_review_plans``)."""
    return can_review_plans(user)
