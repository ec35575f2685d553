"""An order's local time of purchase, for the insights that compare it with the seller's
cutoffs and pickups: annotations in the database, in the seller's time zone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from django.db.models import Case, IntegerField, Q, QuerySet, Sum, Value, When
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay, ExtractMinute

from sellers.models import OperatingDay, Order, Seller


def with_local_purchase_time(orders: QuerySet[Order], zone) -> QuerySet[Order]:
    """The local ISO weekday, hour and minute of purchase in the seller's time zone."""
    return orders.annotate(
        local_weekday=ExtractIsoWeekDay("purchased_at", tzinfo=zone),
        local_hour=ExtractHour("purchased_at", tzinfo=zone),
        local_minute=ExtractMinute("purchased_at", tzinfo=zone),
    )


def at_or_after(moment: dt.time) -> Q:
    """Bought at or after ``moment`` of its local day (``with_local_purchase_time``)."""
    return Q(local_hour__gt=moment.hour) | Q(local_hour=moment.hour, local_minute__gte=moment.minute)


def before(moment: dt.time) -> Q:
    return Q(local_hour__lt=moment.hour) | Q(local_hour=moment.hour, local_minute__lt=moment.minute)


def days_not_operated(days: Mapping[int, OperatingDay]) -> frozenset[int]:
    """The ISO weekdays the seller does not ship on (closed, or operated without a cutoff)."""
    return frozenset(weekday + 1 for weekday, day in days.items() if not day.operated or day.cutoff is None)


def after_cutoff_flag(days: Mapping[int, OperatingDay]) -> Case:
    """1 when the order was bought at or after the cutoff of its local weekday, or on a day
    the seller does not ship, else 0: from the seven days of ``seller_operating_days`` (a
    weekday without a settings row is a day not operated, as everywhere else)."""
    closed = days_not_operated(days)
    whens = [When(local_weekday__in=sorted(closed), then=Value(1))] if closed else []
    for weekday, day in days.items():
        if day.operated and day.cutoff is not None:  # not in ``closed``
            whens.append(When(Q(local_weekday=weekday + 1) & at_or_after(day.cutoff), then=Value(1)))
    return Case(*whens, default=Value(0), output_field=IntegerField())


def units_against_cutoff(orders: QuerySet[Order], *, seller: Seller, days: Mapping[int, OperatingDay]):
    """``orders``' units by local weekday and hour of purchase, with the units bought after
    that weekday's cutoff: one grouped query, at most 7 x 24 rows."""
    return (
        with_local_purchase_time(orders, seller.zone)
        .annotate(after_cutoff=after_cutoff_flag(days))
        .values("local_weekday", "local_hour")
        .annotate(group_units=Sum("units"), after=Sum("units", filter=Q(after_cutoff=1), default=0))
        .order_by("local_weekday", "local_hour")
    )
