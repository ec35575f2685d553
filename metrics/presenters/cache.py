"""The one cache of what a seller's pages show: the dashboard's content and the JSON
status's insights are each computed once per state of the seller and served from here
until something they show changes. What depends on D's data and the seller's state alone
(the cards, trends, root causes, settings risks: ``seller_day_cache_key``) is kept for the
day, ``DAY_CACHE_SECONDS``; what depends on the moment (the orders at risk now and the time
left on them: ``seller_cache_key``) for a bucket of ``SELLER_CACHE_SECONDS``, so it is at
most that old.

A key is the seller's row (every column: a change of status, time zone or settings flag
shows at once), its state (``seller_dashboard_state``: the latest evaluated day, when its
snapshots were written, the latest audit entry, which every settings, status and plan
change writes), what the page itself depends on (``parts``: the window, the volume control
in force...), the language, and (``seller_cache_key`` only) the time bucket. A view in
another state, language or bucket simply misses; nothing is invalidated by hand. A new day,
a recomputation of D, a settings, status or plan change, a pause all change the key.
A recomputation of an older day alone does not (the state names the latest day): its trend
point shows once the state changes or the day's entry expires.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

from django.core.cache import cache
from django.utils.translation import get_language

from metrics.selectors import DashboardState
from sellers.models import Seller

# What depends on the moment (the orders at risk now) is kept this long at most.
SELLER_CACHE_SECONDS = 300
# What depends on D's data and the seller's state alone is kept this long at most: a day,
# the time until the next daily run changes the state.
DAY_CACHE_SECONDS = 24 * 60 * 60

T = TypeVar("T")


# In every key kept for the day (``seller_day_cache_key``) and in no other: the benchmark
# clears the others to measure a view later in the day.
DAY_KEY_MARK = ":day:"


def _key(kind: str, lifetime: str, seller: Seller, everything: tuple[Hashable, ...]) -> str:
    row = tuple(getattr(seller, field.attname) for field in Seller._meta.concrete_fields)
    digest = hashlib.sha256(repr((row, *everything, get_language())).encode()).hexdigest()
    return f"{kind}:{lifetime}:{seller.pk}:{digest}"


def seller_day_cache_key(kind: str, *, seller: Seller, state: DashboardState, parts: tuple[Hashable, ...]) -> str:
    """The key of a part of the seller's pages (``kind``) that depends on D's data and the
    seller's state alone, in the state the parts describe: kept ``DAY_CACHE_SECONDS``."""
    return _key(kind, DAY_KEY_MARK.strip(":"), seller, (state, parts))


def seller_cache_key(
    kind: str, *, seller: Seller, state: DashboardState, parts: tuple[Hashable, ...], now: dt.datetime
) -> str:
    """The key of a part of the seller's pages (``kind``) that depends on the moment too, in
    the state the parts describe and ``now``'s bucket: kept ``SELLER_CACHE_SECONDS``."""
    return _key(kind, "bucket", seller, (state, parts, int(now.timestamp()) // SELLER_CACHE_SECONDS))


def cached(key: str, compute: Callable[[], T], *, seconds: int = SELLER_CACHE_SECONDS) -> T:
    """The value kept under ``key``, else ``compute()``'s, kept for ``seconds``."""
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, seconds)
    return value


def cached_all(entries: Sequence[tuple[str, Callable[[], T], int]]) -> list[T]:
    """``cached`` for several (key, compute, seconds) in one round trip to the cache: each
    value kept, else computed, in order, and kept for its seconds."""
    found = cache.get_many([key for key, _compute, _seconds in entries])
    values = []
    for key, compute, seconds in entries:
        value = found.get(key)
        if value is None:
            value = compute()
            cache.set(key, value, seconds)
        values.append(value)
    return values
