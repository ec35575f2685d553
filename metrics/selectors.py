"""Reads for performance: metric counts, defect report rows, thresholds, plans of action.

Everything here aggregates in the database, for all requested sellers in one query per
concern; nothing loops over orders in Python.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import reduce
from operator import or_
from typing import NamedTuple

from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    DateField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from metrics import sql as statements
from metrics.definitions import (
    METRIC_DEFINITIONS,
    METRIC_RULES,
    METRICS,
    REPORT_FLAGS,
    TREND_DAYS,
    WINDOWS,
    q_delivered,
    q_protected_late,
    q_shipped,
    snapshot_column,
)
from metrics.incidents import (
    EXCUSABLE_METRICS,
    EXCUSAL_DATES,
    INCIDENT_MAX_AGE_DAYS,
    IncidentScope,
    approved_as_of,
    covering_incidents,
    q_covered_defects,
    q_excused,
    q_would_excuse,
)
from metrics.models import DailySnapshot, Incident, MetricSnapshot, PlanOfAction, ThresholdChange
from metrics.reasons import IncidentReason, MetricReason, RevocationReason, revocation_reasons_from_json
from portal.routers import read_connection
from sellers.choices import ProgrammeStatus
from sellers.models import AuditEntry, CarrierService, Order, Seller, SellerEvent, User

# The permission of programme staff who review plans of action (``can_review_plans``).
REVIEW_PERMISSION = "metrics.review_plan"


class Counts(NamedTuple):
    population: int = 0
    defects: int = 0
    protected: int = 0
    excused: int = 0


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


def _conjuncts(condition: Q) -> list[object]:
    """The conditions ``condition`` ANDs together (lookups, or Q objects that are not a plain
    AND), nested ANDs flattened."""
    if condition.connector != Q.AND or condition.negated:
        return [condition]
    parts: list[object] = []
    for child in condition.children:
        parts.extend(_conjuncts(child) if isinstance(child, Q) else [child])
    return parts


def _conjunction(*conditions: Q) -> Q:
    """``conditions`` ANDed, each distinct condition once, in the order given. A rule's
    defects restate its population's conditions (delivered late is due, shipped late is
    shipped), and the aggregate evaluates every repetition again for each order of the
    window; so does the order in which they come: the rarely true first, and PostgreSQL
    stops at the first false."""
    distinct: list[object] = []
    for condition in conditions:
        for part in _conjuncts(condition):
            if part not in distinct:
                distinct.append(part)
    return Q(*distinct)


def _within_longest(day: dt.date, window_days: int) -> Q:
    """The bound a window of ``window_days`` adds to orders already of the longest window
    (``window_orders`` of ``max(WINDOWS)``): none for the longest itself."""
    return Q() if window_days == max(WINDOWS) else Q(purchase_date__gte=window_start(day, window_days))


def _metric_units(*, day: dt.date, window_days: int, metric: str, excused: bool) -> dict[str, Coalesce]:
    """The unit sums of one metric and window as of D, named by ``snapshot_column``: its
    population and defect units, its protected units when Buy Shipping protects it, and with
    ``excused`` its excused units when an incident can excuse it (the columns left out are 0).
    The one home of these sums: the daily run's counts and an incident's effect use it, both
    over the orders of the longest window (``window_orders``), so only a shorter window adds
    its own bound.

    Each sum's conditions come window first, then what is rarely true (a defect, a protected
    or excused unit), then the population (``_conjunction``): the counts read every order of
    the longest window once per sum, and this is the order in which most orders leave each
    sum soonest."""
    rule = METRIC_RULES[metric]
    in_window = _within_longest(day, window_days)
    population = rule.population(day)
    sums = {
        snapshot_column(metric, window_days, "population"): _units(_conjunction(in_window, population)),
        snapshot_column(metric, window_days, "defects"): _units(_conjunction(in_window, rule.defects(day), population)),
    }
    if METRIC_DEFINITIONS[metric].buy_shipping_protection:
        sums[snapshot_column(metric, window_days, "protected")] = _units(_conjunction(in_window, q_protected_late(day)))
    if excused and metric in EXCUSABLE_METRICS:
        sums[snapshot_column(metric, window_days, "excused")] = _units(
            _conjunction(in_window, q_excused(metric, day), population)
        )
    return sums


def incidents_excuse_as_of(*, day: dt.date, seller_ids: Sequence[int] | None = None) -> bool:
    """Whether some incident of the sellers (all when None) counts as of D for a metric it
    can excuse (SPEC section 7): approved by the end of D in its seller's zone. When none
    does, nothing is excused on D and the daily run need not count excused units."""
    incidents = Incident.objects.filter(approved_as_of(day), excused_metrics__overlap=list(EXCUSABLE_METRICS))
    if seller_ids is not None:
        incidents = incidents.filter(seller_id__in=list(seller_ids))
    return incidents.exists()


def metric_count_rows(*, day: dt.date, seller_ids: Sequence[int] | None = None) -> QuerySet:
    """One row per seller with orders in the longest window: the population, defect,
    protected and excused units of every metric for both windows (columns named by
    ``snapshot_column``), as one aggregate query whose conditional sums PostgreSQL runs as
    ``SUM(...) FILTER``.

    Protected units are counted for the metrics with Buy Shipping protection only, excused
    units (SPEC section 7) for the metrics an incident can excuse and only when some incident
    of the sellers counts as of D (``incidents_excuse_as_of``, one indexed EXISTS first): a
    day without incidents runs the same query as before incidents existed. The columns left
    out are 0."""
    longest = max(WINDOWS)
    excusals = incidents_excuse_as_of(day=day, seller_ids=seller_ids)
    annotations: dict[str, Coalesce] = {}
    for window_days in WINDOWS:
        for name in METRIC_RULES:
            annotations |= _metric_units(day=day, window_days=window_days, metric=name, excused=excusals)
    return (
        window_orders(day=day, window_days=longest, seller_ids=seller_ids)
        .values("seller_id")
        .annotate(**annotations)
        .order_by()
    )


def metric_counts(*, day: dt.date, seller_ids: Sequence[int] | None = None) -> dict[tuple[int, int], dict[str, Counts]]:
    """Population, defect, protected and excused units of every metric, for both windows, for
    every requested seller (all sellers when ``seller_ids`` is None), from ``metric_count_rows``."""
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
                    excused=row.get(snapshot_column(name, window_days, "excused"), 0),
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


def defect_orders_units(orders: QuerySet[Order], *, day: dt.date, excused_for: str | None) -> tuple[int, int]:
    """The units of the defect view's ``orders``, and of them the units approved incidents
    excuse as of D for the metric ``excused_for`` (SPEC section 7): what the dashboard's card
    counts as the metric's defect and excused units. An excusal is per metric, so without
    one (or for a metric no incident excuses) the second is 0."""
    excused = (
        {"excused_units": Sum("units", filter=q_excused(excused_for, day), default=0)}
        if excused_for in EXCUSABLE_METRICS
        else {}
    )
    totals = orders.aggregate(total_units=Sum("units", default=0), **excused)
    return totals["total_units"], totals.get("excused_units", 0)


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


def defect_report_values(*, seller: Seller, day: dt.date, window_days: int) -> QuerySet[Order, tuple[object, ...]]:
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


def seller_reinstated_on(*, seller: Seller) -> dt.date | None:
    """The local date of the seller's latest reinstatement, if any: the first day whose
    figures count orders purchased since it."""
    return seller.local_date(seller_reinstated_at(seller=seller))


def answered_by_reinstatement(day: dt.date | None, reinstated_on: dt.date | None) -> bool:
    """D ended before the seller's latest reinstatement (``seller_reinstated_on``): its figures
    were answered by it, so they put the seller neither at risk nor on a checklist (SPEC
    sections 4 and 8). The dashboard and the JSON status ask this; the daily run's SQL half
    is ``metrics.sql._seller_at_risk``."""
    return day is not None and reinstated_on is not None and day < reinstated_on


def seller_evaluation_start(*, seller: Seller, day: dt.date) -> dt.datetime:
    """The seller's evaluation start as of D (SPEC section 4): the moment of the latest
    reinstatement at or before the end of D, else the start of ``enrolled_on``; never before
    enrolment (``window_orders`` applies both bounds)."""
    reinstated_at = seller_reinstated_at(seller=seller, day=day)
    return max(reinstated_at, seller.enrolment_start) if reinstated_at else seller.enrolment_start


def seller_snapshots(*, seller: Seller, day: dt.date, window_days: int) -> QuerySet[MetricSnapshot]:
    return MetricSnapshot.objects.filter(seller=seller, day=day, window_days=window_days)


def seller_day_snapshots(*, seller: Seller, day: dt.date) -> dict[tuple[int, str], MetricSnapshot]:
    """D's snapshots of both windows, by (window, metric): what the at-risk verdict of SPEC
    section 8 reads (some metric at risk in either window)."""
    return {
        (s.window_days, s.metric): s
        for s in MetricSnapshot.objects.filter(seller=seller, day=day).order_by("window_days", "metric")
    }


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
    # From where the page reads (portal.routers): the state must describe what it shows.
    with read_connection(DailySnapshot).cursor() as cursor:
        cursor.execute(statements.DASHBOARD_STATE, {"seller": seller.pk})
        return DashboardState(*cursor.fetchone())


def seller_events(*, seller: Seller) -> QuerySet[SellerEvent]:
    return SellerEvent.objects.filter(seller=seller).select_related("actor")


def seller_latest_revocation(*, seller: Seller) -> SellerEvent | None:
    """The seller's latest revocation: its reasons say why the badge is off (SPEC section 4)."""
    revocations = SellerEvent.objects.filter(seller=seller, kind=SellerEvent.Kind.REVOKED)
    return revocations.order_by("-created_at", "-id").first()


def seller_trend(*, seller: Seller, day: dt.date, window_days: int, days: int = TREND_DAYS) -> QuerySet[MetricSnapshot]:
    """Every metric's snapshots of one window over the ``days`` days ending on D (SPEC
    sections 3 and 6, the dashboard's trend), in one query, by metric then day."""
    return MetricSnapshot.objects.filter(
        seller=seller, window_days=window_days, day__range=(day - dt.timedelta(days=days - 1), day)
    ).order_by("metric", "day")


# ---------------------------------------------------------------------------------------
# Plans of action (SPEC section 4)
# ---------------------------------------------------------------------------------------


def seller_open_plan(*, seller: Seller) -> PlanOfAction | None:
    """The seller's plan under review, if any (at most one, by constraint)."""
    return PlanOfAction.objects.filter(seller=seller, status=PlanOfAction.Status.SUBMITTED).first()


@dataclass(frozen=True)
class PlanSubmission:
    """Whether a seller may submit a plan of action now (SPEC section 4): only while not
    eligible, and only one open plan at a time. The one rule that ``plan_submit``, the Create
    POA page and its autosave, the list of plans and the dashboard's banner follow."""

    eligible: bool  # nothing to reinstate
    open_plan: PlanOfAction | None  # a plan already under review

    @property
    def allowed(self) -> bool:
        return not self.eligible and self.open_plan is None


def plan_submission(*, status: str, open_plan: PlanOfAction | None) -> PlanSubmission:
    """``PlanSubmission`` from a seller's status and its plan under review, read by the caller
    (``plan_submit`` under the seller's row lock)."""
    return PlanSubmission(eligible=status != ProgrammeStatus.NOT_ELIGIBLE, open_plan=open_plan)


def seller_plan_submission(*, seller: Seller) -> PlanSubmission:
    return plan_submission(status=seller.status, open_plan=seller_open_plan(seller=seller))


def seller_plan_rejected_since(*, seller: Seller, since: dt.datetime | None) -> PlanOfAction | None:
    """The seller's latest plan rejected at or after ``since`` (the revocation's moment): the
    feedback a new plan must answer, shown until the next plan is submitted."""
    if since is None:
        return None
    rejected = PlanOfAction.objects.filter(
        seller=seller, status=PlanOfAction.Status.REJECTED, decided_at__gte=since
    ).select_related("decided_by")
    return rejected.order_by("-decided_at", "-id").first()


def can_review_plans(user) -> bool:
    """Who reviews plans of action (SPEC section 4): an active account of programme staff
    with the review permission, given directly, through a group or as a superuser; a
    seller's account never reviews, even with the permission.

    The one definition: the review pages and their decisions, the navigation, the home
    page's redirect and the reviewers mailed about a new plan (``plan_reviewers``) ask it."""
    return bool(
        user.is_authenticated and user.is_active and user.seller_id is None and user.has_perm(REVIEW_PERMISSION)
    )


def plan_reviewers() -> list[User]:
    """The accounts with an email address that ``can_review_plans`` admits: the active
    accounts of no seller (programme staff, a handful), each judged by that rule."""
    staff = User.objects.filter(is_active=True, seller__isnull=True).exclude(email="").order_by("pk")
    return [user for user in staff if can_review_plans(user)]


def seller_plans(*, seller: Seller) -> QuerySet[PlanOfAction]:
    return PlanOfAction.objects.filter(seller=seller).select_related("submitted_by", "decided_by")


def plans_review_queue() -> QuerySet[PlanOfAction]:
    """Submitted plans, oldest first: the reviewers' queue."""
    return (
        PlanOfAction.objects.filter(status=PlanOfAction.Status.SUBMITTED)
        .select_related("seller", "submitted_by")
        .order_by("submitted_at", "pk")
    )


def plans_recently_decided(*, limit: int = 5) -> QuerySet[PlanOfAction]:
    """The latest decided plans, newest first: what the empty queue points a reviewer to."""
    return (
        PlanOfAction.objects.exclude(status=PlanOfAction.Status.SUBMITTED)
        .select_related("seller", "decided_by")
        .order_by("-decided_at", "-pk")[:limit]
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


# ---------------------------------------------------------------------------------------
# Incidents (SPEC section 7)


def seller_incidents(*, seller: Seller) -> QuerySet[Incident]:
    """The seller's incidents, newest first."""
    return (
        Incident.objects.filter(seller=seller)
        .select_related("submitted_by", "decided_by")
        .order_by("-submitted_at", "-pk")
    )


def seller_open_incident_count(*, seller: Seller) -> int:
    """The seller's incidents waiting for a decision (bounded by ``INCIDENT_MAX_OPEN``)."""
    return Incident.objects.filter(seller=seller, status=Incident.Status.SUBMITTED).count()


def seller_incident_carriers(*, seller: Seller, today: dt.date) -> list[str]:
    """The carrier services an incident of the seller can name (SPEC section 7: as in the
    orders' carrier field): its carrier services and the carriers of its orders that can still
    be in a window an incident reaches. An incident starts at most ``INCIDENT_MAX_AGE_DAYS``
    ago, and an order counts in the windows ending up to the longest window after its
    purchase, so older orders are not read: a short range of the (seller, purchase date)
    index, whatever the seller's history."""
    since = today - dt.timedelta(days=INCIDENT_MAX_AGE_DAYS + max(WINDOWS))
    services = CarrierService.objects.filter(seller=seller).values_list("name", flat=True)
    used = (
        Order.objects.filter(seller=seller, purchase_date__gte=since)
        .exclude(carrier="")
        .order_by()
        .values_list("carrier", flat=True)
        .distinct()
    )
    return sorted({*services, *used}, key=lambda name: (name.casefold(), name))


def seller_order_ids_found(*, seller: Seller, order_ids: Sequence[str]) -> set[str]:
    """Which of ``order_ids`` are the seller's orders (one indexed lookup; another seller's
    ids are simply not found)."""
    return set(Order.objects.filter(seller=seller, order_id__in=list(order_ids)).values_list("order_id", flat=True))


def incident_covered_orders(*, seller: Seller, day: dt.date, scope: IncidentScope) -> QuerySet[Order]:
    """The seller's defect orders of the longest window as of D (the defect report's rows,
    annotated with its flags) that ``scope`` covers for an excusable metric they are a defect
    of, one Buy Shipping does not protect already: what a report offers to pick from and an
    incident's page lists, whether or not another incident excuses them already. Annotated
    with one boolean per excusable metric, ``covered_<metric>``. Newest first."""
    covered = {name: q_covered_defects(name, day, scope) for name in EXCUSABLE_METRICS}
    return (
        defect_orders(seller=seller, day=day, window_days=max(WINDOWS))
        .filter(reduce(or_, covered.values()))
        .annotate(
            **{f"covered_{name}": Case(When(q, then=Value(True)), default=Value(False)) for name, q in covered.items()}
        )
        .order_by("-purchased_at", "-order_id")
    )


def incident_picks_not_covered(*, seller: Seller, day: dt.date | None, scope: IncidentScope) -> list[str]:
    """Of the order ids ``scope`` names, those that are not among the defect orders its
    carrier and dates cover as of D (``incident_covered_orders``): picks the page must not
    report as they stand (the dates changed after the preview). All of them without a D."""
    if not scope.order_ids:
        return []
    covered: set[str] = set()
    if day is not None:
        everything = IncidentScope(scope.carrier, scope.start_date, scope.end_date)
        covered = set(
            incident_covered_orders(seller=seller, day=day, scope=everything)
            .filter(order_id__in=list(scope.order_ids))
            .values_list("order_id", flat=True)
        )
    return [order_id for order_id in scope.order_ids if order_id not in covered]


@dataclass(frozen=True)
class IncidentEffect:
    """One excusable metric of one window on D, as it is and as it would be were an incident
    approved for it: the units it would excuse beyond those excused already."""

    window_days: int
    metric: str
    population: int
    defects: int
    protected: int
    excused: int
    would_excuse: int
    threshold: Decimal

    def _passes(self, excused: int) -> bool:
        return METRIC_DEFINITIONS[self.metric].passes(
            population=self.population,
            defects=self.defects,
            protected=self.protected,
            excused=excused,
            threshold=self.threshold,
        )

    @property
    def passing_now(self) -> bool:
        return self._passes(self.excused)

    @property
    def passing_if_approved(self) -> bool:
        return self._passes(self.excused + self.would_excuse)

    def eligibility_rate(self, *, if_approved: bool) -> Fraction | None:
        """The rate judged for eligibility (protected and excused units not counted)."""
        excused = self.excused + (self.would_excuse if if_approved else 0)
        return METRIC_DEFINITIONS[self.metric].eligibility_rate(
            population=self.population, defects=self.defects, protected=self.protected, excused=excused
        )


def incident_effect(
    *, seller: Seller, day: dt.date, scope: IncidentScope, metrics: Sequence[str] = EXCUSABLE_METRICS
) -> list[IncidentEffect]:
    """What each of ``metrics`` (excusable ones) would become for D, in both windows, were an
    incident of ``scope`` approved for it: one aggregate over the seller's window orders, with
    the thresholds in force on D. The report form previews it, the reviewer weighs it."""
    thresholds = thresholds_in_force(day)
    annotations: dict[str, Coalesce] = {}
    for window_days in WINDOWS:
        in_window = _within_longest(day, window_days)
        for name in metrics:
            annotations |= _metric_units(day=day, window_days=window_days, metric=name, excused=True)
            annotations[f"would_{window_days}_{name}"] = _units(
                _conjunction(in_window, q_would_excuse(name, day, scope), METRIC_RULES[name].population(day))
            )
    row = window_orders(day=day, window_days=max(WINDOWS), seller_ids=[seller.pk]).aggregate(**annotations)
    return [
        IncidentEffect(
            window_days=window_days,
            metric=name,
            population=row[snapshot_column(name, window_days, "population")],
            defects=row[snapshot_column(name, window_days, "defects")],
            protected=row.get(snapshot_column(name, window_days, "protected"), 0),
            excused=row[snapshot_column(name, window_days, "excused")],
            would_excuse=row[f"would_{window_days}_{name}"],
            threshold=thresholds[name],
        )
        for window_days in WINDOWS
        for name in metrics
    ]


def seller_incidents_as_of(*, seller: Seller, day: dt.date) -> QuerySet[Incident]:
    """The seller's incidents that count as of D (approved by the end of D), lowest id first:
    the order ``metrics.incidents.excused_by`` attributes an excused unit in, as
    ``excused_units_by_incident`` does."""
    return Incident.objects.filter(approved_as_of(day), seller=seller).order_by("pk")


# The most incidents the dashboard lists above its figures: every one waiting for a decision
# (``INCIDENT_MAX_OPEN`` at most) and a few approved since.
INCIDENTS_NOT_COUNTED_SHOWN = 20


def seller_incidents_not_counted(*, seller: Seller, day: dt.date | None) -> QuerySet[Incident]:
    """The seller's incidents the figures of D do not reflect yet (SPEC section 7): waiting
    for a decision, or approved after the end of D (they count from a later D on, whose
    figures the daily run has not computed yet). Newest first; all approved ones when no D
    is computed."""
    approved_later = Q(status=Incident.Status.APPROVED)
    if day is not None:
        approved_later &= ~approved_as_of(day)
    return seller_incidents(seller=seller).filter(Q(status=Incident.Status.SUBMITTED) | approved_later)[
        :INCIDENTS_NOT_COUNTED_SHOWN
    ]


def excused_units_by_incident(
    *, seller: Seller, day: dt.date, window_days: int
) -> dict[str, list[tuple[Incident, int]]]:
    """Which incidents excuse the seller's units in the window on D (SPEC section 7): per
    excusable metric with excused units, each incident and the units it excuses, lowest id
    first. A unit two incidents cover is the lowest id's, so the units add up to the
    snapshot's excused units.

    One aggregate over the window's orders, grouped by the excusing incident of each metric
    (the lowest id covering it, where its defect is excused), then one query for the
    incidents; nothing at all when no incident of the seller counts as of D."""
    if not incidents_excuse_as_of(day=day, seller_ids=[seller.pk]):
        return {}
    columns = {name: f"excused_by_{name}" for name in EXCUSABLE_METRICS}
    excused = {name: METRIC_RULES[name].population(day) & q_excused(name, day) for name in EXCUSABLE_METRICS}
    lowest = {
        name: Subquery(covering_incidents(name, day).order_by("pk").values("pk")[:1]) for name in EXCUSABLE_METRICS
    }
    rows = (
        window_orders(day=day, window_days=window_days, seller_ids=[seller.pk])
        .filter(reduce(or_, excused.values()))
        .annotate(
            **{
                column: Case(When(excused[name], then=lowest[name]), default=None, output_field=BigIntegerField())
                for name, column in columns.items()
            }
        )
        .values(*columns.values())
        .annotate(units=Sum("units"))
        .order_by()
    )
    units: dict[str, dict[int, int]] = {name: {} for name in EXCUSABLE_METRICS}
    for row in rows:  # a row per combination of excusing incidents, not per order
        for name, column in columns.items():
            if (incident_id := row[column]) is not None:
                units[name][incident_id] = units[name].get(incident_id, 0) + row["units"]
    incidents = Incident.objects.in_bulk({pk for of_metric in units.values() for pk in of_metric})
    return {
        name: [(incidents[pk], of_metric[pk]) for pk in sorted(of_metric)]
        for name, of_metric in units.items()
        if of_metric
    }


# ---------------------------------------------------------------------------------------
# Incidents under review (SPEC section 7)


def incidents_review_queue() -> QuerySet[Incident]:
    """Submitted incidents, oldest first: the reviewers' queue, beside the plans (its
    ``incident_queue`` index)."""
    return (
        Incident.objects.filter(status=Incident.Status.SUBMITTED)
        .select_related("seller", "submitted_by")
        .order_by("submitted_at", "pk")
    )


def incidents_recently_decided(*, limit: int = 5) -> QuerySet[Incident]:
    """The latest decided incidents, newest first: what the empty queue points a reviewer to."""
    return (
        Incident.objects.exclude(status=Incident.Status.SUBMITTED)
        .select_related("seller", "decided_by")
        .order_by("-decided_at", "-pk")[:limit]
    )


# For a cancellation the relevant date (its own) exists only for cancelled orders: the
# population of a range of days is the orders bought or cancelled on them.
_PEER_POPULATION_DATES: dict[str, tuple[str, ...]] = {
    name: (date,) if name != "cancellation_rate" else ("purchase_date", date) for name, date in EXCUSAL_DATES.items()
}
# Orders are promised and cancelled within days of their purchase: the evidence reads the
# orders purchased from this long before the incident's first day, which keeps its one
# aggregate on the purchase-date index instead of every order ever stored.
PEER_PURCHASE_LOOKBACK_DAYS = 30


@dataclass(frozen=True)
class PeerDefects:
    """One excusable metric's defects at the other sellers on an incident's carrier service
    and days: how many sellers and units had it, of how many in its population then."""

    metric: str
    sellers: int
    defect_units: int
    population_sellers: int
    population_units: int

    @property
    def share(self) -> Fraction | None:
        return Fraction(self.defect_units, self.population_units) if self.population_units else None


def carrier_peer_defects(*, incident: Incident, day: dt.date) -> list[PeerDefects]:
    """Evidence for the reviewer (issue 16: a carrier's breakdown hits everyone who ships
    with it): per excusable metric, how many *other* sellers, and how many of their units, on
    the incident's carrier service (every carrier when it names none) had that defect as of
    D with its relevant date (``EXCUSAL_DATES``) in the incident's range, against their
    population whose date is in the range. One aggregate over the other sellers' Prime
    orders; sellers are counted, never named."""
    start, end = incident.start_date, incident.end_date

    def in_range(*dates: str) -> Q:
        return reduce(or_, (Q(**{f"{date}__range": (start, end)}) for date in dates))

    orders = Order.objects.filter(
        is_prime=True, purchase_date__range=(start - dt.timedelta(days=PEER_PURCHASE_LOOKBACK_DAYS), end)
    ).exclude(seller_id=incident.seller_id)
    if incident.carrier:
        orders = orders.filter(carrier=incident.carrier)
    aggregates: dict[str, Coalesce | Count] = {}
    for name in EXCUSABLE_METRICS:
        rule = METRIC_RULES[name]
        population = rule.population(day) & in_range(*_PEER_POPULATION_DATES[name])
        defects = rule.population(day) & rule.defects(day) & in_range(EXCUSAL_DATES[name])
        aggregates[f"population_units_{name}"] = _units(population)
        aggregates[f"population_sellers_{name}"] = Count("seller_id", distinct=True, filter=population)
        aggregates[f"defect_units_{name}"] = _units(defects)
        aggregates[f"defect_sellers_{name}"] = Count("seller_id", distinct=True, filter=defects)
    row = orders.aggregate(**aggregates)
    return [
        PeerDefects(
            metric=name,
            sellers=row[f"defect_sellers_{name}"],
            defect_units=row[f"defect_units_{name}"],
            population_sellers=row[f"population_sellers_{name}"],
            population_units=row[f"population_units_{name}"],
        )
        for name in EXCUSABLE_METRICS
    ]


@dataclass(frozen=True)
class IncidentReinstatement:
    """Whether approving an incident for some metrics would answer the seller's revocation
    at once (SPEC section 7): the seller is not eligible, its latest revocation's reasons are
    all metric reasons, and with the incident approved for those metrics every failing
    (window, metric) of it would pass on the revocation's own day. ``unanswered`` lists the
    reasons it would not answer (a requirement's among them)."""

    eligible: bool
    revocation: SellerEvent | None
    reasons: list[RevocationReason]
    unanswered: list[RevocationReason]

    @property
    def possible(self) -> bool:
        return not self.eligible and self.revocation is not None and bool(self.reasons) and not self.unanswered

    @property
    def needed_metrics(self) -> list[str]:
        """The metrics an approval must excuse to answer the revocation: its metrics' reasons'."""
        named = {reason.metric for reason in self.reasons if isinstance(reason, MetricReason)}
        return [name for name in METRICS if name in named]


def incident_reinstatement(
    *, incident: Incident, metrics: Iterable[str], seller: Seller | None = None
) -> IncidentReinstatement:
    """``IncidentReinstatement`` for ``incident`` approved for ``metrics`` (of
    ``EXCUSABLE_METRICS``), judged with ``incident_effect`` on the revocation's day: one
    aggregate. ``seller``: the incident's seller as read by the caller (under its row lock).

    Whether the incident itself is approved yet does not matter: it is approved after the
    revocation, so after the end of the revocation's D, and as of that D it would excuse
    what it covers beyond what other incidents excused then."""
    seller = seller or incident.seller
    if seller.is_eligible:
        return IncidentReinstatement(eligible=True, revocation=None, reasons=[], unanswered=[])
    revocation = seller_latest_revocation(seller=seller)
    reasons = revocation_reasons_from_json(revocation.reasons) if revocation else []
    chosen = [name for name in EXCUSABLE_METRICS if name in set(metrics)]
    passing: dict[tuple[int, str], bool] = {}
    if revocation is not None and revocation.day is not None and chosen:
        effects = incident_effect(seller=seller, day=revocation.day, scope=IncidentScope.of(incident), metrics=chosen)
        passing = {(effect.window_days, effect.metric): effect.passing_if_approved for effect in effects}
    unanswered = [
        reason
        for reason in reasons
        if not (isinstance(reason, MetricReason) and passing.get((reason.window_days, reason.metric), False))
    ]
    return IncidentReinstatement(eligible=False, revocation=revocation, reasons=reasons, unanswered=unanswered)


def incident_reinstated(*, incident: Incident) -> bool:
    """Whether approving ``incident`` reinstated its seller at once: the status history has
    a reinstatement for it."""
    return SellerEvent.objects.filter(
        seller_id=incident.seller_id,
        kind=SellerEvent.Kind.REINSTATED,
        reasons__contains=[IncidentReason(incident=incident.pk).to_json()],
    ).exists()


def incident_withdrawn_plans(*, incident: Incident) -> QuerySet[PlanOfAction]:
    """The plans of action its approval closed: under review when the incident reinstated
    their seller, closed at the approval's moment (``metrics.services.incident_approve``)."""
    if incident.decided_at is None:
        return PlanOfAction.objects.none()
    return PlanOfAction.objects.filter(
        seller_id=incident.seller_id, status=PlanOfAction.Status.WITHDRAWN, decided_at=incident.decided_at
    )
