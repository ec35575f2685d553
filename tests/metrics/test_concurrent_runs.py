"""Two daily runs at once leave one set of snapshots and one revocation (SPEC section 4).

Real concurrent transactions, on two connections.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from metrics.models import MetricSnapshot
from metrics.services import daily_run
from sellers.factories import D, OrderFactory, orders_save
from sellers.models import SellerEvent

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_runs_at_once_write_one_set_of_snapshots_and_revoke_once(seller, other_seller):
    late = OrderFactory.build(seller=seller, late=True)
    orders_save(late, OrderFactory.build(seller=other_seller))

    barrier = threading.Barrier(2)
    results, errors = [], []

    def run():
        try:
            barrier.wait(timeout=10)
            results.append(daily_run(day=D))
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(len(r.revoked) for r in results) == [0, 1]
    assert MetricSnapshot.objects.filter(day=D).count() == 2 * 14
    assert SellerEvent.objects.filter(seller=seller).count() == 1
