"""Reads for sellers. Every seller-scoped lookup in a view goes through ``seller_object_or_404``."""

from __future__ import annotations

from typing import TypeVar

from django.db.models import Model, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from sellers.models import Seller, User

M = TypeVar("M", bound=Model)


def seller_for_user(user: User) -> Seller:
    """The seller whose data ``user`` may see; 404 for staff and accounts of no seller."""
    if not user.is_authenticated or user.seller_id is None:
        raise Http404("This account does not belong to a seller.")
    return user.seller


def seller_object_or_404(user: User, queryset: QuerySet[M], *, seller_field: str = "seller", **lookup) -> M:
    """One object of ``queryset`` owned by the user's seller, or 404.

    Another seller's id gives 404, never 403, so ids of other sellers are not confirmed.
    """
    seller = seller_for_user(user)
    return get_object_or_404(queryset, **{seller_field: seller}, **lookup)
