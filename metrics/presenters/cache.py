"""The one cache of what a seller's pages show: the dashboard's content and the JSON
status's insights are each computed once per state of the seller and served from here
until something they show changes, or ``SELLER_CACHE_SECONDS`` pass (their orders at risk,
and the time left on them, are at most that old).

A key is the seller's row (every column: a change of status, time zone or settings flag
shows at once), its state (``seller_dashboard_state``: the latest evaluated day, when its
snapshots were written, the latest audit entry, which every settings, status and plan
change writes), what the page itself depends on (``parts``: the window, the volume control
in force...), the language, and the time bucket. A view in another state, language or
bucket simply misses; nothing is invalidated by hand.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Hashable
from typing import TypeVar

from django.core.cache import cache
from django.utils.translation import get_language

from metrics.selectors import DashboardState
from sellers.models import Seller

# Insights read the seller's orders (six grouped queries, seconds for the largest sellers):
# their pages are kept this long at most.
SELLER_CACHE_SECONDS = 300

T = TypeVar("T")


def seller_cache_key(
    kind: str, *, seller: Seller, state: DashboardState, parts: tuple[Hashable, ...], now: dt.datetime
) -> str:
    """The key of one of the seller's pages (``kind``) in the state the parts describe."""
    everything = (
        tuple(getattr(seller, field.attname) for field in Seller._meta.concrete_fields),
        state,
        parts,
        get_language(),
        int(now.timestamp()) // SELLER_CACHE_SECONDS,
    )
    return f"{kind}:{seller.pk}:{hashlib.sha256(repr(everything).encode()).hexdigest()}"


def cached(key: str, compute: Callable[[], T]) -> T:
    """The value kept under ``key``, else ``compute()``'s, kept for ``SELLER_CACHE_SECONDS``."""
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, SELLER_CACHE_SECONDS)
    return value
