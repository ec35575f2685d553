"""The excusal rule of SPEC section 7, case by case: which orders an approved incident
covers, for which metrics, as of which D, and never a protected unit twice. Each case asks
the SQL half (``q_excused``) and the Python half (``is_excused``) and wants the same answer."""

from __future__ import annotations

import datetime as dt

import pytest

from metrics.incidents import IncidentScope, is_covered, is_excused, q_covered, q_excused
from metrics.models import Incident
from sellers.factories import D, OrderFactory, local_moment, orders_save
from sellers.models import Order


def _incident(seller, *, status=Incident.Status.APPROVED, decided_at=None, metrics=None, **scope) -> Incident:
    values = {"carrier": "", "start_date": D - dt.timedelta(days=6), "end_date": D, "order_ids": []} | scope
    return Incident.objects.create(
        seller=seller,
        kind=Incident.Kind.CARRIER,
        description="The carrier's depot flooded and nothing left it for three days.",
        status=status,
        submitted_at=local_moment(seller, D - dt.timedelta(days=3)),
        decided_at=decided_at or (local_moment(seller, D - dt.timedelta(days=2)) if status != "submitted" else None),
        excused_metrics=metrics if metrics is not None else ["on_time_shipment_rate", "on_time_delivery_rate"],
        **values,
    )


def _both_halves(order: Order, metric: str, day: dt.date) -> tuple[bool, bool]:
    sql = Order.objects.filter(q_excused(metric, day), pk=order.pk).exists()
    python = is_excused(
        order,
        metric,
        day,
        incidents=list(Incident.objects.filter(seller=order.seller)),
        zone_name=order.seller.timezone,
    )
    return sql, python


@pytest.fixture
def late_order(seller):
    [order] = orders_save(OrderFactory.build(seller=seller, late=True, buy_shipping=False))
    return order


def test_an_approved_incident_excuses_the_late_order_on_its_carrier(seller, late_order):
    _incident(seller, carrier=late_order.carrier)
    assert _both_halves(late_order, "on_time_delivery_rate", D) == (True, True)
    assert _both_halves(late_order, "on_time_shipment_rate", D) == (True, True)


def test_another_carrier_is_not_covered(seller, late_order):
    _incident(seller, carrier="Someone Else Freight")
    assert _both_halves(late_order, "on_time_delivery_rate", D) == (False, False)


def test_a_metric_not_approved_is_not_excused(seller, late_order):
    _incident(seller, metrics=["on_time_shipment_rate"])
    assert _both_halves(late_order, "on_time_delivery_rate", D) == (False, False)


def test_an_incident_approved_after_d_does_not_count_for_d(seller, late_order):
    _incident(seller, decided_at=local_moment(seller, D + dt.timedelta(days=1), 0, 0))
    assert _both_halves(late_order, "on_time_delivery_rate", D) == (False, False)
    assert _both_halves(late_order, "on_time_delivery_rate", D + dt.timedelta(days=1)) == (True, True)


def test_submitted_and_rejected_incidents_excuse_nothing(seller, late_order):
    _incident(seller, status=Incident.Status.SUBMITTED)
    _incident(seller, status=Incident.Status.REJECTED)
    assert _both_halves(late_order, "on_time_delivery_rate", D) == (False, False)


def test_listed_orders_are_covered_whatever_their_dates(seller, late_order):
    _incident(seller, order_ids=[late_order.order_id], start_date=D - dt.timedelta(days=1), end_date=D)
    assert _both_halves(late_order, "on_time_delivery_rate", D) == (True, True)


def test_an_order_not_listed_is_not_covered_though_its_dates_are(seller, late_order):
    _incident(seller, order_ids=["SOMETHING-ELSE"])
    assert _both_halves(late_order, "on_time_delivery_rate", D) == (False, False)


def test_a_protected_late_delivery_is_protected_not_excused(seller):
    [order] = orders_save(OrderFactory.build(seller=seller, late=True, buy_shipping=True))
    _incident(seller)
    assert _both_halves(order, "on_time_delivery_rate", D) == (False, False)


def test_the_relevant_date_decides_per_metric(seller):
    scope = IncidentScope(carrier="", start_date=D - dt.timedelta(days=1), end_date=D)
    [order] = orders_save(
        OrderFactory.build(
            seller=seller,
            purchased_on=D - dt.timedelta(days=4),
            promised_ship_date=D - dt.timedelta(days=3),
            promised_delivery_date=D - dt.timedelta(days=1),
        )
    )
    assert not is_covered(order, "on_time_shipment_rate", scope)
    assert is_covered(order, "on_time_delivery_rate", scope)
    assert Order.objects.filter(q_covered("on_time_delivery_rate", scope), pk=order.pk).exists()
    assert not Order.objects.filter(q_covered("on_time_shipment_rate", scope), pk=order.pk).exists()


def test_the_effect_counts_what_an_approval_would_excuse_beyond_what_is_excused(seller, late_order, clock):
    from metrics.selectors import incident_effect

    scope = IncidentScope(carrier=late_order.carrier, start_date=D - dt.timedelta(days=6), end_date=D)
    effects = {(e.window_days, e.metric): e for e in incident_effect(seller=seller, day=D, scope=scope)}
    delivery = effects[(30, "on_time_delivery_rate")]
    assert (delivery.population, delivery.defects, delivery.excused, delivery.would_excuse) == (1, 1, 0, 1)
    assert not delivery.passing_now and delivery.passing_if_approved
    _incident(seller, carrier=late_order.carrier)
    effects = {(e.window_days, e.metric): e for e in incident_effect(seller=seller, day=D, scope=scope)}
    delivery = effects[(30, "on_time_delivery_rate")]
    assert (delivery.excused, delivery.would_excuse) == (1, 0)
    assert delivery.passing_now
