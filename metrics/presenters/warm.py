"""The first view of a seller's day, made cheap: right after the daily run evaluated a chunk
of sellers, a background task (``metrics.tasks.warm_seller_pages``) renders their dashboard
and builds their JSON status, for both windows and in the languages of their accounts, into
the seller's cache (``metrics.presenters.cache``), so the first view after the run is served
from it as every later one is.

Nothing here decides what a page shows: the warm-up calls the very functions the views call,
under the very keys they compute (the seller row, its state, the volume control in force,
the window, the language, the time bucket), so a page in any other state simply misses and
renders as before. Bounded: the ``WARM_SELLERS_PER_CHUNK`` largest sellers of the chunk, by
D's orders, largest first (theirs are the slow first views).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.conf import settings
from django.utils import translation

from metrics.api import cached_performance_payload
from metrics.definitions import DEFAULT_WINDOW, METRICS, WINDOWS, snapshot_column
from metrics.models import DailySnapshot
from metrics.presenters.dashboard import dashboard_content
from metrics.selectors import seller_dashboard_state
from sellers.models import Seller, User

# At most this many sellers of a chunk are warmed (a chunk is DEFAULT_CHUNK_SIZE sellers):
# the largest, whose first view costs the most; a small seller's first view is cheap anyway.
WARM_SELLERS_PER_CHUNK = 50
# A seller's size: D's population units of the first metric in the default window.
SIZE_COLUMN = snapshot_column(METRICS[0], DEFAULT_WINDOW, "population")


def sellers_to_warm(*, day: dt.date, seller_ids: Sequence[int], limit: int = WARM_SELLERS_PER_CHUNK) -> list[Seller]:
    """The sellers of ``seller_ids`` evaluated on D, largest first, at most ``limit``."""
    ids = (
        DailySnapshot.objects.filter(day=day, seller_id__in=list(seller_ids))
        .order_by(f"-{SIZE_COLUMN}", "seller_id")
        .values_list("seller_id", flat=True)[:limit]
    )
    sellers = Seller.objects.in_bulk(list(ids))
    return [sellers[pk] for pk in ids if pk in sellers]


def seller_languages(*, seller: Seller) -> list[str]:
    """The languages the seller's accounts read the portal in (an empty choice: the default)."""
    chosen = set(User.objects.filter(seller=seller, is_active=True).values_list("language", flat=True))
    return sorted({language or settings.LANGUAGE_CODE for language in chosen} or {settings.LANGUAGE_CODE})


def seller_pages_warm(*, day: dt.date, seller_ids: Sequence[int], now: dt.datetime) -> int:
    """Render into the cache the dashboard and the JSON status of D, both windows, in each of
    their accounts' languages, for the largest sellers of ``seller_ids`` whose latest day is
    D (``sellers_to_warm``). Returns how many sellers were warmed."""
    warmed = 0
    for seller in sellers_to_warm(day=day, seller_ids=seller_ids):
        state = seller_dashboard_state(seller=seller)
        if state.day != day:  # a later day was computed since: its own run warms it
            continue
        for language in seller_languages(seller=seller):
            with translation.override(language):
                for window_days in WINDOWS:
                    dashboard_content(None, seller=seller, window_days=window_days, now=now)
                    cached_performance_payload(seller=seller, state=state, window_days=window_days, now=now)
        warmed += 1
    return warmed
