"""Sellers that never paused nor capped skip the window computation of the Prime decision
(sellers.services.orders_classify_prime): their orders are all Prime, the same answer."""

from __future__ import annotations

import pytest

from sellers.factories import D, OrderFactory, local_moment
from sellers.models import Order
from sellers.services import orders_classify_prime, volume_control_change

pytestmark = pytest.mark.django_db


def test_orders_of_a_seller_without_controls_become_prime_again(seller, other_seller, make_orders):
    mine = make_orders(OrderFactory.build(seller=seller), OrderFactory.build(seller=seller))
    Order.objects.filter(pk__in=[o.pk for o in mine]).update(is_prime=False)
    volume_control_change(
        seller=other_seller, daily_cap=None, paused=True, effective_at=local_moment(other_seller, D, 0)
    )
    theirs = make_orders(OrderFactory.build(seller=other_seller, purchased_at=local_moment(other_seller, D, 9)))

    orders_classify_prime(seller_ids=[seller.pk, other_seller.pk])

    assert set(Order.objects.filter(seller=seller).values_list("is_prime", flat=True)) == {True}
    assert Order.objects.get(pk=theirs[0].pk).is_prime is False


def test_a_lifted_control_still_decides_with_the_window(seller, make_orders):
    # Paused, then unpaused: orders placed during the pause stay non-Prime.
    volume_control_change(seller=seller, daily_cap=None, paused=True, effective_at=local_moment(seller, D, 8))
    volume_control_change(seller=seller, daily_cap=None, paused=False, effective_at=local_moment(seller, D, 12))
    orders = make_orders(
        OrderFactory.build(seller=seller, purchased_at=local_moment(seller, D, 9)),
        OrderFactory.build(seller=seller, purchased_at=local_moment(seller, D, 13)),
    )
    Order.objects.filter(pk__in=[o.pk for o in orders]).update(is_prime=True)

    orders_classify_prime(seller_ids=[seller.pk], since=D)
    assert [Order.objects.get(pk=o.pk).is_prime for o in orders] == [False, True]


def test_the_count_of_changed_decisions_counts_the_unrestricted_sellers(seller, make_orders):
    orders = make_orders(OrderFactory.build(seller=seller), OrderFactory.build(seller=seller))
    Order.objects.filter(pk=orders[0].pk).update(is_prime=False)
    assert orders_classify_prime(seller_ids=[seller.pk]) == 1
    assert orders_classify_prime(seller_ids=[seller.pk]) == 0
