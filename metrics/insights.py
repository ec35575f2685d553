"""What helps a seller understand and fix their numbers: where the defects of a metric
come from (by carrier, weekday and hour of purchase against the cutoff, destination state).

Every breakdown groups in the database over exactly the orders that make up the metric's
defect units (the rules of metrics.definitions), so each breakdown adds up to the
dashboard's defect units.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Case, Count, IntegerField, Q, QuerySet, Sum, Value, When
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay, ExtractMinute
from django.utils.translation import gettext_lazy

from metrics.definitions import METRIC_RULES, q_shipped_late
from metrics.selectors import window_orders
from sellers.choices import STATE_NAMES, Weekday
from sellers.models import OperatingDay, Order, Seller


def metric_defect_queryset(*, seller: Seller, day: dt.date, window_days: int, metric: str) -> QuerySet[Order]:
    """The seller's orders that count as defect units of ``metric`` in the window (SPEC 3)."""
    rule = METRIC_RULES[metric]
    return window_orders(day=day, window_days=window_days, seller_ids=[seller.pk]).filter(
        rule.population(day) & rule.defects(day)
    )


@dataclass(frozen=True)
class Share:
    """One group of defect units: a carrier, a weekday, a state, an hour."""

    key: str
    label: str
    units: int
    orders: int
    total_units: int
    dimension: str = ""

    @property
    def percent(self) -> float:
        return 100.0 * self.units / self.total_units if self.total_units else 0.0


@dataclass
class RootCauses:
    metric: str
    window_days: int
    day: dt.date
    total_units: int = 0
    total_orders: int = 0
    by_carrier: list[Share] = field(default_factory=list)
    by_weekday: list[Share] = field(default_factory=list)
    by_state: list[Share] = field(default_factory=list)

    @property
    def largest(self) -> Share | None:
        """The single largest contributor across the carrier, weekday and state breakdowns."""
        candidates = [group[0] for group in (self.by_carrier, self.by_weekday, self.by_state) if group]
        return max(candidates, key=lambda share: share.units, default=None)


DIMENSIONS = {
    "carrier": gettext_lazy("carrier service"),
    "local_weekday": gettext_lazy("weekday of purchase"),
    "ship_to_state": gettext_lazy("destination state"),
}


def _shares(rows, *, key: str, label, total: int) -> list[Share]:
    dimension = str(DIMENSIONS.get(key, ""))
    return [
        Share(
            key=str(row[key]),
            label=label(row[key]),
            units=row["units"],
            orders=row["orders"],
            total_units=total,
            dimension=dimension,
        )
        for row in rows
    ]


def _after_cutoff(seller: Seller) -> Case:
    """1 when the order was bought after the cutoff of its local weekday (or on a day the
    seller does not operate), else 0: built from the seller's seven settings rows."""
    whens = []
    for operating_day in OperatingDay.objects.filter(seller=seller):
        iso_weekday = operating_day.weekday + 1
        if not operating_day.operated or operating_day.cutoff is None:
            whens.append(When(local_weekday=iso_weekday, then=Value(1)))
            continue
        cutoff = operating_day.cutoff
        later = Q(local_hour__gt=cutoff.hour) | Q(local_hour=cutoff.hour, local_minute__gte=cutoff.minute)
        whens.append(When(Q(local_weekday=iso_weekday) & later, then=Value(1)))
    return Case(*whens, default=Value(0), output_field=IntegerField())


def root_causes(*, seller: Seller, day: dt.date, window_days: int, metric: str) -> RootCauses:
    """Where the defect units of ``metric`` come from, in four grouped queries."""
    zone = seller.zone
    defects = metric_defect_queryset(seller=seller, day=day, window_days=window_days, metric=metric).annotate(
        local_weekday=ExtractIsoWeekDay("purchased_at", tzinfo=zone),
        local_hour=ExtractHour("purchased_at", tzinfo=zone),
        local_minute=ExtractMinute("purchased_at", tzinfo=zone),
    )
    totals = defects.aggregate(units=Sum("units", default=0), orders=Count("pk"))
    result = RootCauses(
        metric=metric, window_days=window_days, day=day, total_units=totals["units"], total_orders=totals["orders"]
    )
    if not result.total_orders:
        return result
    total = result.total_units

    def grouped(*fields: str):
        return defects.values(*fields).annotate(units=Sum("units"), orders=Count("pk")).order_by("-units", *fields)

    result.by_carrier = _shares(
        grouped("carrier"), key="carrier", label=lambda value: value or "(no carrier)", total=total
    )
    weekday_names = {day.value + 1: str(day.label) for day in Weekday}
    result.by_weekday = _shares(grouped("local_weekday"), key="local_weekday", label=weekday_names.get, total=total)
    result.by_state = _shares(
        grouped("ship_to_state"),
        key="ship_to_state",
        label=lambda value: STATE_NAMES.get(value, value or "(unknown)"),
        total=total,
    )
    return result


@dataclass(frozen=True)
class HourOfPurchase:
    hour: int
    units: int
    after_cutoff_units: int

    @property
    def label(self) -> str:
        return f"{self.hour:02d}:00"


@dataclass
class LateShipmentsByHour:
    """Units shipped late in the window by local hour of purchase, and how many of them
    were bought after the cutoff of their weekday (they could not ship the same day)."""

    hours: list[HourOfPurchase] = field(default_factory=list)
    total_units: int = 0
    after_cutoff_units: int = 0

    @property
    def after_cutoff_percent(self) -> float:
        return 100.0 * self.after_cutoff_units / self.total_units if self.total_units else 0.0


def late_shipments_by_hour(*, seller: Seller, day: dt.date, window_days: int) -> LateShipmentsByHour:
    """Shipped-late units (SPEC section 3) by local hour of purchase against the cutoff,
    in one grouped query."""
    zone = seller.zone
    rows = (
        window_orders(day=day, window_days=window_days, seller_ids=[seller.pk])
        .filter(q_shipped_late(day))
        .annotate(
            local_weekday=ExtractIsoWeekDay("purchased_at", tzinfo=zone),
            local_hour=ExtractHour("purchased_at", tzinfo=zone),
            local_minute=ExtractMinute("purchased_at", tzinfo=zone),
        )
        .annotate(after_cutoff=_after_cutoff(seller))
        .values("local_hour")
        .annotate(late_units=Sum("units"), after=Sum("units", filter=Q(after_cutoff=1), default=0))
        .order_by("local_hour")
    )
    result = LateShipmentsByHour()
    for row in rows:
        result.hours.append(
            HourOfPurchase(hour=row["local_hour"], units=row["late_units"], after_cutoff_units=row["after"])
        )
        result.total_units += row["late_units"]
        result.after_cutoff_units += row["after"]
    return result
