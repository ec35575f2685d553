"""Which orders are Prime orders (SPEC section 3): pauses and daily caps shield sellers."""

from __future__ import annotations

import datetime as dt

import pytest

from sellers.factories import D, OrderFactory, local_moment
from sellers.services import volume_control_change

pytestmark = pytest.mark.django_db


def at(seller, hour, minute=0, day=D):
    return local_moment(seller, day, hour, minute)


def test_orders_are_prime_without_a_volume_control(seller, make_orders):
    orders = make_orders(OrderFactory.build(seller=seller), OrderFactory.build(seller=seller))
    assert [o.is_prime for o in orders] == [True, True]


def test_order_placed_while_paused_is_not_prime(seller, make_orders):
    volume_control_change(seller=seller, daily_cap=None, paused=True, effective_at=at(seller, 8))
    volume_control_change(seller=seller, daily_cap=None, paused=False, effective_at=at(seller, 12))
    orders = make_orders(
        OrderFactory.build(seller=seller, purchased_at=at(seller, 7, 59)),
        OrderFactory.build(seller=seller, purchased_at=at(seller, 8)),
        OrderFactory.build(seller=seller, purchased_at=at(seller, 11, 59)),
        OrderFactory.build(seller=seller, purchased_at=at(seller, 12)),
    )
    assert [o.is_prime for o in orders] == [True, False, False, True]


def test_pause_ends_by_itself_at_paused_until(seller, make_orders):
    volume_control_change(
        seller=seller, daily_cap=None, paused=True, paused_until=at(seller, 10), effective_at=at(seller, 8)
    )
    orders = make_orders(
        OrderFactory.build(seller=seller, purchased_at=at(seller, 9)),
        OrderFactory.build(seller=seller, purchased_at=at(seller, 10)),
    )
    assert [o.is_prime for o in orders] == [False, True]


def test_orders_past_the_daily_cap_are_not_prime_and_the_cap_resets_each_local_day(seller, make_orders):
    volume_control_change(
        seller=seller, daily_cap=2, paused=False, effective_at=at(seller, 0, 0, D - dt.timedelta(days=1))
    )
    orders = make_orders(
        *(OrderFactory.build(seller=seller, purchased_at=at(seller, 9 + i)) for i in range(3)),
        OrderFactory.build(seller=seller, purchased_at=at(seller, 9, 0, D + dt.timedelta(days=1))),
    )
    assert [o.is_prime for o in orders] == [True, True, False, True]


def test_cap_counts_earlier_unpaused_orders_even_those_placed_before_the_cap(seller, make_orders):
    orders_before = [
        OrderFactory.build(seller=seller, purchased_at=at(seller, 8)),
        OrderFactory.build(seller=seller, purchased_at=at(seller, 9)),
    ]
    make_orders(*orders_before)
    volume_control_change(seller=seller, daily_cap=2, paused=False, effective_at=at(seller, 10))
    orders = make_orders(OrderFactory.build(seller=seller, purchased_at=at(seller, 11)))
    assert orders[0].is_prime is False


def test_orders_placed_while_paused_do_not_use_up_the_cap(seller, make_orders):
    volume_control_change(seller=seller, daily_cap=1, paused=True, effective_at=at(seller, 0))
    volume_control_change(seller=seller, daily_cap=1, paused=False, effective_at=at(seller, 12))
    orders = make_orders(
        OrderFactory.build(seller=seller, purchased_at=at(seller, 9)),
        OrderFactory.build(seller=seller, purchased_at=at(seller, 13)),
        OrderFactory.build(seller=seller, purchased_at=at(seller, 14)),
    )
    assert [o.is_prime for o in orders] == [False, True, False]


def test_same_moment_orders_are_ranked_by_order_id(seller, make_orders):
    volume_control_change(seller=seller, daily_cap=1, paused=False, effective_at=at(seller, 0))
    orders = make_orders(
        OrderFactory.build(seller=seller, order_id="B-2", purchased_at=at(seller, 9)),
        OrderFactory.build(seller=seller, order_id="A-1", purchased_at=at(seller, 9)),
    )
    assert {o.order_id: o.is_prime for o in orders} == {"A-1": True, "B-2": False}


def test_cap_of_zero_makes_no_order_prime(seller, make_orders):
    volume_control_change(seller=seller, daily_cap=0, paused=False, effective_at=at(seller, 0))
    assert [o.is_prime for o in make_orders(OrderFactory.build(seller=seller, purchased_at=at(seller, 9)))] == [False]


def test_a_later_volume_change_reclassifies_existing_orders(seller, make_orders):
    make_orders(
        OrderFactory.build(seller=seller, purchased_at=at(seller, 9)),
        OrderFactory.build(seller=seller, purchased_at=at(seller, 10)),
    )
    volume_control_change(seller=seller, daily_cap=1, paused=False, effective_at=at(seller, 0))
    assert list(seller.orders.order_by("purchased_at").values_list("is_prime", flat=True)) == [True, False]
