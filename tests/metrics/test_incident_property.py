"""SPEC section 7 as a property: for random sellers, orders (on Buy Shipping labels or not) and
incidents (a carrier or all, date ranges, order lists, metrics, approved before or after the
end of D, rejected, still submitted), every (window, metric) of the daily snapshot row has
excused + protected + counted = defects, and its figures and verdict are the plain-Python
reference's (tests/metrics/reference.py). Which incident excuses what adds up to the excused
units, and the rule's Python half (``metrics.incidents.is_excused``) agrees order by order.

Set METRICS_PROPERTY_EXAMPLES to run more examples than the default.
"""

from __future__ import annotations

import datetime as dt
import os
import zoneinfo

import pytest
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings, target
from hypothesis import strategies as st

from metrics.definitions import METRIC_DEFINITIONS, SNAPSHOT_KEYS, snapshot_column
from metrics.incidents import EXCUSABLE_METRICS, INCIDENT_MAX_DAYS, is_excused
from metrics.models import DailySnapshot, Incident
from metrics.selectors import excused_units_by_incident, thresholds_in_force
from metrics.services import snapshots_compute
from sellers.factories import orders_create
from sellers.models import Order
from tests.factories import SellerFactory, VolumeControlChangeFactory
from tests.metrics import reference
from tests.metrics.test_reference_property import CARRIERS, DAYS, at_local, chance, minute_of_day, sellers

# An id listed by an incident that is no order of its seller.
NOT_AN_ORDER = "NOT-AN-ORDER"


@st.composite
def incidents(draw, zone: zoneinfo.ZoneInfo, day: dt.date, order_ids: list[str]) -> list[dict]:
    """Incidents of one seller: most approved, some rejected or still submitted; decided
    around the end of D (the minutes either side of local midnight included), so some count
    as of D and some only from D+1; ranges of up to seven days over the window and the days
    around it; some listing orders (sometimes an id that is no order of the seller), some a
    carrier, some every carrier; any set of the metrics an incident can excuse."""
    specs = []
    for _ in range(draw(st.integers(0, 4))):
        start = day - dt.timedelta(days=draw(st.integers(-1, 35)))
        listed: list[str] = []
        if order_ids and chance(draw, 1, 2):
            listed = draw(st.lists(st.sampled_from(order_ids), min_size=1, max_size=6, unique=True))
            if chance(draw, 1, 3):
                listed.append(NOT_AN_ORDER)
        status = draw(st.sampled_from(["approved", "approved", "approved", "rejected", "submitted"]))
        decided_at = None
        if status != "submitted":
            decided_on = day + dt.timedelta(days=draw(st.integers(-3, 1)))
            decided_at = at_local(zone, decided_on, draw(minute_of_day), draw(st.integers(0, 1)))
        specs.append(
            {
                "carrier": draw(st.sampled_from(("", *CARRIERS))),
                "start_date": start,
                "end_date": start + dt.timedelta(days=draw(st.integers(0, INCIDENT_MAX_DAYS - 1))),
                "order_ids": listed,
                "excused_metrics": draw(st.lists(st.sampled_from(EXCUSABLE_METRICS), unique=True, max_size=4)),
                "status": status,
                "decided_at": decided_at,
            }
        )
    return specs


@st.composite
def worlds(draw) -> tuple[dt.date, list[dict]]:
    day = draw(st.sampled_from(DAYS))
    drawn = draw(st.lists(sellers(day), min_size=1, max_size=2))
    for seller in drawn:
        order_ids = [order["order_id"] for order in seller["orders"]]
        seller["incidents"] = draw(incidents(zoneinfo.ZoneInfo(seller["timezone"]), day, order_ids))
    return day, drawn


@pytest.mark.django_db
@settings(
    max_examples=int(os.environ.get("METRICS_PROPERTY_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(world=worlds())
def test_excused_protected_and_counted_units_add_up_to_the_defects_as_the_reference_counts_them(world):
    day, drawn_sellers = world
    with transaction.atomic():
        try:
            _check_world(day, drawn_sellers)
        finally:
            transaction.set_rollback(True)


def _incident_create(seller, spec: dict) -> Incident:
    decided_at = spec["decided_at"]
    return Incident.objects.create(
        seller=seller,
        kind=Incident.Kind.CARRIER,
        description="The carrier's depot closed after a storm and nothing left it.",
        submitted_at=(decided_at or at_local(seller.zone, spec["end_date"], 0, 0)) - dt.timedelta(hours=1),
        **spec,
    )


def _check_world(day: dt.date, drawn_sellers: list[dict]) -> None:
    thresholds = thresholds_in_force(day)
    worlds = []
    for drawn in drawn_sellers:
        seller = SellerFactory(timezone=drawn["timezone"], enrolled_on=drawn["enrolled_on"], history=drawn["history"])
        controls = [VolumeControlChangeFactory(seller=seller, **control) for control in drawn["controls"]]
        orders_create(seller, drawn["orders"])
        incidents = [_incident_create(seller, spec) for spec in drawn["incidents"]]
        ref_seller = reference.Seller(
            id=seller.pk,
            timezone=drawn["timezone"],
            enrolled_on=drawn["enrolled_on"],
            history=tuple(drawn["history"]),
            controls=tuple(
                reference.Control(sequence=change.pk, **control)
                for change, control in zip(controls, drawn["controls"], strict=True)
            ),
        )
        ref_orders = [reference.Order(**spec) for spec in drawn["orders"]]
        worlds.append((seller, ref_seller, ref_orders, incidents))

    snapshots_compute(day=day, seller_ids=[seller.pk for seller, *_ in worlds])

    excused_units = 0
    for seller, ref_seller, ref_orders, incidents in worlds:
        ref_incidents = [reference.incident_of(incident) for incident in incidents]
        row = DailySnapshot.objects.get(seller=seller, day=day)
        for window_days, metric in SNAPSHOT_KEYS:
            figures = {
                kind: getattr(row, snapshot_column(metric, window_days, kind))
                for kind in ("population", "defects", "protected", "excused")
            }
            expected = reference.window_counts(ref_seller, ref_orders, day, window_days, ref_incidents)[metric]
            assert figures == {
                "population": expected.population,
                "defects": expected.defects,
                "protected": expected.protected,
                "excused": expected.excused,
            }, (window_days, metric)
            counted = figures["defects"] - figures["protected"] - figures["excused"]
            assert counted >= 0, "no unit is both protected and excused, and both are defects"
            definition = METRIC_DEFINITIONS[metric]
            assert getattr(row, snapshot_column(metric, window_days, "passing")) is definition.passes(
                **figures, threshold=thresholds[metric]
            )
            if metric not in EXCUSABLE_METRICS:
                assert figures["excused"] == 0
            if figures["excused"]:
                event(f"excused units of {metric}")
            if figures["excused"] and figures["protected"]:
                event("protected and excused units in one metric")
            excused_units += figures["excused"]

        for window_days in reference.WINDOWS:
            attributed = excused_units_by_incident(seller=seller, day=day, window_days=window_days)
            for metric in EXCUSABLE_METRICS:
                listed = attributed.get(metric, [])
                excused = getattr(row, snapshot_column(metric, window_days, "excused"))
                assert sum(units for _incident, units in listed) == excused
                assert all(
                    incident.status == Incident.Status.APPROVED and metric in incident.excused_metrics
                    for incident, _units in listed
                )

        # The Python half, order by order, on the orders of the longest window.
        in_window = {order.order_id for order in reference.window_orders(ref_seller, ref_orders, day, 30)}
        model_orders = {order.order_id: order for order in Order.objects.filter(seller=seller)}
        for ref_order in ref_orders:
            if ref_order.order_id not in in_window:
                continue
            for metric in EXCUSABLE_METRICS:
                python_half = is_excused(
                    model_orders[ref_order.order_id], metric, day, incidents=incidents, zone_name=seller.timezone
                )
                assert python_half is reference.is_excused(ref_order, ref_seller, day, metric, ref_incidents)
    target(float(excused_units), label="excused units")
