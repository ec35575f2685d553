"""The SQL half and the Python half of every rule in metrics.definitions agree."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics.definitions import METRIC_RULES, REPORT_FLAGS, is_protected_late, q_protected_late
from sellers.choices import CancelledBy
from sellers.factories import D, OrderFactory, local_moment
from sellers.models import Order

offset = st.one_of(st.none(), st.integers(min_value=-3, max_value=3))


@st.composite
def order_shapes(draw):
    purchase_offset = draw(st.integers(min_value=-12, max_value=0))
    scan = draw(offset)
    cancelled = draw(st.booleans()) and scan is None
    return {
        "purchase_offset": purchase_offset,
        "ship_after": draw(st.integers(min_value=0, max_value=2)),
        "deliver_after": draw(st.integers(min_value=0, max_value=5)),
        "scan_after": scan,
        "delivered_after_scan": None if scan is None else draw(offset),
        "confirm_after": draw(offset),
        "cancelled_after": draw(st.integers(min_value=0, max_value=14)) if cancelled else None,
        "cancelled_by": draw(st.sampled_from([CancelledBy.SELLER, CancelledBy.CUSTOMER])) if cancelled else "",
        "requested": draw(st.sampled_from(["none", "before", "after"])) if cancelled else "none",
        "buy_shipping": draw(st.booleans()),
        "tracking": draw(st.sampled_from(["", "1Z9"])),
        "hour": draw(st.sampled_from([0, 9, 23])),
    }


def build(seller, shape) -> Order:
    purchased_on = D + dt.timedelta(days=shape["purchase_offset"])
    purchased_at = local_moment(seller, purchased_on, shape["hour"], 30)

    def day_after(days):
        return None if days is None else local_moment(seller, purchased_on + dt.timedelta(days=max(days, 0)), 15)

    scan = day_after(shape["scan_after"])
    delivered = None
    if scan is not None and shape["delivered_after_scan"] is not None:
        delivered = scan + dt.timedelta(days=max(shape["delivered_after_scan"], 0))
    cancelled_at = None
    requested_at = None
    if shape["cancelled_by"]:
        cancelled_at = purchased_at + (
            dt.timedelta(minutes=20)
            if shape["cancelled_by"] == CancelledBy.CUSTOMER
            else dt.timedelta(hours=shape["cancelled_after"])
        )
        if shape["requested"] == "before":
            requested_at = cancelled_at - dt.timedelta(minutes=5)
        elif shape["requested"] == "after":
            requested_at = cancelled_at + dt.timedelta(minutes=5)
    return OrderFactory.build(
        seller=seller,
        purchased_at=purchased_at,
        promised_ship_date=purchased_on + dt.timedelta(days=shape["ship_after"]),
        promised_delivery_date=purchased_on + dt.timedelta(days=shape["ship_after"] + shape["deliver_after"]),
        first_scan_at=scan,
        delivered_at=delivered,
        ship_confirmed_at=day_after(shape["confirm_after"]),
        cancelled_at=cancelled_at,
        cancelled_by=shape["cancelled_by"],
        cancel_requested_at=requested_at,
        buy_shipping=shape["buy_shipping"],
        tracking_id=shape["tracking"],
    )


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shapes=st.lists(order_shapes(), min_size=1, max_size=25), day_shift=st.integers(min_value=-4, max_value=0))
def test_sql_and_python_halves_of_every_rule_agree(seller, shapes, day_shift):
    day = D + dt.timedelta(days=day_shift)
    with transaction.atomic():
        orders = Order.objects.bulk_create([build(seller, shape) for shape in shapes])
        queryset = Order.objects.filter(pk__in=[o.pk for o in orders])
        rules = [(name, q, py) for name, (_label, q, py) in REPORT_FLAGS.items()]
        rules.append(("protected_late", q_protected_late, is_protected_late))
        for name, rule in METRIC_RULES.items():
            rules.append((f"{name}:population", rule.population, rule.py_population))
            rules.append(
                (
                    f"{name}:defects",
                    lambda d, r=rule: r.population(d) & r.defects(d),
                    lambda o, d, r=rule: r.py_population(o, d) and r.py_defects(o, d),
                )
            )
        for name, q_rule, py_rule in rules:
            in_sql = set(queryset.filter(q_rule(day)).values_list("pk", flat=True))
            in_python = {o.pk for o in queryset if py_rule(o, day)}
            assert in_sql == in_python, name
        transaction.set_rollback(True)
