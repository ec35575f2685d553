"""Reads for performance: metric counts, defect report rows, thresholds, requirement checks.

Everything here aggregates in the database, for all requested sellers in one query per
concern; nothing loops over orders in Python.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from django.db import connection
from django.db.models import Case, Count, DateField, Exists, F, OuterRef, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce

from metrics import sql as statements
from metrics.definitions import (
    METRIC_DEFINITIONS,
    METRIC_RULES,
    METRICS,
    REPORT_FLAGS,
    WINDOWS,
    q_delivered,
    q_protected_late,
    q_shipped,
    snapshot_column,
)
from metrics.models import DailySnapshot, MetricSnapshot, PlanOfAction, ThresholdChange
from sellers.choices import CONTIGUOUS_REGIONS, WEEKDAYS, WEEKEND_DAYS, Speed
from sellers.models import AuditEntry, CarrierPickup, OperatingDay, Order, PrimeRegion, Seller, SellerEvent

WEEKDAY_MIN_CUTOFF = dt.time(14, 0)
WEEKEND_MIN_CUTOFF = dt.time(10, 30)


class Counts(NamedTuple):
    population: int = 0
    defects: int = 0
    protected: int = 0


def window_start(day: dt.date, window_days: int) -> dt.date:
    return day - dt.timedelta(days=window_days - 1)


def reinstatements_as_of(day: dt.date) -> QuerySet[SellerEvent]:
    """Reinstatements at or before the end of D in their seller's zone (SPEC section 4): a
    reinstatement after D has not happened as of D."""
    return SellerEvent.objects.filter(kind=SellerEvent.Kind.REINSTATED, day__lte=day)


def window_orders(*, day: dt.date, window_days: int, seller_ids: Sequence[int] | None = None) -> QuerySet[Order]:
    """Prime orders whose local purchase date is in [D-W+1, D], purchased at or after their
    seller's *evaluation start as of D* (SPEC sections 3, 4): the moment of the latest
    reinstatement at or before the end of D, else the start of ``enrolled_on``.

    "Purchased before the latest such reinstatement" is "some reinstatement as of D came
    after the purchase": an anti-join with the few reinstatements, not a lookup per order.
    Each reinstatement is kept in the status history, so a later one never changes an
    earlier D, and D's numbers and the report behind them stay the same whenever they are
    recomputed or viewed."""
    later_reinstatement = reinstatements_as_of(day).filter(
        seller_id=OuterRef("seller_id"), created_at__gt=OuterRef("purchased_at")
    )
    orders = Order.objects.filter(
        ~Exists(later_reinstatement),
        is_prime=True,
        purchase_date__range=(window_start(day, window_days), day),
        purchase_date__gte=F("seller__enrolled_on"),
    )
    if seller_ids is not None:
        orders = orders.filter(seller_id__in=list(seller_ids))
    return orders


def _units(condition: Q) -> Coalesce:
    return Coalesce(Sum("units", filter=condition), Value(0))


def metric_count_rows(*, day: dt.date, seller_ids: Sequence[int] | None = None) -> QuerySet:
    """One row per seller with orders in the longest window: the population, defect and
    protected units of every metric for both windows (columns named by ``snapshot_column``),
    as one aggregate query whose conditional sums PostgreSQL runs as ``SUM(...) FILTER``."""
    longest = max(WINDOWS)
    annotations = {}
    for window_days in WINDOWS:
        in_window = Q(purchase_date__gte=window_start(day, window_days))
        for name, rule in METRIC_RULES.items():
            population = in_window & rule.population(day)
            annotations[snapshot_column(name, window_days, "population")] = _units(population)
            annotations[snapshot_column(name, window_days, "defects")] = _units(population & rule.defects(day))
        annotations[snapshot_column("on_time_delivery_rate", window_days, "protected")] = _units(
            in_window & q_protected_late(day)
        )
    return (
        window_orders(day=day, window_days=longest, seller_ids=seller_ids)
        .values("seller_id")
        .annotate(**annotations)
        .order_by()
    )


def metric_counts(*, day: dt.date, seller_ids: Sequence[int] | None = None) -> dict[tuple[int, int], dict[str, Counts]]:
    """Population, defect and protected units of every metric, for both windows, for every
    requested seller (all sellers when ``seller_ids`` is None), from ``metric_count_rows``."""
    rows = metric_count_rows(day=day, seller_ids=seller_ids)
    if seller_ids is None:
        seller_ids = list(Seller.objects.values_list("pk", flat=True))
    result: dict[tuple[int, int], dict[str, Counts]] = {
        (seller_id, w): {name: Counts() for name in METRICS} for seller_id in seller_ids for w in WINDOWS
    }
    for row in rows:
        for window_days in WINDOWS:
            result[(row["seller_id"], window_days)] = {
                name: Counts(
                    population=row[snapshot_column(name, window_days, "population")],
                    defects=row[snapshot_column(name, window_days, "defects")],
                    protected=row.get(snapshot_column(name, window_days, "protected"), 0),
                )
                for name in METRICS
            }
    return result


def _report_flags(day: dt.date) -> dict[str, Case]:
    """One boolean per report column (SPEC section 5), from the SQL half of each rule."""
    return {
        name: Case(When(rule(day), then=Value(True)), default=Value(False))
        for name, (_l, rule, _p) in REPORT_FLAGS.items()
    }


def defect_orders(*, seller: Seller, day: dt.date, window_days: int) -> QuerySet[Order]:
    """The seller's Prime orders in the window with at least one defect flag as of D,
    annotated with one boolean per report column (SPEC section 5), oldest first."""
    any_flag = Q()
    for _label, rule, _py in REPORT_FLAGS.values():
        any_flag |= rule(day)
    return (
        window_orders(day=day, window_days=window_days, seller_ids=[seller.pk])
        .filter(any_flag)
        .annotate(**_report_flags(day))
        .order_by("purchased_at", "order_id")
    )


def metric_defect_orders(*, seller: Seller, day: dt.date, window_days: int, metric: str) -> QuerySet[Order]:
    """The orders behind one metric's defect units (SPEC section 3): the seller's Prime orders
    in the window in the metric's population and defects as of D, by the same rules of
    ``METRIC_RULES`` the snapshots are counted with, so their units sum to the snapshot's
    defect units. Annotated with the report flags (SPEC section 5), oldest first.

    The delivery-speed metrics count orders the report has no column for (a slow promise is
    not a fulfilment defect), so their orders may carry no flag."""
    return (
        metric_defects(seller=seller, day=day, window_days=window_days, metric=metric)
        .annotate(**_report_flags(day))
        .order_by("purchased_at", "order_id")
    )


def metric_defects(*, seller: Seller, day: dt.date, window_days: int, metric: str) -> QuerySet[Order]:
    """The seller's orders that are defect units of ``metric`` in the window as of D (SPEC
    section 3), unordered and unannotated: the base the drill-downs and breakdowns group."""
    rule = METRIC_RULES[metric]
    return window_orders(day=day, window_days=window_days, seller_ids=[seller.pk]).filter(
        rule.population(day) & rule.defects(day)
    )


def filtered_defect_orders(
    *, seller: Seller, day: dt.date, window_days: int, flag: str | None = None, metric: str | None = None
) -> QuerySet[Order]:
    """The defect view's orders (SPEC section 5): the report's rows, or one metric's defect
    orders when ``metric`` is given, narrowed to the orders with ``flag`` when given."""
    if metric is not None:
        orders = metric_defect_orders(seller=seller, day=day, window_days=window_days, metric=metric)
    else:
        orders = defect_orders(seller=seller, day=day, window_days=window_days)
    if flag is not None:
        orders = orders.filter(REPORT_FLAGS[flag][1](day))
    return orders


# The annotations of ``dates_as_of``: an order's first scan and delivery dates as of D.
FIRST_SCAN_AS_OF_D = "first_scan_date_as_of_d"
DELIVERY_AS_OF_D = "delivery_date_as_of_d"
# The fields of the columns that describe an order (SPEC section 5), in column order: the
# defect report's and the population download's, before their flag columns.
ORDER_VALUE_FIELDS = (
    "order_id",
    "purchase_date",
    "units",
    "promised_ship_date",
    FIRST_SCAN_AS_OF_D,
    "promised_delivery_date",
    DELIVERY_AS_OF_D,
    "carrier",
    "tracking_id",
)
# The report's columns (SPEC section 5) as ``defect_report_values`` selects them.
REPORT_VALUE_FIELDS = (*ORDER_VALUE_FIELDS, *REPORT_FLAGS)


def defect_report_values(*, seller: Seller, day: dt.date, window_days: int) -> QuerySet[tuple]:
    """The defect report's rows (SPEC section 5) as tuples in column order: the rows of
    ``defect_orders``, with the first scan and delivery dates empty (NULL) when absent or
    after D, since a fact after D has not happened yet as of D (SPEC section 3), as the
    flags judge it."""
    return (
        defect_orders(seller=seller, day=day, window_days=window_days)
        .annotate(**dates_as_of(day))
        .values_list(*REPORT_VALUE_FIELDS)
    )


def dates_as_of(day: dt.date) -> dict[str, Case]:
    """Annotations of an order's first scan and delivery dates as known at the end of D
    (``FIRST_SCAN_AS_OF_D``, ``DELIVERY_AS_OF_D``): empty (NULL) when absent or after D
    (SPEC section 3), as the flags judge them."""
    return {
        FIRST_SCAN_AS_OF_D: Case(
            When(q_shipped(day), then=F("first_scan_date")), default=Value(None), output_field=DateField()
        ),
        DELIVERY_AS_OF_D: Case(
            When(q_delivered(day), then=F("delivered_date")), default=Value(None), output_field=DateField()
        ),
    }


def defect_report_rows(*, seller: Seller, day: dt.date, window_days: int) -> Iterable[dict]:
    fields = ["order_id", "units", *REPORT_FLAGS]
    return defect_orders(seller=seller, day=day, window_days=window_days).values(*fields)


def order_flags(order: Order, day: dt.date) -> dict[str, bool]:
    """The report flags of one order as of D, from the Python half of each rule."""
    return {name: py_rule(order, day) for name, (_label, _q, py_rule) in REPORT_FLAGS.items()}


def thresholds_in_force(day: dt.date) -> dict[str, Decimal]:
    """Each metric's threshold in force on D (SPEC section 3): the latest change effective on
    or before D, else the programme's default. Of two changes effective the same day, the
    later one holds."""
    values = {name: d.default_threshold for name, d in METRIC_DEFINITIONS.items()}
    changes = ThresholdChange.objects.filter(effective_from__lte=day).order_by(
        "metric", "effective_from", "changed_at", "id"
    )
    values.update(changes.values_list("metric", "new_value"))  # the last of each metric wins
    return values


def seller_reinstated_at(*, seller: Seller, day: dt.date | None = None) -> dt.datetime | None:
    """The moment of the seller's latest reinstatement (as of D when given), if any."""
    reinstatements = SellerEvent.objects.filter(seller=seller, kind=SellerEvent.Kind.REINSTATED)
    if day is not None:
        reinstatements = reinstatements.filter(day__lte=day)
    return reinstatements.order_by("-created_at", "-id").values_list("created_at", flat=True).first()


def seller_evaluation_start(*, seller: Seller, day: dt.date) -> dt.datetime:
    """The seller's evaluation start as of D (SPEC section 4): the moment of the latest
    reinstatement at or before the end of D, else the start of ``enrolled_on``."""
    return seller_reinstated_at(seller=seller, day=day) or seller.enrolment_start


def seller_snapshots(*, seller: Seller, day: dt.date, window_days: int) -> QuerySet[MetricSnapshot]:
    return MetricSnapshot.objects.filter(seller=seller, day=day, window_days=window_days)


def seller_latest_day(*, seller: Seller) -> dt.date | None:
    return DailySnapshot.objects.filter(seller=seller).order_by("-day").values_list("day", flat=True).first()


def latest_audit_entries(seller) -> QuerySet[AuditEntry]:
    """The seller's audit entries, latest first, in the order of their (seller, created_at)
    index; ``seller`` may be an ``OuterRef``. Every settings, status and plan change is one."""
    return AuditEntry.objects.filter(seller=seller).order_by("-created_at", "-id")


class DashboardState(NamedTuple):
    """What decides the seller's dashboard besides the seller row and the clock."""

    day: dt.date | None  # the latest evaluated day
    computed_at: dt.datetime | None  # when that day's snapshots were last written
    audit_entry: int | None  # the latest audit entry: settings, status and plan changes


def seller_dashboard_state(*, seller: Seller) -> DashboardState:
    """One query, each part a short scan of an index: the latest day and when its snapshots
    were written (the unique key's (seller, day) prefix), and the latest audit entry (in
    ``latest_audit_entries`` order, by its (seller, created_at) index).

    Plain SQL because every dashboard view runs it, cached or not: the ORM took 1 ms to
    compile its three subqueries for a query the database answers in 0.1 ms.

    A rerun of an older day alone does not show in it: the dashboard's five-minute bucket
    bounds how long its trend point stays old."""
    with connection.cursor() as cursor:
        cursor.execute(statements.DASHBOARD_STATE, {"seller": seller.pk})
        return DashboardState(*cursor.fetchone())


def seller_events(*, seller: Seller) -> QuerySet[SellerEvent]:
    return SellerEvent.objects.filter(seller=seller).select_related("actor")


def seller_latest_revocation(*, seller: Seller) -> SellerEvent | None:
    """The seller's latest revocation: its reasons say why the badge is off (SPEC section 4)."""
    revocations = SellerEvent.objects.filter(seller=seller, kind=SellerEvent.Kind.REVOKED)
    return revocations.order_by("-created_at", "-id").first()


TREND_DAYS = 90


def seller_trend(*, seller: Seller, day: dt.date, window_days: int, days: int = TREND_DAYS) -> QuerySet[MetricSnapshot]:
    """Every metric's snapshots of one window over the ``days`` days ending on D (SPEC
    sections 3 and 6, the dashboard's trend), in one query, by metric then day."""
    return MetricSnapshot.objects.filter(
        seller=seller, window_days=window_days, day__range=(day - dt.timedelta(days=days - 1), day)
    ).order_by("metric", "day")


# ---------------------------------------------------------------------------------------
# Programme requirements checked from settings (SPEC section 2)
# ---------------------------------------------------------------------------------------

REQUIREMENTS = (
    "nationwide_coverage",
    "weekday_cutoff",
    "weekend_cutoff",
    "weekend_operations",
    "weekend_delivery",
    "carrier_pickups",
)
# A failing warning is shown but never revokes (SPEC section 2).
WARNING_REQUIREMENTS = frozenset({"carrier_pickups"})


@dataclass
class Requirements:
    """One seller's requirement checks, with the facts behind each."""

    passing: dict[str, bool] = field(default_factory=dict)
    covered_regions: int = 0
    one_day_regions: int = 0
    two_day_regions: int = 0
    early_weekday_cutoffs: list[int] = field(default_factory=list)
    early_weekend_cutoffs: list[int] = field(default_factory=list)
    days_without_pickup: list[int] = field(default_factory=list)

    @property
    def failing(self) -> list[str]:
        return [name for name in REQUIREMENTS if not self.passing[name] and name not in WARNING_REQUIREMENTS]

    @property
    def warnings(self) -> list[str]:
        return [name for name in REQUIREMENTS if not self.passing[name] and name in WARNING_REQUIREMENTS]


def requirements_for_sellers(*, seller_ids: Sequence[int] | None = None) -> dict[int, Requirements]:
    """Every requirement of SPEC section 2 for the requested sellers, in four aggregate queries."""
    sellers = Seller.objects.all()
    if seller_ids is not None:
        sellers = sellers.filter(pk__in=list(seller_ids))
    result = {pk: Requirements() for (pk,) in sellers.values_list("pk")}
    by_seller = {"seller_id__in": list(result)} if seller_ids is not None else {}

    regions = (
        PrimeRegion.objects.filter(state__in=CONTIGUOUS_REGIONS, **by_seller)
        .values("seller_id")
        .annotate(
            covered=Count("pk", filter=Q(speed__in=[Speed.ONE_DAY, Speed.TWO_DAY])),
            one_day=Count("pk", filter=Q(speed=Speed.ONE_DAY)),
            two_day=Count("pk", filter=Q(speed=Speed.TWO_DAY)),
        )
        .order_by()
    )
    for row in regions:
        r = result[row["seller_id"]]
        r.covered_regions, r.one_day_regions, r.two_day_regions = row["covered"], row["one_day"], row["two_day"]

    pickup_at_or_after_cutoff = CarrierPickup.objects.filter(
        carrier_service__seller_id=OuterRef("seller_id"),
        weekday=OuterRef("weekday"),
        pickup_time__gte=OuterRef("cutoff"),
    )
    # Only the days operated matter; a day not operated has no cutoff or pickup to check.
    days = (
        OperatingDay.objects.filter(operated=True, **by_seller)
        .annotate(has_pickup=Exists(pickup_at_or_after_cutoff))
        .values_list("seller_id", "weekday", "cutoff", "has_pickup")
        .order_by("seller_id", "weekday")
    )
    operated: dict[int, set[int]] = {pk: set() for pk in result}
    for seller_id, weekday, cutoff, has_pickup in days:  # at most seven rows a seller
        r = result[seller_id]
        operated[seller_id].add(weekday)
        if weekday in WEEKDAYS and (cutoff is None or cutoff < WEEKDAY_MIN_CUTOFF):
            r.early_weekday_cutoffs.append(weekday)
        if weekday in WEEKEND_DAYS and (cutoff is None or cutoff < WEEKEND_MIN_CUTOFF):
            r.early_weekend_cutoffs.append(weekday)
        if cutoff is None or not has_pickup:
            r.days_without_pickup.append(weekday)

    weekend_delivery = dict(sellers.values_list("pk", "weekend_delivery"))
    for pk, r in result.items():
        days_operated = operated[pk]
        r.passing = {
            "nationwide_coverage": r.covered_regions == len(CONTIGUOUS_REGIONS),
            "weekday_cutoff": not r.early_weekday_cutoffs,
            "weekend_cutoff": not r.early_weekend_cutoffs,
            "weekend_operations": set(WEEKDAYS) <= days_operated and bool(days_operated & set(WEEKEND_DAYS)),
            "weekend_delivery": weekend_delivery[pk],
            "carrier_pickups": not r.days_without_pickup,
        }
    return result


def seller_requirements(*, seller: Seller) -> Requirements:
    return requirements_for_sellers(seller_ids=[seller.pk])[seller.pk]


# ---------------------------------------------------------------------------------------
# Plans of action (SPEC section 4)
# ---------------------------------------------------------------------------------------


def seller_open_plan(*, seller: Seller) -> PlanOfAction | None:
    """The seller's plan under review, if any (at most one, by constraint)."""
    return PlanOfAction.objects.filter(seller=seller, status=PlanOfAction.Status.SUBMITTED).first()


def seller_plans(*, seller: Seller) -> QuerySet[PlanOfAction]:
    return PlanOfAction.objects.filter(seller=seller).select_related("submitted_by", "decided_by")


def plans_review_queue() -> QuerySet[PlanOfAction]:
    """Submitted plans, oldest first: the reviewers' queue."""
    return (
        PlanOfAction.objects.filter(status=PlanOfAction.Status.SUBMITTED)
        .select_related("seller", "submitted_by")
        .order_by("submitted_at", "pk")
    )


def seller_latest_snapshots(*, seller: Seller) -> dict[int, list[MetricSnapshot]]:
    """The seller's snapshots of its latest computed D, by window, in metric order."""
    day = seller_latest_day(seller=seller)
    by_window: dict[int, list[MetricSnapshot]] = {w: [] for w in WINDOWS}
    if day is None:
        return by_window
    order = {name: i for i, name in enumerate(METRICS)}
    for snapshot in MetricSnapshot.objects.filter(seller=seller, day=day):
        by_window[snapshot.window_days].append(snapshot)
    for snapshots in by_window.values():
        snapshots.sort(key=lambda s: order[s.metric])
    return by_window
