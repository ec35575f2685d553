"""A plain-Python reference implementation of SPEC section 3, written from the SPEC alone.

It is the oracle the database computation in ``metrics`` is held against, so it is written
to be obviously right rather than fast: pure functions over frozen dataclasses, every local
date computed here with ``zoneinfo`` from the aware timestamps (never the ``*_date``
columns), every Prime decision made here from the volume-control history (never
``Order.is_prime``). No ORM, no SQL.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

WINDOWS = (7, 30)

METRICS = (
    "on_time_shipment_rate",
    "on_time_delivery_rate",
    "buy_shipping_rate",
    "cancellation_rate",
    "valid_tracking_rate",
    "one_day_delivery_speed",
    "two_day_delivery_speed",
)

# The defect report's flag columns (SPEC section 5), in column order.
REPORT_FLAGS = ("shipped_late", "delivered_late", "outside_buy_shipping", "cancelled_by_seller", "no_valid_tracking")


@dataclass(frozen=True)
class Control:
    """One state of the Prime order-volume control, in force from ``effective_at`` on.

    ``sequence`` breaks ties between changes effective at the same moment: the later
    recorded one wins.
    """

    effective_at: dt.datetime
    daily_cap: int | None = None
    paused: bool = False
    paused_until: dt.datetime | None = None
    sequence: int = 0

    def is_paused_at(self, moment: dt.datetime) -> bool:
        return self.paused and (self.paused_until is None or moment < self.paused_until)


@dataclass(frozen=True)
class Seller:
    id: int
    timezone: str
    enrolled_on: dt.date
    controls: tuple[Control, ...] = ()
    # The status history: ("revoked" | "reinstated", moment), in any order.
    history: tuple[tuple[str, dt.datetime], ...] = ()

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def evaluation_start(self, day: dt.date) -> dt.datetime:
        """SPEC section 4: the moment of the latest reinstatement at or before the end of D
        (in the seller's zone), else the first moment of the enrolment date; never before
        enrolment."""
        enrolment = dt.datetime.combine(self.enrolled_on, dt.time(), tzinfo=self.zone)
        reinstatements = [
            moment for kind, moment in self.history if kind == "reinstated" and local_date(moment, self) <= day
        ]
        return max([enrolment, *reinstatements])

    def eligible_at(self, moment: dt.datetime) -> bool:
        """SPEC section 3: from a revocation to the next reinstatement the badge is off. Of two
        changes at the same moment the later recorded (``history`` is in recording order) holds."""
        before = [(at, order, kind) for order, (kind, at) in enumerate(self.history) if at <= moment]
        return not before or max(before)[2] != "revoked"

    def control_at(self, moment: dt.datetime) -> Control | None:
        in_force = [control for control in self.controls if control.effective_at <= moment]
        if not in_force:
            return None
        return max(in_force, key=lambda control: (control.effective_at, control.sequence))


@dataclass(frozen=True)
class Order:
    order_id: str
    purchased_at: dt.datetime
    units: int
    promised_ship_date: dt.date
    promised_delivery_date: dt.date
    buy_shipping: bool
    first_scan_at: dt.datetime | None = None
    ship_confirmed_at: dt.datetime | None = None
    delivered_at: dt.datetime | None = None
    tracking_id: str = ""
    cancelled_at: dt.datetime | None = None
    cancelled_by: str = ""
    cancel_requested_at: dt.datetime | None = None
    carrier: str = ""


@dataclass(frozen=True)
class Incident:
    """An incident a seller reported (SPEC section 7), as staff decided it: ``status``
    approved, rejected or submitted, ``decided_at`` when (None while submitted), the metrics
    an approval excuses."""

    id: int
    carrier: str  # "" for every carrier
    start_date: dt.date
    end_date: dt.date
    order_ids: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    status: str = "approved"
    decided_at: dt.datetime | None = None


@dataclass(frozen=True)
class Counts:
    population: int = 0
    defects: int = 0
    protected: int = 0
    excused: int = 0


@dataclass
class _Tally:
    population: int = 0
    defects: int = 0
    protected: int = 0
    excused: int = 0

    def add(
        self, units: int, *, member: bool, defect: bool = False, protected: bool = False, excused: bool = False
    ) -> None:
        if not member:
            assert not defect and not protected and not excused
            return
        self.population += units
        if defect:
            self.defects += units
        if protected:
            assert defect
            self.protected += units
        if excused:
            assert defect and not protected, "a unit is protected or excused, never both"
            self.excused += units


# --- As of D: facts after the end of D have not happened yet. ---------------------------


def local_date(moment: dt.datetime, seller: Seller) -> dt.date:
    assert moment.tzinfo is not None, "the reference works on aware timestamps only"
    return moment.astimezone(seller.zone).date()


def happened(moment: dt.datetime | None, seller: Seller, day: dt.date) -> bool:
    """A fact counts when its local date is on or before D (SPEC section 3)."""
    return moment is not None and local_date(moment, seller) <= day


# --- Which orders are Prime orders. -----------------------------------------------------


def prime_order_ids(seller: Seller, orders: Iterable[Order]) -> set[str]:
    """SPEC section 3: an order placed while the badge was off (the seller not eligible, or
    the badge paused), or when the daily cap in force at its purchase time was already
    reached by the seller's earlier orders of the same local date placed while the badge
    was on, is not a Prime order."""
    by_local_date: dict[dt.date, list[Order]] = {}
    for order in orders:
        by_local_date.setdefault(local_date(order.purchased_at, seller), []).append(order)
    prime: set[str] = set()
    for same_day in by_local_date.values():
        same_day.sort(key=lambda order: (order.purchased_at, order.order_id))
        unpaused_before = 0
        for order in same_day:
            control = seller.control_at(order.purchased_at)
            paused = not seller.eligible_at(order.purchased_at) or (
                control is not None and control.is_paused_at(order.purchased_at)
            )
            cap = control.daily_cap if control is not None else None
            if not paused and (cap is None or unpaused_before < cap):
                prime.add(order.order_id)
            # Every earlier unpaused order uses up the cap, even one that was itself over it.
            if not paused:
                unpaused_before += 1
    return prime


def window_orders(seller: Seller, orders: Iterable[Order], day: dt.date, window_days: int) -> list[Order]:
    """The Prime orders whose local purchase date is in [D-W+1, D] and on or after the
    seller's evaluation start."""
    orders = list(orders)
    prime = prime_order_ids(seller, orders)
    first = day - dt.timedelta(days=window_days - 1)
    start = seller.evaluation_start(day)
    return [
        order
        for order in orders
        if order.order_id in prime
        and first <= local_date(order.purchased_at, seller) <= day
        and order.purchased_at >= start
    ]


# --- Per-order facts as of D. -----------------------------------------------------------


def is_shipped(order: Order, seller: Seller, day: dt.date) -> bool:
    return happened(order.first_scan_at, seller, day)


def is_shipped_late(order: Order, seller: Seller, day: dt.date) -> bool:
    return is_shipped(order, seller, day) and local_date(order.first_scan_at, seller) > order.promised_ship_date


def is_cancelled(order: Order, seller: Seller, day: dt.date) -> bool:
    return happened(order.cancelled_at, seller, day)


def is_due(order: Order, seller: Seller, day: dt.date) -> bool:
    return not is_cancelled(order, seller, day) and order.promised_delivery_date <= day


def is_delivered_late(order: Order, seller: Seller, day: dt.date) -> bool:
    if not is_due(order, seller, day):
        return False
    if not happened(order.delivered_at, seller, day):
        return True
    return local_date(order.delivered_at, seller) > order.promised_delivery_date


def is_protected_late(order: Order, seller: Seller, day: dt.date) -> bool:
    """Buy Shipping protection: a late delivery shipped on a Buy Shipping label."""
    return is_delivered_late(order, seller, day) and is_shipped(order, seller, day) and order.buy_shipping


def is_outside_buy_shipping(order: Order, seller: Seller, day: dt.date) -> bool:
    return is_shipped(order, seller, day) and not order.buy_shipping


def is_confirmed(order: Order, seller: Seller, day: dt.date) -> bool:
    return happened(order.ship_confirmed_at, seller, day)


def is_no_valid_tracking(order: Order, seller: Seller, day: dt.date) -> bool:
    return is_confirmed(order, seller, day) and (order.tracking_id == "" or not is_shipped(order, seller, day))


def is_cancelled_by_seller(order: Order, seller: Seller, day: dt.date) -> bool:
    """Customer cancellations never count; nor does a seller cancellation the customer
    requested at or before that moment."""
    if not is_cancelled(order, seller, day) or order.cancelled_by != "seller":
        return False
    requested = order.cancel_requested_at is not None and order.cancel_requested_at <= order.cancelled_at
    return not requested


def is_promise_later_than(order: Order, seller: Seller, days: int) -> bool:
    purchase_date = local_date(order.purchased_at, seller)
    return order.promised_delivery_date > purchase_date + dt.timedelta(days=days)


def order_flags(order: Order, seller: Seller, day: dt.date) -> dict[str, bool]:
    """The defect report's flags of one order as of D (SPEC section 5)."""
    return {
        "shipped_late": is_shipped_late(order, seller, day),
        "delivered_late": is_delivered_late(order, seller, day),
        "outside_buy_shipping": is_outside_buy_shipping(order, seller, day),
        "cancelled_by_seller": is_cancelled_by_seller(order, seller, day),
        "no_valid_tracking": is_no_valid_tracking(order, seller, day),
    }


# --- Incidents (SPEC section 7). --------------------------------------------------------


def relevant_date(order: Order, seller: Seller, metric: str) -> dt.date | None:
    """The date an incident's range is matched against, per metric it can excuse: the
    promised ship date for shipped late (on-time shipment) and no valid tracking, the
    promised delivery date for delivered late, the local cancellation date for cancelled by
    seller. None for a metric no incident excuses."""
    if metric in ("on_time_shipment_rate", "valid_tracking_rate"):
        return order.promised_ship_date
    if metric == "on_time_delivery_rate":
        return order.promised_delivery_date
    if metric == "cancellation_rate":
        return None if order.cancelled_at is None else local_date(order.cancelled_at, seller)
    return None


def covers(incident: Incident, order: Order, seller: Seller, metric: str) -> bool:
    """The listed orders, else the orders on its carrier (any when none) whose relevant date
    is in its range."""
    if incident.order_ids:
        return order.order_id in incident.order_ids
    relevant = relevant_date(order, seller, metric)
    if relevant is None or not incident.start_date <= relevant <= incident.end_date:
        return False
    return incident.carrier in ("", order.carrier)


def is_defect(order: Order, seller: Seller, day: dt.date, metric: str) -> bool:
    """Whether the order is a defect unit of ``metric`` as of D (the metrics below)."""
    delivered_late = is_delivered_late(order, seller, day)
    return {
        "on_time_shipment_rate": is_shipped_late(order, seller, day) and delivered_late,
        "on_time_delivery_rate": delivered_late,
        "cancellation_rate": is_cancelled_by_seller(order, seller, day),
        "valid_tracking_rate": is_no_valid_tracking(order, seller, day),
    }.get(metric, False)


def is_excused(order: Order, seller: Seller, day: dt.date, metric: str, incidents: Iterable[Incident]) -> bool:
    """SPEC section 7: an incident approved by the end of D (in the seller's zone) for the
    metric excuses the order's defect units for it when it covers the order; a late delivery
    Buy Shipping protects is protected, not excused."""
    if not is_defect(order, seller, day, metric):
        return False
    if metric == "on_time_delivery_rate" and is_protected_late(order, seller, day):
        return False
    return any(
        incident.status == "approved"
        and incident.decided_at is not None
        and local_date(incident.decided_at, seller) <= day
        and metric in incident.metrics
        and covers(incident, order, seller, metric)
        for incident in incidents
    )


# --- The metrics. -----------------------------------------------------------------------


def window_counts(
    seller: Seller, orders: Iterable[Order], day: dt.date, window_days: int, incidents: Sequence[Incident] = ()
) -> dict[str, Counts]:
    """The seven metrics of SPEC section 3 for one seller and window, in units, with the
    units the seller's ``incidents`` excuse (SPEC section 7)."""
    tallies = {metric: _Tally() for metric in METRICS}
    for order in window_orders(seller, orders, day, window_days):
        units = order.units
        shipped = is_shipped(order, seller, day)
        delivered_late = is_delivered_late(order, seller, day)
        not_cancelled = not is_cancelled(order, seller, day)

        def excused(metric: str, order: Order = order) -> bool:
            return is_excused(order, seller, day, metric, incidents)

        tallies["on_time_shipment_rate"].add(
            units,
            member=shipped,
            defect=is_shipped_late(order, seller, day) and delivered_late,
            excused=excused("on_time_shipment_rate"),
        )
        tallies["on_time_delivery_rate"].add(
            units,
            member=is_due(order, seller, day),
            defect=delivered_late,
            protected=is_protected_late(order, seller, day),
            excused=excused("on_time_delivery_rate"),
        )
        tallies["buy_shipping_rate"].add(units, member=shipped, defect=is_outside_buy_shipping(order, seller, day))
        tallies["cancellation_rate"].add(
            units,
            member=True,
            defect=is_cancelled_by_seller(order, seller, day),
            excused=excused("cancellation_rate"),
        )
        tallies["valid_tracking_rate"].add(
            units,
            member=is_confirmed(order, seller, day),
            defect=is_no_valid_tracking(order, seller, day),
            excused=excused("valid_tracking_rate"),
        )
        tallies["one_day_delivery_speed"].add(
            units, member=not_cancelled, defect=not_cancelled and is_promise_later_than(order, seller, 1)
        )
        tallies["two_day_delivery_speed"].add(
            units, member=not_cancelled, defect=not_cancelled and is_promise_later_than(order, seller, 2)
        )
    return {metric: Counts(t.population, t.defects, t.protected, t.excused) for metric, t in tallies.items()}


def metric_counts(
    sellers: Sequence[Seller],
    orders_by_seller: dict[int, Sequence[Order]],
    day: dt.date,
    incidents_by_seller: dict[int, Sequence[Incident]] | None = None,
) -> dict[tuple[int, int], dict[str, Counts]]:
    """Keyed like ``metrics.selectors.metric_counts``: (seller id, window days)."""
    incidents_by_seller = incidents_by_seller or {}
    return {
        (seller.id, window_days): window_counts(
            seller, orders_by_seller.get(seller.id, ()), day, window_days, incidents_by_seller.get(seller.id, ())
        )
        for seller in sellers
        for window_days in WINDOWS
    }


@dataclass(frozen=True)
class ReportRow:
    order_id: str
    units: int
    flags: dict[str, bool] = field(hash=False)


def report_rows(seller: Seller, orders: Iterable[Order], day: dt.date, window_days: int) -> list[ReportRow]:
    """SPEC section 5: one row per order in the window with at least one flag."""
    rows = []
    for order in window_orders(seller, orders, day, window_days):
        flags = order_flags(order, seller, day)
        if any(flags.values()):
            rows.append(ReportRow(order.order_id, order.units, flags))
    return sorted(rows, key=lambda row: row.order_id)


# --- Reading the portal's model instances (attribute access only, no queries). ----------


def seller_of(model_seller, controls: Iterable = (), events: Iterable = ()) -> Seller:
    """A reference seller from a ``sellers.models.Seller``, its ``VolumeControlChange`` rows
    and its ``SellerEvent`` rows (the status history)."""
    return Seller(
        id=model_seller.pk,
        timezone=model_seller.timezone,
        enrolled_on=model_seller.enrolled_on,
        history=tuple((event.kind, event.created_at) for event in events),
        controls=tuple(
            Control(
                effective_at=change.effective_at,
                daily_cap=change.daily_cap,
                paused=change.paused,
                paused_until=change.paused_until,
                sequence=change.pk,
            )
            for change in controls
        ),
    )


def order_of(model_order) -> Order:
    """A reference order from the raw imported fields of a ``sellers.models.Order``."""
    return Order(
        order_id=model_order.order_id,
        purchased_at=model_order.purchased_at,
        units=model_order.units,
        promised_ship_date=model_order.promised_ship_date,
        promised_delivery_date=model_order.promised_delivery_date,
        buy_shipping=model_order.buy_shipping,
        first_scan_at=model_order.first_scan_at,
        ship_confirmed_at=model_order.ship_confirmed_at,
        delivered_at=model_order.delivered_at,
        tracking_id=model_order.tracking_id,
        cancelled_at=model_order.cancelled_at,
        cancelled_by=model_order.cancelled_by,
        cancel_requested_at=model_order.cancel_requested_at,
        carrier=model_order.carrier,
    )


def incident_of(model_incident) -> Incident:
    """A reference incident from a ``metrics.models.Incident``."""
    return Incident(
        id=model_incident.pk,
        carrier=model_incident.carrier,
        start_date=model_incident.start_date,
        end_date=model_incident.end_date,
        order_ids=tuple(model_incident.order_ids),
        metrics=tuple(model_incident.excused_metrics),
        status=model_incident.status,
        decided_at=model_incident.decided_at,
    )
