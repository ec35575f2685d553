"""The control in force and the dashboard's state, read by plain SQL: the same answers as
the queries they replaced."""

from __future__ import annotations

import datetime as dt

import pytest

from metrics.models import DailySnapshot
from metrics.selectors import DashboardState, latest_audit_entries, seller_dashboard_state
from metrics.services import snapshots_compute
from sellers.models import AuditEntry, VolumeControlChange

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 21, 15, 0, tzinfo=dt.UTC)


def test_the_control_in_force_is_the_latest_that_took_effect_by_then(seller, other_seller):
    assert seller.volume_control_at(NOW) is None
    first = VolumeControlChange.objects.create(seller=seller, effective_at=NOW - dt.timedelta(days=2), daily_cap=5)
    tied = VolumeControlChange.objects.create(seller=seller, effective_at=NOW, daily_cap=7)
    same_moment = VolumeControlChange.objects.create(seller=seller, effective_at=NOW, daily_cap=8)
    VolumeControlChange.objects.create(seller=seller, effective_at=NOW + dt.timedelta(microseconds=1), daily_cap=9)
    VolumeControlChange.objects.create(seller=other_seller, effective_at=NOW, daily_cap=1)

    assert seller.volume_control_at(NOW - dt.timedelta(days=3)) is None
    assert seller.volume_control_at(NOW - dt.timedelta(days=1)) == first
    # Effective at the very moment counts; of two at the same moment, the later written.
    assert seller.volume_control_at(NOW) == same_moment != tied
    assert seller.volume_control_at(NOW).daily_cap == 8
    assert seller.volume_control_at(NOW.astimezone(seller.zone)) == same_moment  # any zone, same moment


def test_the_dashboard_state_is_the_latest_day_its_moment_and_the_latest_audit_entry(seller, other_seller):
    assert seller_dashboard_state(seller=seller) == DashboardState(None, None, None)
    day = dt.date(2026, 11, 20)
    snapshots_compute(day=day - dt.timedelta(days=1))
    snapshots_compute(day=day)
    snapshots_compute(day=day - dt.timedelta(days=2))  # a rerun of an older day
    moment = dt.datetime(2026, 11, 21, 9, 0, tzinfo=dt.UTC)
    AuditEntry.objects.create(seller=seller, action=AuditEntry.Action.FULFILMENT, created_at=moment)
    tied = AuditEntry.objects.create(seller=seller, action=AuditEntry.Action.VOLUME_CONTROL, created_at=moment)
    AuditEntry.objects.create(seller=seller, action=AuditEntry.Action.FULFILMENT, created_at=moment - dt.timedelta(1))
    AuditEntry.objects.create(seller=other_seller, action=AuditEntry.Action.FULFILMENT, created_at=moment)

    state = seller_dashboard_state(seller=seller)
    assert state.audit_entry == tied.pk  # of two at the same moment, the later written
    latest = DailySnapshot.objects.get(seller=seller, day=day)
    assert state == DashboardState(
        day, latest.computed_at, latest_audit_entries(seller).values_list("pk", flat=True).first()
    )
    assert isinstance(state.day, dt.date) and state.computed_at.tzinfo is not None
