"""Verdicts that hold over time (SPEC sections 3 and 4): the status history, orders placed
while not eligible, the evaluation start as of D, effective-dated thresholds, 64-bit snapshot
units, a snapshot counted in an earlier zone, and no seller judged before its day ends."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from metrics.definitions import snapshot_column, threshold_column
from metrics.models import DailySnapshot, ThresholdChange
from metrics.selectors import metric_counts, seller_evaluation_start, thresholds_in_force
from metrics.services import (
    ThresholdError,
    daily_run,
    seller_reinstate,
    sellers_readiness,
    snapshots_compute,
    threshold_set,
)
from sellers.choices import CancelledBy, ProgrammeStatus
from sellers.factories import D, OrderFactory, local_moment
from sellers.models import AuditEntry, Order, SellerEvent
from sellers.services import orders_classify_prime
from tests.clock import portal_noon
from tests.factories import status_event_create

DAY = dt.timedelta(days=1)


def morning_after(seller, day: dt.date) -> dt.datetime:
    """02:30 the day after D in the seller's zone: D has ended there."""
    return local_moment(seller, day + DAY, 2, 30)


def run_at(clock, moment: dt.datetime, day: dt.date):
    clock.move_to(moment)
    return daily_run(day=day)


def row_of(seller, day: dt.date) -> dict:
    row = DailySnapshot.objects.get(seller=seller, day=day)
    return {f.name: getattr(row, f.name) for f in row._meta.concrete_fields if f.name not in ("id", "computed_at")}


def failing_day(seller, day: dt.date, make_orders) -> None:
    """One late shipment in ten on D: fails the on-time shipment rate."""
    make_orders(
        OrderFactory.build(seller=seller, late=True, purchased_on=day),
        *(OrderFactory.build(seller=seller, purchased_on=day) for _ in range(9)),
    )


# --- The status history -------------------------------------------------------------------


def test_a_second_reinstatement_does_not_rewrite_an_earlier_day(seller, reviewer, make_orders, clock):
    first_fail = D
    failing_day(seller, first_fail, make_orders)
    assert run_at(clock, morning_after(seller, first_fail), first_fail).revoked == [seller.pk]
    first_reinstatement = local_moment(seller, D + 2 * DAY, 12)
    seller_reinstate(seller=seller, reviewer=reviewer, reason=None, moment=first_reinstatement)
    # A good day after the first reinstatement: it passes and counts only orders since then.
    good_day = D + 3 * DAY
    make_orders(*(OrderFactory.build(seller=seller, purchased_on=good_day) for _ in range(5)))
    assert run_at(clock, morning_after(seller, good_day), good_day).revoked == []
    before = row_of(seller, good_day)
    assert before[snapshot_column("on_time_shipment_rate", 30, "population")] == 5
    # A second revocation and reinstatement later on.
    second_fail = D + 5 * DAY
    failing_day(seller, second_fail, make_orders)
    assert run_at(clock, morning_after(seller, second_fail), second_fail).revoked == [seller.pk]
    seller_reinstate(seller=seller, reviewer=reviewer, reason=None, moment=local_moment(seller, D + 7 * DAY, 12))

    # Recomputed after both: the good day keeps its numbers and revokes nobody.
    again = run_at(clock, local_moment(seller, D + 9 * DAY, 12), good_day)
    assert again.revoked == [] and row_of(seller, good_day) == before
    seller.refresh_from_db()
    assert seller.status == ProgrammeStatus.ELIGIBLE
    assert seller_evaluation_start(seller=seller, day=good_day) == first_reinstatement


def test_orders_cancelled_before_the_reinstatement_the_same_day_do_not_count(seller, reviewer, make_orders, clock):
    failing_day(seller, D, make_orders)
    run_at(clock, morning_after(seller, D), D)
    reinstated_on = D + 2 * DAY
    seller_reinstate(seller=seller, reviewer=reviewer, reason=None, moment=local_moment(seller, reinstated_on, 12))
    # Placed at 09:00 while not eligible and cancelled by the seller at 09:30; then good orders.
    cancelled = OrderFactory.build(
        seller=seller,
        purchased_at=local_moment(seller, reinstated_on, 9),
        cancelled=CancelledBy.SELLER,
        cancelled_after=dt.timedelta(minutes=30),
    )
    after = [OrderFactory.build(seller=seller, purchased_at=local_moment(seller, reinstated_on, 13)) for _ in range(3)]
    make_orders(cancelled, *after)
    assert not Order.objects.get(pk=cancelled.pk).is_prime
    counts = metric_counts(day=reinstated_on, seller_ids=[seller.pk])[(seller.pk, 7)]
    assert counts["cancellation_rate"].population == 3 and counts["cancellation_rate"].defects == 0
    assert run_at(clock, morning_after(seller, reinstated_on), reinstated_on).revoked == []


def test_orders_placed_while_not_eligible_are_not_prime_orders(seller, reviewer, make_orders, clock):
    failing_day(seller, D, make_orders)
    revoked_at = morning_after(seller, D)
    run_at(clock, revoked_at, D)
    before, during = (
        OrderFactory.build(seller=seller, purchased_at=revoked_at - dt.timedelta(minutes=1)),
        OrderFactory.build(seller=seller, purchased_at=revoked_at + dt.timedelta(hours=3)),
    )
    make_orders(before, during)
    reinstated_at = local_moment(seller, D + 3 * DAY, 12)
    seller_reinstate(seller=seller, reviewer=reviewer, reason=None, moment=reinstated_at)
    afterwards = OrderFactory.build(seller=seller, purchased_at=reinstated_at)
    make_orders(afterwards)
    prime = dict(Order.objects.filter(seller=seller).values_list("pk", "is_prime"))
    assert prime[before.pk] and not prime[during.pk] and prime[afterwards.pk]
    # The day's metrics count D's ten orders and the one placed before the revocation, not
    # the one placed while revoked.
    counts = metric_counts(day=D + DAY, seller_ids=[seller.pk])[(seller.pk, 7)]
    assert counts["cancellation_rate"].population == 10 + 1


def test_the_revocation_turns_orders_already_stored_after_it_into_non_prime_orders(seller, make_orders, clock):
    failing_day(seller, D, make_orders)
    later = OrderFactory.build(seller=seller, purchased_at=morning_after(seller, D) + dt.timedelta(hours=1))
    make_orders(later)
    assert Order.objects.get(pk=later.pk).is_prime
    run_at(clock, morning_after(seller, D), D)
    assert not Order.objects.get(pk=later.pk).is_prime


def test_evaluation_start_as_of_d_is_the_latest_reinstatement_by_the_end_of_d(seller, reviewer):
    first, second = local_moment(seller, D, 15), local_moment(seller, D + 4 * DAY, 8)
    for moment in (first, second):
        seller_reinstate(seller=seller, reviewer=reviewer, reason=None, moment=moment)
    assert seller_evaluation_start(seller=seller, day=D - DAY) == seller.enrolment_start
    assert seller_evaluation_start(seller=seller, day=D) == first
    assert seller_evaluation_start(seller=seller, day=D + 3 * DAY) == first
    assert seller_evaluation_start(seller=seller, day=D + 4 * DAY) == second


# --- Effective-dated thresholds -------------------------------------------------------------


@pytest.fixture
def today_is_d_plus_two(clock):
    clock.move_to(portal_noon(D + 2 * DAY))
    return D + 2 * DAY


def test_a_threshold_change_does_not_rewrite_an_earlier_day(seller, make_orders, today_is_d_plus_two, clock):
    # 1 late in 100 on D: exactly 99 %, passing the default.
    make_orders(
        OrderFactory.build(seller=seller, late=True, purchased_on=D),
        *(OrderFactory.build(seller=seller, purchased_on=D) for _ in range(99)),
    )
    assert run_at(clock, morning_after(seller, D), D).revoked == []
    before = row_of(seller, D)
    clock.move_to(portal_noon(today_is_d_plus_two))
    threshold_set(metric="on_time_shipment_rate", value=Decimal("0.995"))  # from today, D+2
    again = run_at(clock, local_moment(seller, D + 3 * DAY, 12), D)
    assert again.revoked == [] and row_of(seller, D) == before
    assert before[threshold_column("on_time_shipment_rate")] == Decimal("0.99")
    assert thresholds_in_force(D + DAY)["on_time_shipment_rate"] == Decimal("0.99")
    assert thresholds_in_force(D + 2 * DAY)["on_time_shipment_rate"] == Decimal("0.995")
    snapshots_compute(day=D + 2 * DAY)
    assert DailySnapshot.objects.get(seller=seller, day=D + 2 * DAY).threshold_on_time_shipment_rate == Decimal("0.995")


def test_a_threshold_cannot_change_for_a_day_already_judged(db, today_is_d_plus_two):
    with pytest.raises(ThresholdError, match="Choose today or a later date"):
        threshold_set(metric="cancellation_rate", value=Decimal("0.01"), effective_from=D + DAY)
    assert not ThresholdChange.objects.exists()


def test_later_changes_of_the_same_day_win_and_each_is_kept(reviewer, today_is_d_plus_two):
    threshold_set(metric="cancellation_rate", value=Decimal("0.01"), effective_from=D + 5 * DAY, changed_by=reviewer)
    threshold_set(metric="cancellation_rate", value=Decimal("0.02"), effective_from=D + 5 * DAY, changed_by=reviewer)
    threshold_set(metric="cancellation_rate", value=Decimal("0.03"), effective_from=D + 9 * DAY)
    assert thresholds_in_force(D + 4 * DAY)["cancellation_rate"] == Decimal("0.005")
    assert thresholds_in_force(D + 5 * DAY)["cancellation_rate"] == Decimal("0.02")
    assert thresholds_in_force(D + 9 * DAY)["cancellation_rate"] == Decimal("0.03")
    assert list(ThresholdChange.objects.order_by("id").values_list("old_value", "new_value")) == [
        (Decimal("0.005"), Decimal("0.01")),
        (Decimal("0.01"), Decimal("0.02")),
        (Decimal("0.02"), Decimal("0.03")),  # the value in force on D+9 when it was made
    ]
    assert AuditEntry.objects.filter(action=AuditEntry.Action.THRESHOLD_CHANGED).count() == 3


def test_set_threshold_command(reviewer, capsys, today_is_d_plus_two):
    call_command(
        "set_threshold", "valid_tracking_rate", "0.98", "--from", (D + 3 * DAY).isoformat(), "--by", "reviewer"
    )
    change = ThresholdChange.objects.get()
    assert (change.metric, change.new_value, change.effective_from, change.changed_by) == (
        "valid_tracking_rate",
        Decimal("0.98"),
        D + 3 * DAY,
        reviewer,
    )
    assert "0.99 -> 0.98 from 2026-11-23; earlier days keep theirs." in capsys.readouterr().out
    call_command("set_threshold", "valid_tracking_rate", "0.97")
    assert ThresholdChange.objects.latest("id").effective_from == D + 2 * DAY  # today by default


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["no_such_metric", "0.9"], "is not a metric; use one of: on_time_shipment_rate"),
        (["cancellation_rate", "abc"], "'abc' is not a number"),
        (["cancellation_rate", "NaN"], "'NaN' is not a number"),
        (["cancellation_rate", "1.5"], "a threshold is a fraction from 0 to 1"),
        (["cancellation_rate", "0.1234567"], "at most 5 decimals, e.g. 0.93456"),
        (["cancellation_rate", "0.01", "--from", "2026-02-30"], "is not a date: write it as YYYY-MM-DD"),
        (["cancellation_rate", "0.01", "--from", "2026-11-21"], "days before today (2026-11-22) may already be judged"),
        (["cancellation_rate", "0.01", "--by", "nobody"], "there is no user of that name"),
    ],
)
def test_set_threshold_refuses_bad_input_and_changes_nothing(db, arguments, message, today_is_d_plus_two):
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call_command("set_threshold", *arguments)
    assert not ThresholdChange.objects.exists()


def test_the_admin_adds_a_threshold_from_a_date_through_the_service(admin_client, today_is_d_plus_two):
    url = "/admin/metrics/thresholdchange/add/"
    refused = admin_client.post(
        url, {"metric": "cancellation_rate", "new_value": "0.01", "effective_from": (D + DAY).isoformat()}
    )
    assert refused.status_code == 200 and "may already be judged" in refused.content.decode()
    unchanged = admin_client.post(
        url, {"metric": "cancellation_rate", "new_value": "0.005", "effective_from": (D + 4 * DAY).isoformat()}
    )
    assert unchanged.status_code == 200 and "is already the threshold from 2026-11-24" in unchanged.content.decode()
    assert not ThresholdChange.objects.exists()
    admin_client.post(
        url, {"metric": "cancellation_rate", "new_value": "0.01", "effective_from": (D + 4 * DAY).isoformat()}
    )
    change = ThresholdChange.objects.get()
    assert change.effective_from == D + 4 * DAY and change.changed_by.username == "admin"
    shown = admin_client.get(f"/admin/metrics/thresholdchange/{change.pk}/change/")
    assert shown.status_code == 200 and 'name="new_value"' not in shown.content.decode()  # read only
    assert admin_client.post(f"/admin/metrics/thresholdchange/{change.pk}/delete/", {"post": "yes"}).status_code == 403
    assert ThresholdChange.objects.filter(pk=change.pk).exists()


# --- Counts never overflow -------------------------------------------------------------------


def test_no_window_sum_overflows_a_snapshot_column(seller, make_orders, clock):
    make_orders(*(OrderFactory.build(seller=seller, purchased_on=D) for _ in range(3)))
    # More units than a 32-bit column holds, as 215,000 orders of 10,000 units would sum to.
    Order.objects.filter(seller=seller).update(units=1_500_000_000)
    run_at(clock, morning_after(seller, D), D)
    row = DailySnapshot.objects.get(seller=seller, day=D)
    assert getattr(row, snapshot_column("cancellation_rate", 30, "population")) == 4_500_000_000


# --- A snapshot counted in an earlier time zone ----------------------------------------------


def test_a_day_counted_before_a_time_zone_change_stays_as_it_was(seller, make_orders, clock):
    # 23:30 in Los Angeles on D is D+1 in New York.
    make_orders(OrderFactory.build(seller=seller, purchased_at=local_moment(seller, D, 23, 30)))
    run_at(clock, morning_after(seller, D), D)
    before = row_of(seller, D)
    assert before[snapshot_column("cancellation_rate", 7, "population")] == 1
    seller.timezone = "America/New_York"
    seller.save(update_fields=["timezone"])
    Order.objects.filter(seller=seller).update(purchase_date=D + DAY)  # re-dated in the new zone
    run_at(clock, morning_after(seller, D + 5 * DAY), D)
    assert row_of(seller, D) == before
    run_at(clock, morning_after(seller, D + 5 * DAY), D + DAY)
    assert DailySnapshot.objects.get(seller=seller, day=D + DAY).timezone == "America/New_York"


# --- No seller judged before its day ends ----------------------------------------------------


@pytest.fixture
def honolulu(db):
    from tests.factories import SellerFactory

    return SellerFactory(timezone="Pacific/Honolulu", merchant_token="HONOLULU01")


@pytest.mark.parametrize(
    ("day", "run_at_utc", "honolulu_waits"),
    [
        # Daylight time in Los Angeles: 02:30 PDT is 09:30 UTC, 23:30 in Honolulu.
        (dt.date(2026, 7, 14), dt.datetime(2026, 7, 15, 9, 30, tzinfo=dt.UTC), True),
        # Standard time: 02:30 PST is 10:30 UTC, 00:30 in Honolulu.
        (dt.date(2027, 1, 14), dt.datetime(2027, 1, 15, 10, 30, tzinfo=dt.UTC), False),
        # The night the clocks go back (2026-11-01): 02:30 PST is 10:30 UTC.
        (dt.date(2026, 10, 31), dt.datetime(2026, 11, 1, 10, 30, tzinfo=dt.UTC), False),
        # The night the clocks go forward (2027-03-14): 02:30 does not exist; 03:30 PDT is 10:30 UTC.
        (dt.date(2027, 3, 13), dt.datetime(2027, 3, 14, 9, 30, tzinfo=dt.UTC), True),
    ],
)
def test_the_scheduled_run_waits_for_the_end_of_d_in_each_sellers_zone(
    seller, honolulu, day, run_at_utc, honolulu_waits, settings, clock
):
    from metrics import tasks

    settings.TIME_ZONE = "America/Los_Angeles"
    queued = []
    clock.move_to(run_at_utc)
    with mock.patch.object(tasks.daily_evaluation, "apply_async", side_effect=lambda *a, **k: queued.append(k)):
        summary = tasks.daily_evaluation.run(day.isoformat())
    evaluated = set(DailySnapshot.objects.filter(day=day).values_list("seller_id", flat=True))
    if honolulu_waits:
        assert evaluated == {seller.pk} and summary["waiting"] == 1
        end_in_honolulu = dt.datetime.combine(day + DAY, dt.time(), tzinfo=honolulu.zone)
        assert queued == [{"eta": end_in_honolulu}]
        # Run when queued, D has ended in Honolulu too.
        clock.move_to(end_in_honolulu)
        tasks.daily_evaluation.run(day.isoformat(), tasks.DEFAULT_CHUNK_SIZE, [honolulu.pk])
        assert set(DailySnapshot.objects.filter(day=day).values_list("seller_id", flat=True)) == {
            seller.pk,
            honolulu.pk,
        }
    else:
        assert evaluated == {seller.pk, honolulu.pk} and summary["waiting"] == 0 and queued == []


def test_without_a_broker_the_run_leaves_the_waiting_sellers_to_run_daily(seller, honolulu, caplog, clock):
    """In-process (the quick start), a task cannot wait for Honolulu's midnight: it says so
    instead of queueing itself again at once, over and over."""
    from metrics import tasks

    clock.move_to(dt.datetime(2026, 7, 15, 9, 30, tzinfo=dt.UTC))
    summary = tasks.daily_evaluation.apply(args=["2026-07-14"]).get()
    assert summary["waiting"] == 1
    assert set(DailySnapshot.objects.values_list("seller_id", flat=True)) == {seller.pk}
    assert "without a broker nothing queues them: run run_daily --date 2026-07-14 then" in caplog.text


def test_a_threshold_cannot_change_from_a_day_already_judged_for_some_seller(db, clock):
    from tests.factories import SellerFactory

    tokyo = SellerFactory(timezone="Asia/Tokyo", merchant_token="TOKYO0001")
    # 08:00 on D+2 in Los Angeles is past midnight in Tokyo: D+2 is already judged there.
    run_at(clock, local_moment(tokyo, D + 3 * DAY, 1), D + 2 * DAY)
    assert timezone.localdate() == D + 2 * DAY  # the portal's today
    with pytest.raises(ThresholdError, match=r"2026-11-22 is already judged\. Choose 2026-11-23"):
        threshold_set(metric="cancellation_rate", value=Decimal("0.01"))
    assert threshold_set(metric="cancellation_rate", value=Decimal("0.01"), effective_from=D + 3 * DAY)


def test_no_path_evaluates_a_seller_before_its_day_ends(seller, honolulu, capsys, clock):
    day = dt.date(2026, 7, 14)
    eleven_thirty_in_honolulu = dt.datetime(2026, 7, 15, 9, 30, tzinfo=dt.UTC)
    clock.move_to(eleven_thirty_in_honolulu)
    call_command("run_daily", "--date", day.isoformat())
    readiness = sellers_readiness(day=day)
    assert readiness.ready == [seller.pk] and readiness.waiting == [honolulu.pk]
    assert not DailySnapshot.objects.filter(seller=honolulu).exists()
    out = capsys.readouterr().out
    assert "1 sellers not evaluated: 2026-07-14 has not ended in their time zone yet." in out
    assert "Run this again after 2026-07-15T00:00:00-10:00." in out


def test_the_seller_row_keeps_no_reinstatement_date_the_history_does(db):
    columns = {c.name for c in connection.introspection.get_table_description(connection.cursor(), "sellers_seller")}
    assert "reinstated_on" not in columns
    assert SellerEvent._meta.db_table == "sellers_sellerevent"


def test_a_zone_change_that_re_dates_a_reinstatement_does_not_turn_an_answered_day_into_a_revocation(
    seller, make_orders, clock
):
    from sellers.services import seller_timezone_change

    seller_timezone_change(seller=seller, timezone_name="Europe/Berlin", actor=None)
    seller.refresh_from_db()
    failing_day(seller, D, make_orders)
    run_at(clock, local_moment(seller, D, 23, 59) - dt.timedelta(days=1), D - DAY)  # D-1: nothing yet
    revoked_at = local_moment(seller, D - DAY, 12)
    status_event_create(seller, SellerEvent.Kind.REVOKED, revoked_at, day=D - 2 * DAY)
    seller.status = ProgrammeStatus.NOT_ELIGIBLE
    seller.save(update_fields=["status"])
    orders_classify_prime(seller_ids=[seller.pk])
    # Reinstated at 09:00 UTC the next day: D+1 in Berlin, still D in Honolulu.
    reinstated_at = dt.datetime(D.year, D.month, D.day + 1, 9, 0, tzinfo=dt.UTC)
    seller_reinstate(seller=seller, reviewer=None, reason=None, moment=reinstated_at)
    morning = dt.datetime(D.year, D.month, D.day + 1, 10, 30, tzinfo=dt.UTC)
    assert run_at(clock, morning, D).revoked == []  # answered by the reinstatement after D
    before = row_of(seller, D)
    seller_timezone_change(seller=seller, timezone_name="Pacific/Honolulu", actor=None)
    assert run_at(clock, morning + 2 * DAY, D).revoked == []
    assert row_of(seller, D) == before


def test_requirements_judge_only_the_latest_day_so_an_earlier_day_keeps_its_verdict(seller, make_orders, clock):
    from sellers.models import OperatingDay

    make_orders(*(OrderFactory.build(seller=seller, purchased_on=D) for _ in range(3)))
    assert run_at(clock, morning_after(seller, D), D).revoked == []
    assert run_at(clock, morning_after(seller, D + DAY), D + DAY).revoked == []
    # Settings from elsewhere break a requirement after both days were judged.
    OperatingDay.objects.filter(seller=seller, weekday=4).update(cutoff=dt.time(12, 0))
    assert run_at(clock, morning_after(seller, D + 3 * DAY), D).revoked == []  # D keeps its verdict
    revoked = run_at(clock, morning_after(seller, D + 3 * DAY), D + 2 * DAY).revoked
    assert revoked == [seller.pk]
    reasons = SellerEvent.objects.get(seller=seller, kind=SellerEvent.Kind.REVOKED).reasons
    assert reasons == [{"kind": "requirement", "requirement": "weekday_cutoff"}]


def test_the_thresholds_admin_says_what_is_in_force_and_how_to_type_a_threshold(admin_client, today_is_d_plus_two):
    listed = admin_client.get("/admin/metrics/thresholdchange/").content.decode()
    assert "In force today: On-time shipment rate 99.00 % (0.99); On-time delivery rate 93.50 % (0.935);" in listed
    typed_as_percent = admin_client.post(
        "/admin/metrics/thresholdchange/add/",
        {"metric": "cancellation_rate", "new_value": "98.5", "effective_from": (D + 4 * DAY).isoformat()},
    )
    assert "Enter the threshold as a share from 0 to 1 with at most 5 decimals" in typed_as_percent.content.decode()
    added = admin_client.post(
        "/admin/metrics/thresholdchange/add/",
        {"metric": "cancellation_rate", "new_value": "0.01", "effective_from": (D + 4 * DAY).isoformat()},
        follow=True,
    )
    assert "cancellation_rate: 0.00500 -&gt; 0.01000 from 2026-11-24" in added.content.decode()
