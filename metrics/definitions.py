"""The programme's metric rules (SPEC section 3), each written once for SQL and once for
Python, side by side, so the dashboard numbers, the defect report and the per-order
explanation cannot disagree. ``tests/metrics/test_definitions.py`` holds the two halves
of every rule against each other.

All facts are judged *as of D*: an event whose local date is after D has not happened yet.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

from django.db.models import F, Func, IntegerField, Q
from django.db.models.lookups import GreaterThan
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy, pgettext_lazy

from sellers.choices import CancelledBy

if TYPE_CHECKING:
    from sellers.models import Order

WINDOWS = (7, 30)
# The days a dashboard trend spans at most (SPEC section 6): what the selectors read and the charts draw.
TREND_DAYS = 90
# The window a page shows when none is asked for (SPEC section 6: ``?window=7|30``, default 30).
DEFAULT_WINDOW = 30
# Thresholds are stored with five decimals (a share's smallest step is 1/THRESHOLD_SCALE);
# SQL compares them as NUMERIC, Python as exact ratios.
THRESHOLD_DECIMALS = 5
THRESHOLD_SCALE = 10**THRESHOLD_DECIMALS


def parse_window(raw: str | None) -> int | None:
    """The window of ``?window=`` (SPEC section 6): 7 or 30 days exactly as written, the
    default (30) when the parameter is absent or empty, None for anything else. Every page,
    download and the JSON status read the parameter through this."""
    if not raw:
        return DEFAULT_WINDOW
    return next((window for window in WINDOWS if raw == str(window)), None)


@dataclass(frozen=True)
class MetricDefinition:
    """One metric of SPEC section 3 and everything said about it: its rule's direction and
    default threshold, its wording on every page and email, and the action that fixes it.
    Pages, emails and checks read the record instead of restating it."""

    name: str
    label: Promise
    population: Promise  # the population's units, "of 40 shipped units"
    # The defect units, "units shipped late and delivered late": every page names a metric's
    # defect units with this (capitalised as a label), never with "defect units".
    defects: Promise
    higher_is_better: bool
    default_threshold: Decimal
    # What to do when it fails (the programme's table of actions, seeds/000, in our words),
    # naming the defect report's columns by placeholder: say it with ``action_text()``.
    action: Promise
    # The defect units in words for a count of them ("1 seller cancellation"): ``% count``.
    defect_noun: Promise
    # The defect units as a whole, for "... of your late deliveries".
    defects_phrase: Promise
    # Late deliveries shipped on Buy Shipping labels are excused for eligibility (SPEC
    # section 3): their *protected units* are counted, shown and subtracted for this metric.
    buy_shipping_protection: bool = False

    def action_text(self) -> str:
        """What to do, in the active language. A column of the defect report is named as the
        CSV names it (``REPORT_COLUMNS``, English in every language, SPEC section 5), so the
        seller finds it in the file."""
        return str(self.action) % REPORT_COLUMNS

    def defects_noun(self, count: int) -> str:
        """The metric's defect units in words, for ``count`` of them."""
        return str(self.defect_noun % count)

    def passes(self, *, population: int, defects: int, protected: int, threshold: Decimal, excused: int = 0) -> bool:
        """Exact comparison with the threshold; a rate equal to its threshold passes, and a
        metric with population 0 has no value and passes (SPEC section 3). Late deliveries on
        Buy Shipping labels (``protected``) and defects an approved incident excuses
        (``excused``, SPEC section 7; never the same units) are not counted for eligibility.

        Integer arithmetic on the threshold's exact ratio, so it never rounds: the Python half
        of ``PASSES_SQL`` (the daily run judges in SQL; the projections and tests ask this).
        """
        if population == 0:
            return True
        counted = defects - protected - excused
        numerator, denominator = threshold.as_integer_ratio()
        if self.higher_is_better:  # 1 - counted/population >= n/d
            return (population - counted) * denominator >= numerator * population
        return counted * denominator <= numerator * population  # counted/population <= n/d

    # The SQL half of ``passes``, for the daily run's upsert that judges in the database:
    # population 0 passes, else the eligibility rate (protected and excused units not
    # counted) against the threshold, exactly, in NUMERIC (a rate equal to its threshold
    # passes). tests/metrics/test_snapshot_sql.py holds the two halves against each other.
    PASSES_SQL = (
        "({population} = 0 OR CASE WHEN {higher_is_better}"
        " THEN ({population} - ({defects} - {protected} - {excused}))::numeric >= {threshold} * {population}"
        " ELSE ({defects} - {protected} - {excused})::numeric <= {threshold} * {population} END)"
    )

    def allowance(self, *, population: int, threshold: Decimal) -> int:
        """The defect units a window of ``population`` units may count and still pass (SPEC
        section 8): floor((1 - threshold) * population) for the rates that must stay high,
        floor(threshold * population) for the cancellation rate. Exact integer arithmetic on
        the threshold's ratio n/d, never floats."""
        numerator, denominator = threshold.as_integer_ratio()
        allowed_share = denominator - numerator if self.higher_is_better else numerator
        return allowed_share * population // denominator

    def headroom(
        self, *, population: int, defects: int, protected: int, threshold: Decimal, excused: int = 0
    ) -> int | None:
        """The defect units the window can still absorb among the orders already in it and
        pass (SPEC section 8): the allowance less the counted defect units (protected and
        excused units not counted); negative when failing (the units too many); None when the
        population is 0 (no value, passes).

        headroom >= 0 exactly when ``passes``: passing means counted * d <= (d - n) * population
        (or n * population), and for an integer *counted* that is counted <= floor(... / d)."""
        if population == 0:
            return None
        return self.allowance(population=population, threshold=threshold) - (defects - protected - excused)

    def at_risk(self, *, population: int, defects: int, protected: int, threshold: Decimal, excused: int = 0) -> bool:
        """SPEC section 8: a passing metric with a population is *at risk* when its headroom is
        below max(1, ceil(allowance / 4)). A failing metric is not at risk (it fails), nor is
        one without a population (no value, passes). The Python half of ``AT_RISK_SQL``."""
        headroom = self.headroom(
            population=population, defects=defects, protected=protected, threshold=threshold, excused=excused
        )
        if headroom is None or headroom < 0:
            return False
        return headroom < at_risk_bound(self.allowance(population=population, threshold=threshold))

    # The SQL half of ``at_risk``, for the daily run's at-risk entry (``metrics.sql``): a
    # population, a headroom (protected and excused units not counted) of at least 0
    # (passing) and below max(1, ceil(allowance / 4)), the allowance floor((1 - t) *
    # population) or floor(t * population) in NUMERIC, exactly.
    # tests/metrics/test_at_risk.py holds the two halves against each other.
    AT_RISK_SQL = (
        "({population} > 0 AND (floor(CASE WHEN {higher_is_better} THEN 1 - {threshold} ELSE {threshold} END"
        " * {population}) - ({defects} - {protected} - {excused})) BETWEEN 0 AND greatest(1, ceil(floor(CASE WHEN"
        " {higher_is_better} THEN 1 - {threshold} ELSE {threshold} END * {population}) / 4)) - 1)"
    )

    def rate(self, *, population: int, defects: int) -> Fraction | None:
        """The rate shown to the seller: every defect counts, protection aside."""
        if population == 0:
            return None
        share = Fraction(defects, population)
        return 1 - share if self.higher_is_better else share

    def eligibility_rate(self, *, population: int, defects: int, protected: int, excused: int = 0) -> Fraction | None:
        """The rate eligibility is judged on: protected and excused units not counted."""
        return self.rate(population=population, defects=defects - protected - excused)

    # The SQL half of ``rate`` as a revocation's reasons record it (``float(rate(...))``): a
    # double precision, NULL without a population; ``{defects}`` less the protected and
    # excused units gives the eligibility rate. Both operands are exact integers, so the one
    # IEEE division rounds the exact ratio to the nearest double, as ``float()`` of the
    # Fraction does. tests/metrics/test_revocation_sql.py holds the two halves together.
    RATE_SQL = (
        "(CASE WHEN {population} = 0 THEN NULL WHEN {higher_is_better}"
        " THEN ({population} - ({defects}))::float8 / {population}"
        " ELSE ({defects})::float8 / {population} END)"
    )


def at_risk_bound(allowance: int) -> int:
    """The headroom a passing metric must keep not to be at risk (SPEC section 8):
    max(1, ceil(allowance / 4)), in integers."""
    return max(1, -(-allowance // 4))


def seller_at_risk(*, eligible: bool, metrics_at_risk: Iterable[bool], before_reinstatement: bool = False) -> bool:
    """SPEC section 8: an eligible seller with any metric at risk (``MetricDefinition.at_risk``)
    in either window is at risk; a seller not eligible is not (it has lost Prime already), nor
    one whose figures are from before its reinstatement (they were answered by it). The
    Python half of the daily run's at-risk entry (``metrics.sql.at_risk_enter``); the
    dashboard's verdict and the JSON status ask it too."""
    return eligible and not before_reinstatement and any(metrics_at_risk)


METRIC_DEFINITIONS: dict[str, MetricDefinition] = {
    d.name: d
    for d in (
        MetricDefinition(
            "on_time_shipment_rate", _("On-time shipment rate"), _("shipped units"),
            _("units shipped late and delivered late"), True, Decimal("0.99"),
            action=_(
                "Review the orders with an X in both the “%(shipped_late)s” and “%(delivered_late)s” columns of your "
                "defect report, find why they were scanned late, and choose shipping services that still deliver by "
                "the promised date."
            ),
            # The metric's defects: a late shipment that arrived on time is not one.
            defect_noun=ngettext_lazy("unit shipped late and delivered late", "units shipped late and delivered late"),
            defects_phrase=pgettext_lazy("of your ...", "units shipped late and delivered late"),
        ),
        MetricDefinition(
            "on_time_delivery_rate", _("On-time delivery rate"), _("due units"),
            _("units delivered late"), True, Decimal("0.935"),
            action=_(
                "Review the orders with an X in the “%(delivered_late)s” column of your defect report; ship on "
                "Buy Shipping labels, which protect you from late deliveries that were not your fault."
            ),
            defect_noun=ngettext_lazy("unprotected late delivery", "unprotected late deliveries"),
            defects_phrase=_("late deliveries"),
            buy_shipping_protection=True,
        ),
        MetricDefinition(
            "buy_shipping_rate", _("Buy Shipping rate"), _("shipped units"),
            _("units shipped outside Buy Shipping"), True, Decimal("0.99"),
            action=_(
                "Review the orders with an X in the “%(outside_buy_shipping)s” column of your defect report and buy "
                "every label through Buy Shipping."
            ),
            defect_noun=ngettext_lazy("shipment outside Buy Shipping", "shipments outside Buy Shipping"),
            defects_phrase=_("shipments outside Buy Shipping"),
        ),
        MetricDefinition(
            "cancellation_rate", _("Cancellation rate"), _("ordered units"),
            _("units cancelled by the seller"), False, Decimal("0.005"),
            action=_(
                "Check your inventory daily so you never list what you cannot ship right away; let customers request "
                "cancellations instead of cancelling for them."
            ),
            defect_noun=ngettext_lazy("seller cancellation", "seller cancellations"),
            defects_phrase=_("seller cancellations"),
        ),
        MetricDefinition(
            "valid_tracking_rate", _("Valid tracking rate"), _("confirmed units"),
            _("units confirmed without valid tracking"), True, Decimal("0.99"),
            action=_("Confirm shipment only with a tracking id the carrier will scan, after handing the parcel over."),
            defect_noun=ngettext_lazy(
                "shipment confirmed without valid tracking", "shipments confirmed without valid tracking"
            ),
            defects_phrase=_("shipments without valid tracking"),
        ),
        MetricDefinition(
            "one_day_delivery_speed", _("One-day delivery speed"), _("units not cancelled"),
            _("units promised slower than one day"), True, Decimal("0.30"),
            action=_(
                "Offer one-day delivery in more states of your Prime template, or add carrier services that reach them "
                "in one day if you use region automation."
            ),
            defect_noun=ngettext_lazy("unit promised slower than one day", "units promised slower than one day"),
            defects_phrase=_("units promised slower than one day"),
        ),
        MetricDefinition(
            "two_day_delivery_speed", _("Two-day delivery speed"), _("units not cancelled"),
            _("units promised slower than two days"), True, Decimal("0.74"),
            action=_("Offer two-day or faster delivery in more states of your Prime template."),
            defect_noun=ngettext_lazy("unit promised slower than two days", "units promised slower than two days"),
            defects_phrase=_("units promised slower than two days"),
        ),
    )
}  # fmt: skip
METRICS: tuple[str, ...] = tuple(METRIC_DEFINITIONS)
PASSES_SQL = MetricDefinition.PASSES_SQL
AT_RISK_SQL = MetricDefinition.AT_RISK_SQL
RATE_SQL = MetricDefinition.RATE_SQL
# The (window, metric) pairs of a seller's day, in the order the snapshot view lists them.
SNAPSHOT_KEYS: tuple[tuple[int, str], ...] = tuple((w, name) for w in WINDOWS for name in METRICS)
# A revocation lists its failing metrics by window, then metric name (its failing
# requirements follow, in the registry's order).
REASON_ORDER: tuple[tuple[int, str], ...] = tuple(sorted(SNAPSHOT_KEYS))
# The units stored per (window, metric): its population, its defects, the defects Buy
# Shipping protects (SPEC section 3) and those approved incidents excuse (SPEC section 7),
# never the same unit twice; 0 where a metric has none.
SNAPSHOT_KINDS = ("population", "defects", "protected", "excused")


def snapshot_column(metric: str, window_days: int, kind: str) -> str:
    """The name of one figure of a seller's day, in the daily snapshot row and in the counts
    that fill it: ``kind`` is population, defects, protected, excused (units) or passing."""
    return f"{kind}_{window_days}_{metric}"


def threshold_column(metric: str) -> str:
    return f"threshold_{metric}"


class DaysBetween(Func):
    """Whole days from ``start`` to ``end`` (two DATE columns): their difference."""

    output_field = IntegerField()
    template = "(%(expressions)s)"
    arg_joiner = " - "

    def __init__(self, end, start, **extra):
        super().__init__(end, start, **extra)


# ---------------------------------------------------------------------------------------
# Per-order rules. Each SQL half is a Q over sellers.Order, each Python half a function of
# an Order; both take D. Keep them in pairs.
# ---------------------------------------------------------------------------------------

# Where a defect has a rarely true condition of its own (shipped late, delivered late, outside
# Buy Shipping), its SQL half states it first, then the conditions it shares with a
# population: the daily counts evaluate each rule for every order of the window, and
# PostgreSQL stops at the first false one (metrics.selectors._conjunction).
SqlRule = Callable[[dt.date], Q]
PythonRule = Callable[["Order", dt.date], bool]


def _happened(field: str, day: dt.date) -> Q:
    return Q(**{f"{field}__lte": day})


def _not_happened(field: str, day: dt.date) -> Q:
    return Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__gt": day})


def _py_happened(value: dt.date | None, day: dt.date) -> bool:
    return value is not None and value <= day


# shipped: it has a first carrier scan (not the seller's confirmation).
def q_shipped(day: dt.date) -> Q:
    return _happened("first_scan_date", day)


def is_shipped(order, day: dt.date) -> bool:
    return _py_happened(order.first_scan_date, day)


def q_not_shipped(day: dt.date) -> Q:
    return _not_happened("first_scan_date", day)


# delivered: the carrier delivered it (as of D).
def q_delivered(day: dt.date) -> Q:
    return _happened("delivered_date", day)


def q_not_delivered(day: dt.date) -> Q:
    return _not_happened("delivered_date", day)


def is_delivered(order, day: dt.date) -> bool:
    return _py_happened(order.delivered_date, day)


# shipped late: shipped and local date of first scan > promised ship date.
def q_shipped_late(day: dt.date) -> Q:
    return Q(first_scan_date__gt=F("promised_ship_date")) & q_shipped(day)


def is_shipped_late(order, day: dt.date) -> bool:
    return is_shipped(order, day) and order.first_scan_date > order.promised_ship_date


# cancelled (by anyone) as of D.
def q_cancelled(day: dt.date) -> Q:
    return _happened("cancelled_date", day)


def is_cancelled(order, day: dt.date) -> bool:
    return _py_happened(order.cancelled_date, day)


def q_not_cancelled(day: dt.date) -> Q:
    return _not_happened("cancelled_date", day)


# due: not cancelled and promised delivery date <= D.
def q_due(day: dt.date) -> Q:
    return q_not_cancelled(day) & Q(promised_delivery_date__lte=day)


def is_due(order, day: dt.date) -> bool:
    return not is_cancelled(order, day) and order.promised_delivery_date <= day


# delivered late: due, and not delivered as of D or delivered after the promised date.
def q_delivered_late(day: dt.date) -> Q:
    return (q_not_delivered(day) | Q(delivered_date__gt=F("promised_delivery_date"))) & q_due(day)


def is_delivered_late(order, day: dt.date) -> bool:
    if not is_due(order, day):
        return False
    return not is_delivered(order, day) or order.delivered_date > order.promised_delivery_date


# outside Buy Shipping: shipped and the label was not bought through Buy Shipping.
def q_outside_buy_shipping(day: dt.date) -> Q:
    return Q(buy_shipping=False) & q_shipped(day)


def is_outside_buy_shipping(order, day: dt.date) -> bool:
    return is_shipped(order, day) and not order.buy_shipping


# protected: a late delivery shipped on a Buy Shipping label, excused for eligibility.
def q_protected_late(day: dt.date) -> Q:
    return q_delivered_late(day) & q_shipped(day) & Q(buy_shipping=True)


def is_protected_late(order, day: dt.date) -> bool:
    return is_delivered_late(order, day) and is_shipped(order, day) and order.buy_shipping


# confirmed: the seller confirmed shipment.
def q_confirmed(day: dt.date) -> Q:
    return _happened("ship_confirmed_date", day)


def is_confirmed(order, day: dt.date) -> bool:
    return _py_happened(order.ship_confirmed_date, day)


# no valid tracking: confirmed, and no tracking id or the carrier has not scanned it.
def q_no_valid_tracking(day: dt.date) -> Q:
    return q_confirmed(day) & (Q(tracking_id="") | q_not_shipped(day))


def is_no_valid_tracking(order, day: dt.date) -> bool:
    return is_confirmed(order, day) and (not order.tracking_id or not is_shipped(order, day))


# cancelled by seller: unless the customer had requested it at or before that moment.
# Customer cancellations (only possible within 30 minutes) never count.
def q_cancelled_by_seller(day: dt.date) -> Q:
    return (
        q_cancelled(day)
        & Q(cancelled_by=CancelledBy.SELLER)
        & (Q(cancel_requested_at__isnull=True) | Q(cancel_requested_at__gt=F("cancelled_at")))
    )


def is_cancelled_by_seller(order, day: dt.date) -> bool:
    if not is_cancelled(order, day) or order.cancelled_by != CancelledBy.SELLER:
        return False
    return order.cancel_requested_at is None or order.cancel_requested_at > order.cancelled_at


# delivery speed: promise later than purchase date + N days, among orders not cancelled.
def q_promise_slower_than(days: int, day: dt.date) -> Q:
    promise_days = DaysBetween(F("promised_delivery_date"), F("purchase_date"))
    return q_not_cancelled(day) & Q(GreaterThan(promise_days, days))


def is_promise_slower_than(order, days: int, day: dt.date) -> bool:
    return not is_cancelled(order, day) and (order.promised_delivery_date - order.purchase_date).days > days


# The delivery-speed metrics and the promise, in days after the purchase date, beyond which
# a unit counts against them (SPEC section 3).
PROMISE_SPEED_DAYS = {"one_day_delivery_speed": 1, "two_day_delivery_speed": 2}


@dataclass(frozen=True)
class MetricRule:
    """Which orders make up a metric's population and which of them are defects."""

    population: SqlRule
    defects: SqlRule
    py_population: PythonRule
    py_defects: PythonRule


def _all(day: dt.date) -> Q:
    return Q()


def _py_all(order, day: dt.date) -> bool:
    return True


def _promise_speed_rule(days: int) -> MetricRule:
    """A delivery-speed metric's rule: promises slower than ``days`` are its defects."""
    return MetricRule(
        q_not_cancelled,
        lambda day: q_promise_slower_than(days, day),
        lambda o, day: not is_cancelled(o, day),
        lambda o, day: is_promise_slower_than(o, days, day),
    )


METRIC_RULES: dict[str, MetricRule] = {
    "on_time_shipment_rate": MetricRule(
        q_shipped,
        lambda day: q_shipped_late(day) & q_delivered_late(day),
        is_shipped,
        lambda o, day: is_shipped_late(o, day) and is_delivered_late(o, day),
    ),
    "on_time_delivery_rate": MetricRule(q_due, q_delivered_late, is_due, is_delivered_late),
    "buy_shipping_rate": MetricRule(q_shipped, q_outside_buy_shipping, is_shipped, is_outside_buy_shipping),
    "cancellation_rate": MetricRule(_all, q_cancelled_by_seller, _py_all, is_cancelled_by_seller),
    "valid_tracking_rate": MetricRule(q_confirmed, q_no_valid_tracking, is_confirmed, is_no_valid_tracking),
    **{name: _promise_speed_rule(days) for name, days in PROMISE_SPEED_DAYS.items()},
}

# The defect report's flag columns (SPEC section 5), in report order, with their rules.
REPORT_FLAGS: dict[str, tuple[str, SqlRule, PythonRule]] = {
    "shipped_late": ("Shipped late", q_shipped_late, is_shipped_late),
    "delivered_late": ("Delivered late", q_delivered_late, is_delivered_late),
    "outside_buy_shipping": ("Shipped outside Buy Shipping", q_outside_buy_shipping, is_outside_buy_shipping),
    "cancelled_by_seller": ("Cancelled by seller", q_cancelled_by_seller, is_cancelled_by_seller),
    "no_valid_tracking": ("No valid tracking", q_no_valid_tracking, is_no_valid_tracking),
}
# The report's flag columns by name, as the CSV heads them: what a sentence pointing the
# seller at a column inserts (``MetricDefinition.action_text``), in every language.
REPORT_COLUMNS: dict[str, str] = {name: label for name, (label, _rule, _py) in REPORT_FLAGS.items()}
