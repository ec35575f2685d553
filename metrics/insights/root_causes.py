"""Root causes (SPEC section 4's facts for a plan of action, and the dashboard's "why"):
where a metric's defect units come from, by carrier, weekday and hour of purchase against
the cutoff, and destination state.

Every breakdown groups in the database over exactly the orders that make up the metric's
defect units (``metrics.selectors.metric_defects``), so each adds up to the dashboard's
defect units; all of them, the totals and the hours against the cutoff in one pass
(``metrics.sql.root_cause_groups``, ``GROUPING SETS``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy

from metrics import sql as statements
from metrics.definitions import q_shipped_late
from metrics.insights.purchase_time import (
    after_cutoff_flag,
    days_not_operated,
    units_against_cutoff,
    with_local_purchase_time,
)
from metrics.selectors import metric_defects, window_orders
from portal.routers import read_connection
from sellers.choices import STATE_NAMES, Weekday
from sellers.models import OperatingDay, Order, Seller
from sellers.selectors import seller_operating_days

# The dimensions a share of defect units belongs to.
CARRIER, WEEKDAY, STATE, AFTER_CUTOFF = "carrier", "local_weekday", "ship_to_state", "after_cutoff"
# The label of a group without a value: orders no carrier took (a cancellation), or without
# a ship-to state. Its share's ``key`` is "".
NO_CARRIER = gettext_lazy("(no carrier)")
NO_STATE = gettext_lazy("(no ship-to state)")


@dataclass(frozen=True)
class Share:
    """One group of defect units: a carrier, a weekday, a state, a weekday's purchases
    after its cutoff. ``label`` names the group (a carrier, a weekday, a state's name)."""

    key: str  # the group's value: a carrier, an ISO weekday (Monday 1), a state code; "" for none
    label: str
    units: int
    orders: int
    total_units: int
    dimension: str = ""  # CARRIER, WEEKDAY, STATE or AFTER_CUTOFF

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
        """The single largest contributor across the carrier, weekday and state breakdowns.
        A group without a value names no cause (every seller cancellation has no carrier):
        each breakdown offers its largest group that has one."""
        groups = (self.by_carrier, self.by_weekday, self.by_state)
        firsts = [next((share for share in group if share.key), None) for group in groups]
        return max((share for share in firsts if share is not None), key=lambda share: share.units, default=None)


def _weekday_names() -> dict[int, str]:
    """ISO weekday -> its name."""
    return {day.value + 1: str(day.label) for day in Weekday}


def _shares(rows, *, key: str, label, total: int) -> list[Share]:
    return [Share(str(row[key]), label(row[key]), row["units"], row["orders"], total, dimension=key) for row in rows]


def root_causes(*, seller: Seller, day: dt.date, window_days: int, metric: str) -> RootCauses:
    """Where the defect units of ``metric`` come from: ``root_cause_summary``'s breakdowns."""
    return root_cause_summary(seller=seller, day=day, window_days=window_days, metric=metric).causes


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


def _by_hour(rows) -> list[HourOfPurchase]:
    hours: dict[int, list[int]] = {}
    for row in rows:
        units = hours.setdefault(row["local_hour"], [0, 0])
        units[0] += row["group_units"]
        units[1] += row["after"]
    return [HourOfPurchase(hour=h, units=u, after_cutoff_units=a) for h, (u, a) in sorted(hours.items())]


def late_shipments_by_hour(*, seller: Seller, day: dt.date, window_days: int) -> LateShipmentsByHour:
    """Shipped-late units (SPEC section 3) by local hour of purchase against the cutoff,
    in one grouped query."""
    late = window_orders(day=day, window_days=window_days, seller_ids=[seller.pk]).filter(q_shipped_late(day))
    hours = _by_hour(units_against_cutoff(late, seller=seller, days=seller_operating_days(seller=seller)))
    return LateShipmentsByHour(
        hours=hours,
        total_units=sum(hour.units for hour in hours),
        after_cutoff_units=sum(hour.after_cutoff_units for hour in hours),
    )


@dataclass
class CutoffBreakdown:
    """A metric's defect units by local hour of purchase, and by the weekday whose cutoff
    they were bought after (or on a day the seller does not ship)."""

    hours: list[HourOfPurchase] = field(default_factory=list)
    after_cutoff_by_weekday: list[Share] = field(default_factory=list)
    days_not_operated: frozenset[int] = frozenset()  # ISO weekdays


@dataclass
class RootCauseSummary:
    """The root causes of one metric (the failing or weakest one) in one window."""

    metric: str
    window_days: int
    causes: RootCauses
    cutoff: CutoffBreakdown


# Each breakdown's rows in ``metrics.sql.root_cause_groups``: its grouping set's value.
TOTAL, BY_CARRIER, BY_WEEKDAY, BY_STATE, BY_HOUR = (
    statements.root_cause_grouping(columns) for columns in statements.ROOT_CAUSE_SETS
)


def _grouped_defects(
    *, seller: Seller, day: dt.date, window_days: int, metric: str, days: dict[int, OperatingDay]
) -> dict[int, list[dict]]:
    """The defect units of ``metric`` grouped every way the root causes show them, in one
    query: the rows of each grouping set (TOTAL, BY_CARRIER...), in the breakdowns' order."""
    defects = (
        with_local_purchase_time(
            metric_defects(seller=seller, day=day, window_days=window_days, metric=metric), seller.zone
        )
        .annotate(after_cutoff=after_cutoff_flag(days))
        .values(*statements.ROOT_CAUSE_COLUMNS, "units", "after_cutoff")
        .order_by()
    )
    query, params = defects.query.sql_with_params()
    groups: dict[int, list[dict]] = {}
    with read_connection(Order).cursor() as cursor:
        cursor.execute(statements.root_cause_groups(query), params)
        names = [column.name for column in cursor.description]
        for values in cursor.fetchall():
            row = dict(zip(names, values, strict=True))
            for name in ("local_weekday", "local_hour"):  # EXTRACT's numeric, as the ORM converts it
                row[name] = None if row[name] is None else int(row[name])
            groups.setdefault(row["grouping_set"], []).append(row)
    return groups


def _cutoff(rows: list[dict], *, total: int, days: dict[int, OperatingDay]) -> CutoffBreakdown:
    """The defect units by local hour and weekday of purchase against that weekday's cutoff,
    from the (weekday, hour) rows."""
    hours: dict[int, list[int]] = {}
    after_by_weekday: dict[int, int] = {}
    for row in rows:
        units = hours.setdefault(row["local_hour"], [0, 0])
        units[0] += row["units"]
        units[1] += row["after"]
        if row["after"]:
            after_by_weekday[row["local_weekday"]] = after_by_weekday.get(row["local_weekday"], 0) + row["after"]
    weekday_names = _weekday_names()
    return CutoffBreakdown(
        hours=[HourOfPurchase(hour=h, units=u, after_cutoff_units=a) for h, (u, a) in sorted(hours.items())],
        after_cutoff_by_weekday=sorted(
            (
                Share(str(weekday), weekday_names[weekday], units, 0, total, dimension=AFTER_CUTOFF)
                for weekday, units in after_by_weekday.items()
            ),
            key=lambda share: (-share.units, int(share.key)),
        ),
        days_not_operated=days_not_operated(days),
    )


def root_cause_summary(*, seller: Seller, day: dt.date, window_days: int, metric: str) -> RootCauseSummary:
    """Where the defect units of ``metric`` come from (by carrier, weekday and state) and
    their hours of purchase against the cutoff: one pass over its defect orders, and the
    seller's operating days."""
    days = seller_operating_days(seller=seller)
    groups = _grouped_defects(seller=seller, day=day, window_days=window_days, metric=metric, days=days)
    totals = groups[TOTAL][0]
    causes = RootCauses(
        metric=metric, window_days=window_days, day=day, total_units=totals["units"] or 0, total_orders=totals["orders"]
    )
    if causes.total_orders:
        total = causes.total_units
        causes.by_carrier = _shares(
            groups.get(BY_CARRIER, []), key=CARRIER, label=lambda value: value or str(NO_CARRIER), total=total
        )
        causes.by_weekday = _shares(groups.get(BY_WEEKDAY, []), key=WEEKDAY, label=_weekday_names().get, total=total)
        causes.by_state = _shares(
            groups.get(BY_STATE, []),
            key=STATE,
            label=lambda value: STATE_NAMES.get(value, value or str(NO_STATE)),
            total=total,
        )
    return RootCauseSummary(
        metric=metric,
        window_days=window_days,
        causes=causes,
        cutoff=_cutoff(groups.get(BY_HOUR, []), total=causes.total_units, days=days),
    )
