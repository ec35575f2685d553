"""What helps a seller understand and fix their numbers beyond pass or fail:

- *headroom*: how many more defect units each metric's window can absorb (from the stored
  snapshot alone, exact integer arithmetic);
- *orders at risk*: orders not decided yet that become defects if they go wrong, with
  their deadlines, and the rates if they all do;
- *root causes*: where the defects of a metric come from (by carrier, weekday and hour of
  purchase against the cutoff, destination state);
- *settings risks*: settings that predict defects, with the orders they already cost;
- *population orders*: the orders behind a metric's population units (reconciliation).

Every breakdown groups in the database over exactly the orders that make up the metric's
defect units (the rules of metrics.definitions), so each breakdown adds up to the
dashboard's defect units. Every order query is for one seller and filters on its purchase
date, the (seller, purchase_date) index.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from django.core.cache import cache
from django.db import models
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    IntegerField,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay, ExtractMinute
from django.urls import reverse
from django.utils import formats
from django.utils import timezone as django_timezone
from django.utils.translation import get_language, gettext_lazy, ngettext
from django.utils.translation import gettext as _

from metrics import presenters
from metrics.definitions import (
    METRIC_DEFINITIONS,
    METRIC_RULES,
    METRICS,
    MetricDefinition,
    q_delivered_late,
    q_not_cancelled,
    q_not_delivered,
    q_not_shipped,
    q_protected_late,
    q_shipped,
    q_shipped_late,
)
from metrics.models import MetricSnapshot
from metrics.report import ORDER_COLUMNS, csv_chunks
from metrics.selectors import ORDER_VALUE_FIELDS, dates_as_of, latest_audit_entries, metric_defects, window_orders
from sellers.choices import STATE_NAMES, WEEKEND_DAYS, Speed, Weekday
from sellers.models import CarrierZone, OperatingDay, Order, PrimeRegion, Seller
from sellers.selectors import seller_last_pickups, seller_late_cutoffs, seller_operating_days


def _with_local_purchase_time(orders: QuerySet[Order], zone) -> QuerySet[Order]:
    """The local ISO weekday, hour and minute of purchase in the seller's time zone."""
    return orders.annotate(
        local_weekday=ExtractIsoWeekDay("purchased_at", tzinfo=zone),
        local_hour=ExtractHour("purchased_at", tzinfo=zone),
        local_minute=ExtractMinute("purchased_at", tzinfo=zone),
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


def _days_not_operated(days: Mapping[int, OperatingDay]) -> frozenset[int]:
    """The ISO weekdays the seller does not ship on (closed, or operated without a cutoff)."""
    return frozenset(weekday + 1 for weekday, day in days.items() if not day.operated or day.cutoff is None)


def _after_cutoff(days: Mapping[int, OperatingDay]) -> Case:
    """1 when the order was bought at or after the cutoff of its local weekday, or on a day
    the seller does not ship, else 0: from the seven days of ``seller_operating_days`` (a
    weekday without a settings row is a day not operated, as everywhere else)."""
    closed = _days_not_operated(days)
    whens = [When(local_weekday__in=sorted(closed), then=Value(1))] if closed else []
    for weekday, day in days.items():
        if weekday + 1 not in closed:
            whens.append(When(Q(local_weekday=weekday + 1) & _at_or_after(day.cutoff), then=Value(1)))
    return Case(*whens, default=Value(0), output_field=IntegerField())


def root_causes(*, seller: Seller, day: dt.date, window_days: int, metric: str) -> RootCauses:
    """Where the defect units of ``metric`` come from, in four grouped queries."""
    defects = _with_local_purchase_time(
        metric_defects(seller=seller, day=day, window_days=window_days, metric=metric), seller.zone
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


def _units_against_cutoff(orders: QuerySet[Order], *, seller: Seller, days: Mapping[int, OperatingDay]):
    """``orders``' units by local weekday and hour of purchase, with the units bought after
    that weekday's cutoff (``_after_cutoff``): one grouped query, at most 7 x 24 rows."""
    return (
        _with_local_purchase_time(orders, seller.zone)
        .annotate(after_cutoff=_after_cutoff(days))
        .values("local_weekday", "local_hour")
        .annotate(group_units=Sum("units"), after=Sum("units", filter=Q(after_cutoff=1), default=0))
        .order_by("local_weekday", "local_hour")
    )


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
    hours = _by_hour(_units_against_cutoff(late, seller=seller, days=seller_operating_days(seller=seller)))
    return LateShipmentsByHour(
        hours=hours,
        total_units=sum(hour.units for hour in hours),
        after_cutoff_units=sum(hour.after_cutoff_units for hour in hours),
    )


# ---------------------------------------------------------------------------------------
# Headroom: how many more defect units a window can absorb (snapshots only)
# ---------------------------------------------------------------------------------------


def headroom_units(
    *, definition: MetricDefinition, population: int, defects: int, protected: int, threshold: Decimal
) -> int | None:
    """The defect units the window can still absorb among the orders already in it and
    pass (SPEC section 3); negative when failing (the defect units too many); None when the
    population is 0 (no value, passes).

    ``floor((1 - threshold) * population) - counted`` for the rates that must stay high,
    ``floor(threshold * population) - counted`` for the cancellation rate, where *counted*
    is the defect units less the protected ones, as eligibility counts them (only on-time
    delivery has protected units: late deliveries on Buy Shipping labels).

    Exact integer arithmetic on the threshold's ratio n/d, never floats, so headroom >= 0
    exactly when ``MetricDefinition.passes``: passing means counted * d <= (d - n) * population
    (or n * population), and for an integer *counted* that is counted <= floor(... / d).
    """
    if population == 0:
        return None
    numerator, denominator = threshold.as_integer_ratio()
    allowed_share = denominator - numerator if definition.higher_is_better else numerator
    return allowed_share * population // denominator - (defects - protected)


def defects_noun(metric: str, count: int) -> str:
    return METRIC_DEFINITIONS[metric].defects_noun(count)


@dataclass(frozen=True)
class Headroom:
    """One metric's headroom in one window on D, from its stored snapshot."""

    metric: str
    window_days: int
    units: int | None
    population: int

    @property
    def label(self) -> str:
        return str(METRIC_DEFINITIONS[self.metric].label)

    @property
    def passing(self) -> bool:
        return self.units is None or self.units >= 0

    @property
    def relative(self) -> Fraction | None:
        """Headroom per unit of population: how close to the threshold, comparable across metrics."""
        return None if self.units is None else Fraction(self.units, self.population)

    @property
    def sentence(self) -> str:
        days = self.window_days
        if self.units is None:
            return _("No orders in the %(days)s-day window yet: nothing to fail.") % {"days": days}
        if self.units > 0:
            return _(
                "You can afford %(count)s more %(defects)s in the %(days)s-day window; "
                "one more than that and you lose Prime."
            ) % {"count": self.units, "defects": defects_noun(self.metric, self.units), "days": days}
        if self.units == 0:
            return _("No room left: one more %(defect)s in the %(days)s-day window and you lose Prime.") % {
                "defect": defects_noun(self.metric, 1),
                "days": days,
            }
        over = -self.units
        return ngettext(
            "Failing by %(count)s unit: %(count)s %(defects)s too many in the %(days)s-day window.",
            "Failing by %(count)s units: %(count)s %(defects)s too many in the %(days)s-day window.",
            over,
        ) % {"count": over, "defects": defects_noun(self.metric, over), "days": days}


def snapshot_headroom(snapshot: MetricSnapshot) -> Headroom:
    return Headroom(
        metric=snapshot.metric,
        window_days=snapshot.window_days,
        units=headroom_units(
            definition=snapshot.definition,
            population=snapshot.population_units,
            defects=snapshot.defect_units,
            protected=snapshot.protected_units,
            threshold=snapshot.threshold,
        ),
        population=snapshot.population_units,
    )


def weakest_metric(headrooms: Mapping[str, Headroom]) -> str | None:
    """The failing metric furthest below its threshold, else the passing one closest to
    it: the smallest headroom relative to the population (ties: the dashboard's order)."""
    candidates = [
        (headroom.relative, index, name)
        for index, (name, headroom) in enumerate(headrooms.items())
        if headroom.relative is not None
    ]
    return min(candidates)[2] if candidates else None


# ---------------------------------------------------------------------------------------
# Orders at risk: not decided yet, defects if they go wrong
# ---------------------------------------------------------------------------------------

AT_RISK_LIMIT = 50
ON_TIME_SHIPMENT = "on_time_shipment_rate"
ON_TIME_DELIVERY = "on_time_delivery_rate"


class RiskKind(models.TextChoices):
    SHIPPED_LATE_IN_TRANSIT = "shipped_late_in_transit", gettext_lazy("Shipped late, not delivered yet")
    NOT_SCANNED_OVERDUE = "not_scanned_overdue", gettext_lazy("Not scanned, ship date passed")
    NOT_SCANNED_SHIP_TODAY = "not_scanned_ship_today", gettext_lazy("Not scanned, ships today")
    DUE_TODAY = "due_today", gettext_lazy("Due today, not delivered")


# The metrics each kind of at-risk order becomes a defect of if it goes wrong: a late
# shipment that is also delivered late is an on-time shipment defect (SPEC section 3); any
# of them delivered late is an on-time delivery defect.
RISK_METRICS: dict[str, tuple[str, ...]] = {
    RiskKind.SHIPPED_LATE_IN_TRANSIT: (ON_TIME_SHIPMENT, ON_TIME_DELIVERY),
    RiskKind.NOT_SCANNED_OVERDUE: (ON_TIME_SHIPMENT, ON_TIME_DELIVERY),
    RiskKind.NOT_SCANNED_SHIP_TODAY: (ON_TIME_SHIPMENT, ON_TIME_DELIVERY),
    RiskKind.DUE_TODAY: (ON_TIME_DELIVERY,),
}
SHIPMENT_RISKS = [kind for kind, metrics in RISK_METRICS.items() if ON_TIME_SHIPMENT in metrics]


def _risk(today: dt.date) -> Case:
    """The kind of risk an order runs as of ``today`` (the seller's local date now), or ""
    when it has none: decided already (cancelled, delivered, or its promised delivery date
    passed, so it is late already) or not close to a defect. The first kind that applies wins,
    so each order is listed once."""
    undecided = q_not_cancelled(today) & q_not_delivered(today) & Q(promised_delivery_date__gte=today)
    not_scanned = q_not_shipped(today)
    kinds = (
        (RiskKind.SHIPPED_LATE_IN_TRANSIT, q_shipped_late(today)),
        (RiskKind.NOT_SCANNED_OVERDUE, not_scanned & Q(promised_ship_date__lt=today)),
        (RiskKind.NOT_SCANNED_SHIP_TODAY, not_scanned & Q(promised_ship_date=today)),
        (RiskKind.DUE_TODAY, Q(promised_delivery_date=today)),
    )
    whens = [When(undecided & condition, then=Value(kind.value)) for kind, condition in kinds]
    return Case(*whens, default=Value(""), output_field=CharField())


def _as_flag(condition: Q) -> Case:
    return Case(When(condition, then=Value(1)), default=Value(0), output_field=IntegerField())


def at_risk_orders(*, seller: Seller, today: dt.date, window_days: int) -> QuerySet[Order]:
    """The seller's Prime orders purchased in the window ending today (and since the
    evaluation start) that run a risk, annotated with ``risk``, soonest deadline first."""
    return (
        window_orders(day=today, window_days=window_days, seller_ids=[seller.pk])
        .annotate(risk=_risk(today))
        .exclude(risk="")
    )


@dataclass(frozen=True)
class AtRiskOrder:
    order_id: str
    kind: str
    units: int
    purchased_at: dt.datetime
    promised_ship_date: dt.date
    promised_delivery_date: dt.date
    carrier: str
    ship_to_state: str
    deadline: dt.datetime
    deadline_is_pickup: bool

    @property
    def kind_label(self) -> str:
        return str(RiskKind(self.kind).label)

    @property
    def metrics(self) -> tuple[str, ...]:
        return RISK_METRICS[self.kind]


@dataclass(frozen=True)
class Projection:
    """A metric's rate on D's window if every at-risk order threatening it goes wrong."""

    metric: str
    population: int
    defects: int
    protected: int
    threshold: Decimal

    @property
    def definition(self) -> MetricDefinition:
        return METRIC_DEFINITIONS[self.metric]

    @property
    def label(self) -> str:
        return str(self.definition.label)

    @property
    def rate(self) -> Fraction | None:
        return self.definition.rate(population=self.population, defects=self.defects)

    @property
    def rate_percent(self) -> str:
        """The projected rate (every defect counts), never rounded across the threshold."""
        return presenters.rate_percent(self.rate, self.threshold, higher_is_better=self.definition.higher_is_better)

    @property
    def passing(self) -> bool:
        return self.definition.passes(
            population=self.population, defects=self.defects, protected=self.protected, threshold=self.threshold
        )


@dataclass
class AtRisk:
    today: dt.date
    orders: list[AtRiskOrder] = field(default_factory=list)
    count: int = 0
    units: int = 0
    by_kind: list[tuple[str, str, int, int]] = field(default_factory=list)  # kind, label, orders, units
    projected: dict[str, Projection] = field(default_factory=dict)

    @property
    def more(self) -> int:
        """At-risk orders beyond the ones listed."""
        return self.count - len(self.orders)


def _end_of_day(day: dt.date, zone) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=zone)


def _deadline(kind: str, row: dict, *, today: dt.date, zone, pickup_today: dt.time | None) -> tuple[dt.datetime, bool]:
    """When the order becomes a defect for sure, in the seller's time zone: today's last
    carrier pickup for an order that must ship today (end of day when none picks up), the
    end of today for an order due today, else the end of its promised delivery date."""
    if kind == RiskKind.NOT_SCANNED_SHIP_TODAY:
        if pickup_today is not None:
            return dt.datetime.combine(today, pickup_today, tzinfo=zone), True
        return _end_of_day(today, zone), False
    if kind == RiskKind.DUE_TODAY:
        return _end_of_day(today, zone), False
    return _end_of_day(row["promised_delivery_date"], zone), False


def orders_at_risk(
    *,
    seller: Seller,
    day: dt.date,
    window_days: int,
    snapshots: Mapping[str, MetricSnapshot],
    now: dt.datetime | None = None,
    limit: int = AT_RISK_LIMIT,
) -> AtRisk:
    """Orders not decided yet that become defects if they go wrong (see ``RiskKind``), the
    first ``limit`` of them with their deadlines, and the projected rates.

    "Today" is the seller's local date at ``now``. Two queries on the orders: the listed
    orders, and one aggregate with the counts and the projection's sums.

    The projection, for each metric some at-risk order threatens (``RISK_METRICS``), is D's
    snapshot with every such order counted as a defect:
    population = snapshot population + at-risk units outside that population as of D;
    defects = snapshot defects + at-risk units not among those defects as of D;
    protected = snapshot protected + at-risk units already shipped on a Buy Shipping label
    (on-time delivery only; an order not scanned yet is counted unprotected, the worst case).
    "As of D" uses the metric's own rules (``METRIC_RULES``), so no unit is counted twice.
    D's window is not moved: orders leaving it tomorrow stay, so this is the worst case on
    the window the seller sees now, compared with D's threshold exactly.
    """
    zone = seller.zone
    now = now or django_timezone.now()
    today = now.astimezone(zone).date()
    result = AtRisk(today=today)
    orders = at_risk_orders(seller=seller, today=today, window_days=window_days)
    shipment, delivery = METRIC_RULES[ON_TIME_SHIPMENT], METRIC_RULES[ON_TIME_DELIVERY]
    units = lambda condition: Sum("units", filter=condition, default=0)  # noqa: E731
    kinds = {
        f"{kind}__{what}": aggregate
        for kind in RiskKind
        for what, aggregate in (("orders", Count("pk", filter=Q(risk=kind))), ("units", units(Q(risk=kind))))
    }
    totals = orders.annotate(
        shipment_population_d=_as_flag(shipment.population(day)),
        shipment_defect_d=_as_flag(shipment.population(day) & shipment.defects(day)),
        delivery_population_d=_as_flag(delivery.population(day)),
        delivery_defect_d=_as_flag(delivery.population(day) & delivery.defects(day)),
        delivery_protected_d=_as_flag(q_protected_late(day)),
    ).aggregate(
        orders=Count("pk"),
        total_units=units(Q()),
        shipment_threatened=units(Q(risk__in=SHIPMENT_RISKS)),
        shipment_population=units(Q(risk__in=SHIPMENT_RISKS, shipment_population_d=0)),
        shipment_defects=units(Q(risk__in=SHIPMENT_RISKS, shipment_defect_d=0)),
        delivery_population=units(Q(delivery_population_d=0)),
        delivery_defects=units(Q(delivery_defect_d=0)),
        delivery_protected=units(Q(delivery_protected_d=0, buy_shipping=True) & q_shipped(today)),
        **kinds,
    )
    result.count, result.units = totals["orders"], totals["total_units"]
    if not result.count:
        return result
    result.by_kind = [
        (kind.value, str(kind.label), totals[f"{kind}__orders"], totals[f"{kind}__units"])
        for kind in RiskKind
        if totals[f"{kind}__orders"]
    ]
    pickup_today = seller_last_pickups(seller=seller).get(today.weekday())
    fields = ("order_id", "risk", "units", "purchased_at", "promised_ship_date", "promised_delivery_date")
    rows = orders.order_by("promised_delivery_date", "promised_ship_date", "purchased_at", "order_id").values(
        *fields, "carrier", "ship_to_state"
    )[:limit]
    for row in rows:
        deadline, is_pickup = _deadline(row["risk"], row, today=today, zone=zone, pickup_today=pickup_today)
        result.orders.append(
            AtRiskOrder(
                order_id=row["order_id"],
                kind=row["risk"],
                units=row["units"],
                purchased_at=row["purchased_at"].astimezone(zone),
                promised_ship_date=row["promised_ship_date"],
                promised_delivery_date=row["promised_delivery_date"],
                carrier=row["carrier"],
                ship_to_state=row["ship_to_state"],
                deadline=deadline,
                deadline_is_pickup=is_pickup,
            )
        )
    additions = {
        ON_TIME_SHIPMENT: (totals["shipment_threatened"], totals["shipment_population"], totals["shipment_defects"], 0),
        ON_TIME_DELIVERY: (
            totals["total_units"],
            totals["delivery_population"],
            totals["delivery_defects"],
            totals["delivery_protected"],
        ),
    }
    for metric, (threatened, population, defects, protected) in additions.items():
        snapshot = snapshots.get(metric)
        if not threatened or snapshot is None:
            continue
        result.projected[metric] = Projection(
            metric=metric,
            population=snapshot.population_units + population,
            defects=snapshot.defect_units + defects,
            protected=snapshot.protected_units + protected,
            threshold=snapshot.threshold,
        )
    return result


# ---------------------------------------------------------------------------------------
# Root causes of the weakest metric, in sentences
# ---------------------------------------------------------------------------------------


def _percent_of(units: int, total: int) -> int:
    """``units`` as a whole percentage of ``total``, rounded half up, exactly."""
    return (200 * units + total) // (2 * total) if total else 0


@dataclass
class CutoffBreakdown:
    """A metric's defect units by local hour of purchase, and by the weekday whose cutoff
    they were bought after (or on a day the seller does not ship)."""

    hours: list[HourOfPurchase] = field(default_factory=list)
    after_cutoff_by_weekday: list[Share] = field(default_factory=list)
    days_not_operated: frozenset[int] = frozenset()  # ISO weekdays


def defects_by_hour_against_cutoff(*, seller: Seller, day: dt.date, window_days: int, metric: str) -> CutoffBreakdown:
    """The defect units of ``metric`` by local hour and weekday of purchase against that
    weekday's cutoff (SPEC section 4's facts for a root cause), in one grouped query."""
    days = seller_operating_days(seller=seller)
    defects = metric_defects(seller=seller, day=day, window_days=window_days, metric=metric)
    rows = list(_units_against_cutoff(defects, seller=seller, days=days))
    total = sum(row["group_units"] for row in rows)
    after_by_weekday: dict[int, int] = {}
    for row in rows:
        if row["after"]:
            after_by_weekday[row["local_weekday"]] = after_by_weekday.get(row["local_weekday"], 0) + row["after"]
    weekday_names = {d.value + 1: str(d.label) for d in Weekday}
    return CutoffBreakdown(
        hours=_by_hour(rows),
        after_cutoff_by_weekday=sorted(
            (
                Share(
                    key=str(weekday),
                    label=weekday_names[weekday],
                    units=units,
                    orders=0,
                    total_units=total,
                    dimension=str(gettext_lazy("bought after the cutoff")),
                )
                for weekday, units in after_by_weekday.items()
            ),
            key=lambda share: (-share.units, int(share.key)),
        ),
        days_not_operated=_days_not_operated(days),
    )


@dataclass
class RootCauseSummary:
    """The root causes of one metric (the failing or weakest one) in one window."""

    metric: str
    window_days: int
    causes: RootCauses
    cutoff: CutoffBreakdown

    @property
    def label(self) -> str:
        return str(METRIC_DEFINITIONS[self.metric].label)

    @property
    def breakdowns(self) -> list[tuple[str, str, list[Share]]]:
        return [
            ("carrier", _("By carrier service"), self.causes.by_carrier),
            ("weekday", _("By weekday of purchase"), self.causes.by_weekday),
            ("state", _("By destination state"), self.causes.by_state),
        ]

    @property
    def largest_sentence(self) -> str | None:
        """The largest single contributor (carrier, weekday or state) in a sentence."""
        share = self.causes.largest
        if share is None:
            return None
        dimension = next(key for key, _title, shares in self.breakdowns if shares and shares[0] is share)
        values = {
            "label": share.label,
            "percent": _percent_of(share.units, self.causes.total_units),
            "defects": METRIC_DEFINITIONS[self.metric].defects_phrase,
        }
        if dimension == "carrier":
            return _("%(label)s carried %(percent)s %% of your %(defects)s.") % values
        if dimension == "weekday":
            return _("%(percent)s %% of your %(defects)s were ordered on a %(label)s.") % values
        return _("%(percent)s %% of your %(defects)s went to %(label)s.") % values

    @property
    def after_cutoff_sentence(self) -> str | None:
        """Which weekday's purchases after its cutoff contributed most, in a sentence."""
        if not self.cutoff.after_cutoff_by_weekday:
            return None
        share = self.cutoff.after_cutoff_by_weekday[0]
        values = {
            "weekday": share.label,
            "percent": _percent_of(share.units, self.causes.total_units),
            "defects": METRIC_DEFINITIONS[self.metric].defects_phrase,
        }
        if int(share.key) in self.cutoff.days_not_operated:
            return _("%(percent)s %% of your %(defects)s were ordered on %(weekday)s, a day you do not ship.") % values
        return _("%(percent)s %% of your %(defects)s were ordered after your %(weekday)s cutoff.") % values


def root_cause_summary(*, seller: Seller, day: dt.date, window_days: int, metric: str) -> RootCauseSummary:
    return RootCauseSummary(
        metric=metric,
        window_days=window_days,
        causes=root_causes(seller=seller, day=day, window_days=window_days, metric=metric),
        cutoff=defects_by_hour_against_cutoff(seller=seller, day=day, window_days=window_days, metric=metric),
    )


# ---------------------------------------------------------------------------------------
# Settings that predict defects
# ---------------------------------------------------------------------------------------


class SettingsRiskKind(models.TextChoices):
    CUTOFF_AFTER_PICKUP = "cutoff_after_pickup", gettext_lazy("Cutoff after the last carrier pickup")
    ONE_DAY_UNREACHABLE = "one_day_unreachable", gettext_lazy("One-day promise no carrier keeps")
    WEEKEND_WITHOUT_PICKUP = "weekend_without_pickup", gettext_lazy("Weekend day operated without a pickup")


SETTINGS_RISK_FIX = {
    SettingsRiskKind.CUTOFF_AFTER_PICKUP: ("sellers:fulfilment", gettext_lazy("Move the cutoff earlier")),
    SettingsRiskKind.ONE_DAY_UNREACHABLE: ("sellers:shipping_template", gettext_lazy("Change the Prime template")),
    SettingsRiskKind.WEEKEND_WITHOUT_PICKUP: ("sellers:carriers", gettext_lazy("Add a carrier pickup")),
}


@dataclass(frozen=True)
class SettingsRisk:
    kind: str
    detail: str
    cost: str  # which orders it already cost, in words
    orders: int
    units: int
    fix_url: str

    @property
    def label(self) -> str:
        return str(SettingsRiskKind(self.kind).label)

    @property
    def fix_label(self) -> str:
        return str(SETTINGS_RISK_FIX[self.kind][1])


def _at_or_after(moment: dt.time) -> Q:
    return Q(local_hour__gt=moment.hour) | Q(local_hour=moment.hour, local_minute__gte=moment.minute)


def _before(moment: dt.time) -> Q:
    return Q(local_hour__lt=moment.hour) | Q(local_hour=moment.hour, local_minute__lt=moment.minute)


def _time(moment: dt.time) -> str:
    return formats.time_format(moment, "TIME_FORMAT")


def settings_risks(*, seller: Seller, day: dt.date, window_days: int) -> list[SettingsRisk]:
    """Settings that predict defects, each with the orders it already cost in the window
    ending on D (as of D, SPEC section 3):

    - an operated day whose cutoff is after its last carrier pickup (``seller_late_cutoffs``):
      orders bought between the pickup and the cutoff are promised to ship that day and miss
      the carrier; cost: the late shipments of orders bought on that weekday in that span
      (before the cutoff when no carrier picks up at all that day);
    - Prime regions promised one-day that none of the seller's carrier services reaches in
      one day: cost: the late deliveries of orders shipped to those states;
    - a weekend day operated with no carrier pickup: cost: the late shipments of orders
      bought on that day.

    Settings in three small queries, the costs in one aggregate over the window's orders.
    """
    found: list[tuple[SettingsRiskKind, str, str, Q]] = []
    for late in seller_late_cutoffs(seller=seller):
        weekday = str(Weekday(late.weekday).label)
        on_that_day = q_shipped_late(day) & Q(local_weekday=late.weekday + 1)
        values = {"weekday": weekday, "cutoff": _time(late.cutoff)}
        if late.last_pickup is None and late.weekday in WEEKEND_DAYS:
            found.append(
                (
                    SettingsRiskKind.WEEKEND_WITHOUT_PICKUP,
                    _("You ship on %(weekday)s, but no carrier picks up that day: its orders wait for the next pickup.")
                    % values,
                    _("Late shipments of orders bought on %(weekday)s") % values,
                    on_that_day,
                )
            )
        elif late.last_pickup is None:
            found.append(
                (
                    SettingsRiskKind.CUTOFF_AFTER_PICKUP,
                    _("Your %(weekday)s cutoff is %(cutoff)s, but no carrier picks up that day.") % values,
                    _("Late shipments of orders bought on %(weekday)s before the cutoff") % values,
                    on_that_day & _before(late.cutoff),
                )
            )
        else:
            values["pickup"] = _time(late.last_pickup)
            found.append(
                (
                    SettingsRiskKind.CUTOFF_AFTER_PICKUP,
                    _(
                        "Your %(weekday)s cutoff is %(cutoff)s, but the last carrier pickup is at %(pickup)s: "
                        "orders bought in between are promised to ship that day and miss the carrier."
                    )
                    % values,
                    _("Late shipments of orders bought on %(weekday)s between %(pickup)s and %(cutoff)s") % values,
                    on_that_day & _at_or_after(late.last_pickup) & _before(late.cutoff),
                )
            )
    one_day_by_carrier = CarrierZone.objects.filter(carrier_service__seller=seller, transit_days=1).values("state")
    unreachable = list(
        PrimeRegion.objects.filter(seller=seller, speed=Speed.ONE_DAY)
        .exclude(state__in=one_day_by_carrier)
        .order_by("state")
        .values_list("state", flat=True)
    )
    if unreachable:
        states = ", ".join(unreachable)
        found.append(
            (
                SettingsRiskKind.ONE_DAY_UNREACHABLE,
                _(
                    "Your Prime template promises one-day delivery to %(states)s, "
                    "which none of your carrier services reaches in one day."
                )
                % {"states": states},
                _("Late deliveries of orders shipped to %(states)s") % {"states": states},
                q_delivered_late(day) & Q(ship_to_state__in=unreachable),
            )
        )
    if not found:
        return []
    sums = {}
    for index, (_kind, _detail, _cost, condition) in enumerate(found):
        sums[f"r{index}_orders"] = Count("pk", filter=condition)
        sums[f"r{index}_units"] = Sum("units", filter=condition, default=0)
    costs = _with_local_purchase_time(
        window_orders(day=day, window_days=window_days, seller_ids=[seller.pk]), seller.zone
    ).aggregate(**sums)
    return [
        SettingsRisk(
            kind=kind.value,
            detail=detail,
            cost=cost,
            orders=costs[f"r{index}_orders"],
            units=costs[f"r{index}_units"],
            fix_url=reverse(SETTINGS_RISK_FIX[kind][0]),
        )
        for index, (kind, detail, cost, _condition) in enumerate(found)
    ]


# ---------------------------------------------------------------------------------------
# Everything above for one seller and window: the dashboard's and the API's insights
# ---------------------------------------------------------------------------------------


@dataclass
class Insights:
    day: dt.date
    window_days: int
    headroom: dict[str, Headroom]
    at_risk: AtRisk
    root_causes: RootCauseSummary | None
    settings_risks: list[SettingsRisk]


# Insights read the seller's orders (six grouped queries, seconds for the largest sellers),
# so they are kept this long, per seller, D, window, snapshot moment, language and latest
# settings change: a new daily run or a settings change shows at once, orders at risk at
# most this late.
INSIGHTS_CACHE_SECONDS = 300


def _insights_cache_key(
    *, seller: Seller, day: dt.date, window_days: int, snapshots: Mapping[str, MetricSnapshot], now: dt.datetime
) -> str:
    computed = max((s.computed_at for s in snapshots.values()), default=None)
    settings_change = latest_audit_entries(seller).values_list("pk", flat=True).first()
    bucket = int(now.timestamp()) // INSIGHTS_CACHE_SECONDS
    stamp = computed.timestamp() if computed else 0
    return f"insights:{seller.pk}:{day.isoformat()}:{window_days}:{stamp}:{get_language()}:{settings_change}:{bucket}"


def seller_insights(
    *,
    seller: Seller,
    day: dt.date,
    window_days: int,
    snapshots: Mapping[str, MetricSnapshot],
    now: dt.datetime | None = None,
) -> Insights:
    """Headroom from D's snapshots of the window; orders at risk now; the root causes of
    the weakest metric; the settings that predict defects. Bounded queries for one seller:
    at-risk 3 (2 on orders), root causes 6 (5 on orders), settings risks 4 (1 on orders);
    then served from the cache (``INSIGHTS_CACHE_SECONDS``) until something they show changes."""
    now = now or django_timezone.now()
    key = _insights_cache_key(seller=seller, day=day, window_days=window_days, snapshots=snapshots, now=now)
    cached = cache.get(key)
    if cached is not None:
        return cached
    headroom = {name: snapshot_headroom(snapshots[name]) for name in METRICS if name in snapshots}
    weakest = weakest_metric(headroom)
    insights = Insights(
        day=day,
        window_days=window_days,
        headroom=headroom,
        at_risk=orders_at_risk(seller=seller, day=day, window_days=window_days, snapshots=snapshots, now=now),
        root_causes=root_cause_summary(seller=seller, day=day, window_days=window_days, metric=weakest)
        if weakest
        else None,
        settings_risks=settings_risks(seller=seller, day=day, window_days=window_days),
    )
    cache.set(key, insights, INSIGHTS_CACHE_SECONDS)
    return insights


# ---------------------------------------------------------------------------------------
# Reconciliation: the orders behind a metric's population units
# ---------------------------------------------------------------------------------------


def metric_population_orders(*, seller: Seller, day: dt.date, window_days: int, metric: str) -> QuerySet[Order]:
    """The orders behind one metric's population units (SPEC section 3): the seller's Prime
    orders in the window in the metric's population as of D, by the rules the snapshots are
    counted with, so their units sum to the snapshot's population units. Each is annotated
    with ``is_defect`` (one of the metric's defect units) and its first scan and delivery
    dates as of D (empty when after D), oldest first."""
    rule = METRIC_RULES[metric]
    return (
        window_orders(day=day, window_days=window_days, seller_ids=[seller.pk])
        .filter(rule.population(day))
        .annotate(
            is_defect=Case(
                When(rule.defects(day), then=Value(True)), default=Value(False), output_field=BooleanField()
            ),
            **dates_as_of(day),
        )
        .order_by("purchased_at", "order_id")
    )


POPULATION_HEADER = (*ORDER_COLUMNS, "defect")
_POPULATION_FIELDS = (*ORDER_VALUE_FIELDS, "is_defect")


def population_csv_chunks(*, seller: Seller, day: dt.date, window_days: int, metric: str) -> Iterator[str]:
    """The population orders as CSV, written and streamed like the defect report
    (``metrics.report``); ``X`` in ``defect`` for the metric's defect units."""
    rows = metric_population_orders(seller=seller, day=day, window_days=window_days, metric=metric)
    return csv_chunks(rows, _POPULATION_FIELDS, header=POPULATION_HEADER)
