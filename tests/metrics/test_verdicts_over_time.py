"""A day's numbers and verdict never change when the day is computed again later (SPEC
sections 3 and 4), whatever happened since.

Hypothesis writes a history of a seller's days: orders placed and their facts (scans,
confirmations, deliveries, cancellations) arriving as they happen, daily evaluations the
morning after each day, revocations, reinstatements, threshold changes, pauses and caps of the
Prime badge, and a change of the seller's time zone. The simulation plays the history in the
order of its moments, with the portal's clock at each; after every morning's evaluation it
computes every earlier day again and compares the stored snapshot and the verdict with what
the morning after that day gave.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import os
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from metrics.definitions import METRICS
from metrics.models import DailySnapshot
from metrics.services import daily_run, seller_reinstate, threshold_set
from sellers.models import Order, Seller, SellerEvent, day_end
from sellers.services import orders_classify_prime, seller_timezone_change, volume_control_update
from tests.clock import Clock
from tests.factories import SellerFactory

FIRST_DAY = dt.date(2026, 10, 28)  # the history crosses the end of US daylight time (Nov. 1)
DAYS = 7
ZONES = ("America/Los_Angeles", "Pacific/Honolulu", "Europe/Berlin", "America/New_York")
PORTAL_ZONE = "America/Los_Angeles"
MINUTES_A_DAY = 24 * 60


@dataclass(frozen=True)
class OrderPlan:
    """An order placed at ``purchase_minute`` of its local day and what then happens to it,
    each fact at a number of minutes after the purchase (None: never)."""

    day: int
    purchase_minute: int
    units: int
    ship_days: int
    delivery_days: int
    scan_after: int | None
    confirm_after: int | None
    deliver_after: int | None
    cancel_after: int | None
    cancel_request_after: int | None
    buy_shipping: bool
    tracking: bool


@st.composite
def order_plans(draw, day: int) -> OrderPlan:
    cancelled = draw(st.integers(0, 5)) == 0
    scan_after = None if cancelled else draw(st.one_of(st.none(), st.integers(30, 4 * MINUTES_A_DAY)))
    return OrderPlan(
        day=day,
        purchase_minute=draw(st.integers(0, MINUTES_A_DAY - 1)),
        units=draw(st.integers(1, 3)),
        ship_days=draw(st.integers(0, 1)),
        delivery_days=draw(st.integers(1, 3)),
        scan_after=scan_after,
        confirm_after=None if cancelled else draw(st.one_of(st.none(), st.integers(20, 2 * MINUTES_A_DAY))),
        deliver_after=None
        if scan_after is None
        else draw(st.one_of(st.none(), st.integers(scan_after + 60, scan_after + 5 * MINUTES_A_DAY))),
        cancel_after=draw(st.integers(1, 12 * 60)) if cancelled else None,
        cancel_request_after=draw(st.one_of(st.none(), st.integers(0, 12 * 60))) if cancelled else None,
        buy_shipping=draw(st.integers(0, 4)) > 0,
        tracking=draw(st.integers(0, 6)) > 0,
    )


@st.composite
def actions(draw, day: int) -> tuple:
    """Something staff or the seller does at a minute of a day (in the portal's zone)."""
    minute = draw(st.integers(0, MINUTES_A_DAY - 1))
    kind = draw(st.sampled_from(["pause", "cap", "resume", "threshold", "reinstate", "reinstate", "timezone"]))
    if kind == "pause":
        return (day, minute, kind, draw(st.one_of(st.none(), st.integers(60, 2 * MINUTES_A_DAY))))
    if kind == "cap":
        return (day, minute, kind, draw(st.integers(0, 3)))
    if kind == "threshold":
        metric = draw(st.sampled_from(METRICS))
        value = Decimal(draw(st.integers(0, 100))) / 100
        return (day, minute, kind, (metric, value, draw(st.integers(0, 3))))
    if kind == "timezone":
        return (day, minute, kind, draw(st.sampled_from(ZONES)))
    return (day, minute, kind, None)


@st.composite
def histories(draw) -> dict:
    orders, staff = [], []
    for day in range(DAYS):
        orders.extend(draw(st.lists(order_plans(day), max_size=5)))
        staff.extend(draw(st.lists(actions(day), max_size=2)))
    return {"zone": draw(st.sampled_from(ZONES)), "orders": orders, "actions": staff}


@dataclass
class Simulation:
    seller: Seller
    now: dt.datetime = field(default_factory=lambda: dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    morning: dict = field(default_factory=dict)  # day -> (snapshot row, verdict)


def _local_moment(zone_name: str, day: dt.date, minute: int) -> dt.datetime:
    from sellers.models import zone

    naive = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=minute)
    return naive.replace(tzinfo=zone(zone_name)).astimezone(dt.UTC)


def _order_facts(plan: OrderPlan, order_id: str, purchased_at: dt.datetime, zone_name: str) -> dict:
    """The order's fields with every fact, and when each fact happens."""
    from sellers.models import zone

    local_day = purchased_at.astimezone(zone(zone_name)).date()
    ship_date = local_day + dt.timedelta(days=plan.ship_days)

    def after(minutes):
        return None if minutes is None else purchased_at + dt.timedelta(minutes=minutes)

    cancelled_at = after(plan.cancel_after)
    return {
        "order_id": order_id,
        "purchased_at": purchased_at,
        "units": plan.units,
        "promised_ship_date": ship_date,
        "promised_delivery_date": ship_date + dt.timedelta(days=plan.delivery_days),
        "first_scan_at": after(plan.scan_after),
        "ship_confirmed_at": after(plan.confirm_after),
        "delivered_at": after(plan.deliver_after),
        "buy_shipping": plan.buy_shipping,
        "carrier": "UPS Ground",
        "tracking_id": f"1Z{order_id}" if plan.tracking else "",
        "ship_to_state": "CA",
        "cancelled_at": cancelled_at,
        "cancelled_by": "seller" if cancelled_at else "",
        "cancel_requested_at": after(plan.cancel_request_after) if cancelled_at else None,
    }


EVENT_FIELDS = ("first_scan_at", "ship_confirmed_at", "delivered_at", "cancelled_at", "cancel_requested_at")


def _write_order(seller: Seller, facts: dict, known_until: dt.datetime) -> None:
    """The order as the marketplace and the carriers have reported it by ``known_until``: a
    fact that has not happened yet is empty, as in an import."""
    fields = dict(facts)
    for name in EVENT_FIELDS:
        if fields[name] is not None and fields[name] > known_until:
            fields[name] = None
    if fields["cancelled_at"] is None:
        fields["cancelled_by"] = ""
        fields["cancel_requested_at"] = None
    seller.refresh_from_db(fields=["timezone"])
    order = Order.objects.filter(seller=seller, order_id=fields["order_id"]).first() or Order(seller=seller)
    for name, value in fields.items():
        setattr(order, name, value)
    order.set_local_dates(seller.zone)
    order.save()
    orders_classify_prime(seller_ids=[seller.pk], since=order.purchase_date)


def _snapshot(seller: Seller, day: dt.date) -> dict | None:
    row = DailySnapshot.objects.filter(seller=seller, day=day).first()
    if row is None:
        return None
    return {f.name: getattr(row, f.name) for f in row._meta.concrete_fields if f.name not in ("id", "computed_at")}


def _play(history: dict, clock: Clock) -> None:
    seller = SellerFactory(timezone=history["zone"], enrolled_on=FIRST_DAY - dt.timedelta(days=40))
    simulation = Simulation(seller=seller)
    sequence = itertools.count()
    timeline: list = []  # (moment, sequence, kind, payload)

    def at(moment, kind, payload=None):
        heapq.heappush(timeline, (moment, next(sequence), kind, payload))

    for number, plan in enumerate(history["orders"]):
        day = FIRST_DAY + dt.timedelta(days=plan.day)
        # Placed in the seller's zone at the start of the history; a later zone change re-dates it.
        purchased_at = _local_moment(history["zone"], day, plan.purchase_minute)
        facts = _order_facts(plan, f"S{number:04d}", purchased_at, history["zone"])
        for moment in {purchased_at, *(facts[name] for name in EVENT_FIELDS if facts[name] is not None)}:
            at(moment, "order", facts)
    for day_number, minute, kind, payload in history["actions"]:
        at(_local_moment(PORTAL_ZONE, FIRST_DAY + dt.timedelta(days=day_number), minute), kind, payload)
    for day_number in range(DAYS):
        day = FIRST_DAY + dt.timedelta(days=day_number)
        # The schedule: 02:30 the next morning in the portal's zone, or the end of D in the
        # seller's zone when that comes later (the task waits for it): whichever zone the
        # seller has by then, D has ended in all of them.
        latest_end = max(day_end(day, zone_name) for zone_name in ZONES)
        at(max(_local_moment(PORTAL_ZONE, day + dt.timedelta(days=1), 150), latest_end), "morning", day)

    while timeline:
        moment, _n, kind, payload = heapq.heappop(timeline)
        simulation.now = moment
        clock.move_to(moment)
        _apply(simulation, kind, payload)


def _apply(simulation: Simulation, kind: str, payload) -> None:
    seller = simulation.seller
    if kind == "order":
        _write_order(seller, payload, simulation.now)
    elif kind in ("pause", "cap", "resume"):
        # Through the service the settings page and the admin use, audited.
        until = None if kind != "pause" or payload is None else simulation.now + dt.timedelta(minutes=payload)
        volume_control_update(
            seller=seller,
            actor=None,
            daily_cap=payload if kind == "cap" else None,
            paused=kind == "pause",
            paused_until=until,
            now=simulation.now,
        )
    elif kind == "threshold":
        metric, value, days_ahead = payload
        from django.utils import timezone

        threshold_set(metric=metric, value=value, effective_from=timezone.localdate() + dt.timedelta(days=days_ahead))
        event("threshold changed")
    elif kind == "reinstate":
        seller.refresh_from_db()
        if not seller.is_eligible:
            seller_reinstate(seller=seller, reviewer=None, reason=None, moment=simulation.now)
            event("reinstated")
    elif kind == "timezone":
        seller_timezone_change(seller=seller, timezone_name=payload, actor=None)
        seller.refresh_from_db()
        event("time zone changed")
    elif kind == "morning":
        _morning(simulation, payload)


def _morning(simulation: Simulation, day: dt.date) -> None:
    """D's evaluation, then every earlier day computed again: each must give what its own
    morning gave, and revoke nobody."""
    seller = simulation.seller
    result = daily_run(day=day)
    assert not result.waiting, "the schedule runs after D has ended in the seller's zone"
    seller.refresh_from_db()
    simulation.morning[day] = (_snapshot(seller, day), result.revoked)
    if result.revoked:
        event("revoked")
    for earlier, (snapshot, _revoked) in simulation.morning.items():
        again = daily_run(day=earlier)
        assert again.revoked == [], f"{earlier} computed again at {simulation.now} revoked the seller"
        assert _snapshot(seller, earlier) == snapshot, f"{earlier} computed again at {simulation.now} changed"
    assert SellerEvent.objects.filter(seller=seller, kind=SellerEvent.Kind.REVOKED, day=day).count() == len(
        result.revoked
    )


@pytest.mark.django_db
@settings(
    max_examples=int(os.environ.get("HISTORY_PROPERTY_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(history=histories())
def test_a_day_computed_again_later_gives_the_same_snapshot_and_verdict(history, settings_override, clock):
    with transaction.atomic():
        try:
            _play(history, clock)
        finally:
            transaction.set_rollback(True)


@pytest.fixture
def settings_override(settings):
    settings.TIME_ZONE = PORTAL_ZONE
    return settings
