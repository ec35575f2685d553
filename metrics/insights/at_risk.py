"""Orders at risk (SPEC section 8): orders not decided yet that become defects if they go
wrong, with their deadlines in the seller's time zone, and the rates of D's window if they
all do."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from django.db.models import Case, CharField, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from metrics import sql as statements
from metrics.definitions import (
    METRIC_DEFINITIONS,
    METRIC_RULES,
    MetricDefinition,
    q_not_cancelled,
    q_not_delivered,
    q_not_shipped,
    q_protected_late,
    q_shipped,
    q_shipped_late,
)
from metrics.models import MetricSnapshot
from metrics.selectors import window_orders
from portal.routers import read_connection
from sellers.models import Order, Seller
from sellers.selectors import seller_last_pickups

AT_RISK_LIMIT = 50
ON_TIME_SHIPMENT = "on_time_shipment_rate"
ON_TIME_DELIVERY = "on_time_delivery_rate"


class RiskKind(StrEnum):
    """What can still go wrong with an order (``metrics.presenters.insights`` words each)."""

    SHIPPED_LATE_IN_TRANSIT = "shipped_late_in_transit"
    NOT_SCANNED_OVERDUE = "not_scanned_overdue"
    NOT_SCANNED_SHIP_TODAY = "not_scanned_ship_today"
    DUE_TODAY = "due_today"


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


def _undecided(today: dt.date) -> Q:
    """Not decided yet as of ``today``: not cancelled, not delivered, and its promised
    delivery date not passed (else it is late already). Every risk is of such an order."""
    return q_not_cancelled(today) & q_not_delivered(today) & Q(promised_delivery_date__gte=today)


def _risk(today: dt.date) -> Case:
    """The kind of risk an order runs as of ``today`` (the seller's local date now), or ""
    when it has none: decided already (``_undecided``) or not close to a defect. The first
    kind that applies wins, so each order is listed once."""
    undecided = _undecided(today)
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
    evaluation start) that run a risk, annotated with ``risk``, soonest deadline first.

    The (seller, purchase_date) index finds the window's orders; ``_undecided`` as plain
    comparisons of their columns, tested before ``risk``'s expression, leaves the few not
    delivered or cancelled yet (the last days' orders) for it to classify."""
    return (
        window_orders(day=today, window_days=window_days, seller_ids=[seller.pk])
        .filter(_undecided(today))
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
    # The deadline has passed (e.g. today's last pickup left without it): shown as missed,
    # not as still open.
    missed: bool = False

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
    # D's units excused by approved incidents (SPEC section 7), not counted, as in the snapshot.
    excused: int = 0

    @property
    def definition(self) -> MetricDefinition:
        return METRIC_DEFINITIONS[self.metric]

    @property
    def counted(self) -> int:
        """The defect units that count against the seller: protected and excused ones do not."""
        return self.defects - self.protected - self.excused

    @property
    def rate(self) -> Fraction | None:
        """The rate that decides if they all go wrong (protected and excused units not
        counted, as ``passing`` judges), so the rate read beside the threshold agrees with
        the verdict."""
        return self.definition.eligibility_rate(
            population=self.population, defects=self.defects, protected=self.protected, excused=self.excused
        )

    @property
    def passing(self) -> bool:
        return self.definition.passes(
            population=self.population,
            defects=self.defects,
            protected=self.protected,
            excused=self.excused,
            threshold=self.threshold,
        )


@dataclass
class AtRisk:
    today: dt.date
    orders: list[AtRiskOrder] = field(default_factory=list)
    count: int = 0
    units: int = 0
    by_kind: list[tuple[str, int, int]] = field(default_factory=list)  # kind, orders, units
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


def _totals(orders: QuerySet[Order], *, day: dt.date, today: dt.date) -> dict[str, int]:
    """The at-risk ``orders``' counts and units, by kind and for the projection: one query,
    each order's risk and flags as of D computed once (``metrics.sql.at_risk_totals``)."""
    shipment, delivery = METRIC_RULES[ON_TIME_SHIPMENT], METRIC_RULES[ON_TIME_DELIVERY]
    flags = {
        "shipment_population_d": _as_flag(shipment.population(day)),
        "shipment_defect_d": _as_flag(shipment.population(day) & shipment.defects(day)),
        "delivery_population_d": _as_flag(delivery.population(day)),
        "delivery_defect_d": _as_flag(delivery.population(day) & delivery.defects(day)),
        "delivery_protected_d": _as_flag(q_protected_late(day)),
        "shipped_today": _as_flag(q_shipped(today)),
    }
    rows = orders.annotate(**flags).values("units", "risk", "buy_shipping", *flags).order_by()
    threatened: dict[str, list[object]] = {"risk": [str(kind) for kind in SHIPMENT_RISKS]}
    counts: dict[str, dict[str, list[object]]] = {
        "orders": {},
        **{f"{kind}__orders": {"risk": [kind.value]} for kind in RiskKind},
    }
    sums: dict[str, dict[str, list[object]]] = {
        "total_units": {},
        "shipment_threatened": threatened,
        "shipment_population": {**threatened, "shipment_population_d": [0]},
        "shipment_defects": {**threatened, "shipment_defect_d": [0]},
        "delivery_population": {"delivery_population_d": [0]},
        "delivery_defects": {"delivery_defect_d": [0]},
        "delivery_protected": {"delivery_protected_d": [0], "buy_shipping": [True], "shipped_today": [1]},
        **{f"{kind}__units": {"risk": [kind.value]} for kind in RiskKind},
    }
    query, params = rows.query.sql_with_params()
    with read_connection(Order).cursor() as cursor:
        cursor.execute(statements.at_risk_totals(query, counts=counts, sums=sums), params)
        names = [column.name for column in cursor.description]
        return dict(zip(names, cursor.fetchone(), strict=True))


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

    "Today" is the seller's local date at ``now``. Two queries on the orders: one aggregate
    with the counts and the projection's sums (``_totals``), and the listed orders when some.

    The projection, for each metric some at-risk order threatens (``RISK_METRICS``), is D's
    snapshot with every such order counted as a defect:
    population = snapshot population + at-risk units outside that population as of D;
    defects = snapshot defects + at-risk units not among those defects as of D;
    protected = snapshot protected + at-risk units already shipped on a Buy Shipping label
    (on-time delivery only; an order not scanned yet is counted unprotected, the worst case);
    excused = snapshot excused (SPEC section 7): an at-risk order is not a defect as of D, so
    none of D's excused units is among them, and one going wrong is counted, the worst case.
    "As of D" uses the metric's own rules (``METRIC_RULES``), so no unit is counted twice.
    D's window is not moved: orders leaving it tomorrow stay, so this is the worst case on
    the window the seller sees now, compared with D's threshold exactly.
    """
    zone = seller.zone
    now = now or timezone.now()
    today = now.astimezone(zone).date()
    result = AtRisk(today=today)
    orders = at_risk_orders(seller=seller, today=today, window_days=window_days)
    totals = _totals(orders, day=day, today=today)
    result.count, result.units = totals["orders"], totals["total_units"]
    if not result.count:
        return result
    result.by_kind = [
        (kind.value, totals[f"{kind}__orders"], totals[f"{kind}__units"])
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
                missed=deadline < now,
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
            excused=snapshot.excused_units,
            threshold=snapshot.threshold,
        )
    return result
