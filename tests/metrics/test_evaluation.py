"""Daily evaluation (SPEC section 4): snapshots, revocation, events, email, idempotence."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from metrics.models import MetricSnapshot, ThresholdChange
from metrics.services import daily_run, snapshots_compute, threshold_set
from sellers.choices import ProgrammeStatus
from sellers.factories import D, OrderFactory
from sellers.models import OperatingDay, Seller, SellerEvent
from tests.clock import portal_noon

pytestmark = pytest.mark.django_db


def test_healthy_seller_stays_eligible_with_fourteen_snapshots(seller, make_orders):
    make_orders(*(OrderFactory.build(seller=seller) for _ in range(10)))
    result = daily_run(day=D)
    assert result.revoked == []
    assert MetricSnapshot.objects.filter(seller=seller, day=D).count() == 14
    seller.refresh_from_db()
    assert seller.status == ProgrammeStatus.ELIGIBLE


def test_failing_metric_revokes_records_why_and_emails_the_users(
    seller, seller_user, make_orders, django_capture_on_commit_callbacks, settings
):
    settings.PORTAL_URL = "https://portal.example.com"
    seller_user.email = "ops@seller.example"
    seller_user.save()
    make_orders(*(OrderFactory.build(seller=seller) for _ in range(9)), OrderFactory.build(seller=seller, late=True))
    with django_capture_on_commit_callbacks(execute=True):
        result = daily_run(day=D)
    assert len(mail.outbox) == 1  # sent only once the revocation committed
    assert result.revoked == [seller.pk]
    seller.refresh_from_db()
    assert seller.status == ProgrammeStatus.NOT_ELIGIBLE
    event = SellerEvent.objects.get(seller=seller)
    assert event.kind == SellerEvent.Kind.REVOKED and event.day == D
    failing = {(r["metric"], r["window_days"]) for r in event.reasons if r["kind"] == "metric"}
    assert ("on_time_shipment_rate", 7) in failing and ("on_time_shipment_rate", 30) in failing
    reason = next(r for r in event.reasons if r.get("metric") == "on_time_shipment_rate")
    assert reason["rate"] == pytest.approx(0.9) and reason["threshold"] == "0.99000"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ops@seller.example"]
    assert "On-time shipment rate over 7 days was 90.00 %" in mail.outbox[0].body
    assert "\nhttps://portal.example.com/performance/\n" in mail.outbox[0].body


def test_not_eligible_seller_stays_not_eligible_whatever_its_metrics(seller, make_orders):
    make_orders(OrderFactory.build(seller=seller, late=True))
    daily_run(day=D)
    seller.orders.all().delete()
    make_orders(OrderFactory.build(seller=seller))
    result = daily_run(day=D + dt.timedelta(days=1))
    assert result.revoked == []
    seller.refresh_from_db()
    assert seller.status == ProgrammeStatus.NOT_ELIGIBLE
    assert SellerEvent.objects.filter(seller=seller).count() == 1


def test_failing_requirement_revokes_even_with_perfect_metrics(seller, make_orders):
    OperatingDay.objects.filter(seller=seller, weekday=0).update(cutoff=dt.time(12, 0))
    make_orders(OrderFactory.build(seller=seller))
    daily_run(day=D)
    event = SellerEvent.objects.get(seller=seller)
    assert event.reasons == [{"kind": "requirement", "requirement": "weekday_cutoff"}]


def test_carrier_pickup_warning_does_not_revoke(seller):
    seller.carrier_services.get().pickups.filter(weekday=2).delete()
    daily_run(day=D)
    seller.refresh_from_db()
    assert seller.status == ProgrammeStatus.ELIGIBLE


def test_running_twice_keeps_one_set_of_snapshots_and_one_revocation(seller, other_seller, make_orders):
    make_orders(OrderFactory.build(seller=seller, late=True), OrderFactory.build(seller=other_seller))
    first = daily_run(day=D)
    key = ("seller_id", "window_days", "metric", "defect_units")
    rows = list(MetricSnapshot.objects.order_by("pk").values_list(*key))
    second = daily_run(day=D)
    assert first.revoked == [seller.pk] and second.revoked == []
    assert MetricSnapshot.objects.count() == 2 * 14
    assert (
        list(MetricSnapshot.objects.order_by("pk").values_list("seller_id", "window_days", "metric", "defect_units"))
        == rows
    )
    assert SellerEvent.objects.count() == 1


def test_recompute_replaces_snapshot_values(seller, make_orders):
    make_orders(OrderFactory.build(seller=seller))
    snapshots_compute(day=D)
    make_orders(OrderFactory.build(seller=seller, late=True))
    snapshots_compute(day=D)
    snapshot = MetricSnapshot.objects.get(seller=seller, day=D, window_days=30, metric="on_time_shipment_rate")
    assert (snapshot.population_units, snapshot.defect_units) == (2, 1)
    assert MetricSnapshot.objects.filter(seller=seller, day=D).count() == 14


def test_snapshot_records_the_threshold_it_was_judged_against(seller, reviewer, make_orders, clock):
    make_orders(*(OrderFactory.build(seller=seller) for _ in range(9)), OrderFactory.build(seller=seller, late=True))
    clock.move_to(portal_noon(D))  # today is D
    threshold_set(metric="on_time_shipment_rate", value=Decimal("0.9"), changed_by=reviewer)
    snapshots_compute(day=D)
    snapshot = MetricSnapshot.objects.get(seller=seller, day=D, window_days=30, metric="on_time_shipment_rate")
    assert snapshot.threshold == Decimal("0.9") and snapshot.passing  # 0.9 == threshold passes
    change = ThresholdChange.objects.get()
    assert (change.old_value, change.new_value, change.changed_by) == (Decimal("0.99"), Decimal("0.9"), reviewer)


def test_threshold_set_refuses_values_outside_zero_and_one():
    with pytest.raises(Exception, match="1"):
        threshold_set(metric="cancellation_rate", value=Decimal("1.5"))


def test_evaluation_with_seller_subset_touches_only_those_sellers(seller, other_seller, make_orders):
    make_orders(OrderFactory.build(seller=seller, late=True), OrderFactory.build(seller=other_seller, late=True))
    daily_run(day=D, chunk_size=1)
    assert set(Seller.objects.values_list("status", flat=True)) == {ProgrammeStatus.NOT_ELIGIBLE}
    assert SellerEvent.objects.count() == 2


def test_run_daily_command_prints_a_summary(seller, make_orders, capsys):
    make_orders(OrderFactory.build(seller=seller, late=True))
    call_command("run_daily", "--date", D.isoformat())
    out = capsys.readouterr().out
    summary = f"Evaluated 1 sellers for {D.isoformat()}: 14 snapshots stored, 1 newly not eligible, 0 newly at risk."
    assert summary in out
    call_command("run_daily", "--date", D.isoformat())
    assert "0 newly not eligible" in capsys.readouterr().out


def test_run_daily_refuses_a_malformed_date(db):
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("run_daily", "--date", "20/11/2026")


def test_run_daily_defaults_to_yesterday_in_the_portal_time_zone(seller, settings, monkeypatch):
    from metrics import services

    monkeypatch.setattr(services.timezone, "localdate", lambda: dt.date(2026, 11, 22))
    call_command("run_daily")
    assert set(MetricSnapshot.objects.values_list("day", flat=True)) == {dt.date(2026, 11, 21)}
