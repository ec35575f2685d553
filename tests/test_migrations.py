"""Today's data joins the histories (issue 13): a reinstatement date and a not-eligible status
become status changes, orders placed while not eligible stop being Prime orders, and stored
thresholds become effective-dated changes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("sellers", "0004_audit_seller_no_separate_index"), ("metrics", "0005_event_seller_no_separate_index")]
AFTER = [("sellers", "0006_audit_timezone_and_order_actions"), ("metrics", "0007_snapshot_timezone")]
# The last migrations with the status history and the threshold changes as tables of their own.
TABLES = [("sellers", "0007_status_changes_name"), ("metrics", "0007_snapshot_timezone")]


def migrate(targets=None):
    """To ``targets``, else to the latest migrations (where every test leaves the database)."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    targets = targets or executor.loader.graph.leaf_nodes()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_the_status_history_and_thresholds_are_migrated_from_todays_data():
    old = migrate(BEFORE)
    Seller = old.get_model("sellers", "Seller")
    Order = old.get_model("sellers", "Order")
    OldEvent = old.get_model("metrics", "SellerEvent")
    Threshold = old.get_model("metrics", "Threshold")
    ThresholdChange = old.get_model("metrics", "ThresholdChange")
    zone = dt.timezone(dt.timedelta(hours=-8))
    revoked_at = dt.datetime(2026, 11, 21, 2, 30, tzinfo=zone)
    Seller.objects.create(
        name="Reinstated",
        merchant_token="REINST01",
        timezone="America/Los_Angeles",
        enrolled_on=dt.date(2026, 1, 1),
        reinstated_on=dt.date(2026, 11, 25),
        status_changed_at=dt.datetime(2026, 11, 25, 11, 0, tzinfo=zone),
    )
    revoked = Seller.objects.create(
        name="Revoked",
        merchant_token="REVOKE01",
        timezone="America/Los_Angeles",
        enrolled_on=dt.date(2026, 1, 1),
        status="not_eligible",
        status_changed_at=revoked_at,
    )
    OldEvent.objects.create(seller=revoked, kind="revoked", day=dt.date(2026, 11, 20))
    OldEvent.objects.filter(seller=revoked).update(created_at=revoked_at)
    # Statuses the old admin could leave without a matching event.
    edited_back = Seller.objects.create(
        name="Edited back",
        merchant_token="EDITED01",
        timezone="America/Los_Angeles",
        enrolled_on=dt.date(2026, 1, 1),
        status_changed_at=dt.datetime(2026, 11, 23, 9, 0, tzinfo=zone),
    )
    OldEvent.objects.create(seller=edited_back, kind="revoked", day=dt.date(2026, 11, 20))
    OldEvent.objects.filter(seller=edited_back).update(created_at=revoked_at)
    edited_off = Seller.objects.create(
        name="Edited off",
        merchant_token="EDITED02",
        timezone="America/Los_Angeles",
        enrolled_on=dt.date(2026, 1, 1),
        status="not_eligible",
        status_changed_at=dt.datetime(2026, 11, 24, 9, 0, tzinfo=zone),
    )

    def order(seller, order_id, purchased_at):
        return Order.objects.create(
            seller=seller,
            order_id=order_id,
            purchased_at=purchased_at,
            units=1,
            promised_ship_date=purchased_at.date(),
            promised_delivery_date=purchased_at.date() + dt.timedelta(days=1),
            buy_shipping=True,
            purchase_date=purchased_at.date(),
            is_prime=True,
        )

    order(revoked, "BEFORE", revoked_at - dt.timedelta(hours=3))
    order(revoked, "AFTER", revoked_at + dt.timedelta(hours=3))
    order(edited_back, "BACK-DURING", revoked_at + dt.timedelta(hours=3))
    order(edited_back, "BACK-AFTER", dt.datetime(2026, 11, 23, 10, 0, tzinfo=zone))
    order(edited_off, "OFF-AFTER", dt.datetime(2026, 11, 24, 10, 0, tzinfo=zone))
    # Migration 0002 stored the defaults; going back here left the table empty.
    Threshold.objects.update_or_create(metric="buy_shipping_rate", defaults={"value": Decimal("0.98")})
    Threshold.objects.update_or_create(metric="cancellation_rate", defaults={"value": Decimal("0.006")})
    ThresholdChange.objects.create(metric="cancellation_rate", old_value=Decimal("0.005"), new_value=Decimal("0.006"))
    ThresholdChange.objects.filter(metric="cancellation_rate").update(
        changed_at=dt.datetime(2026, 11, 30, 20, 0, tzinfo=dt.UTC)
    )

    new = migrate(AFTER)
    Event = new.get_model("sellers", "SellerEvent")
    events = {(e.seller.merchant_token, e.kind, e.day, e.created_at) for e in Event.objects.select_related("seller")}
    assert events == {
        ("REINST01", "reinstated", dt.date(2026, 11, 25), dt.datetime(2026, 11, 25, 11, 0, tzinfo=zone)),
        ("REVOKE01", "revoked", dt.date(2026, 11, 20), revoked_at),
        ("EDITED01", "revoked", dt.date(2026, 11, 20), revoked_at),
        ("EDITED01", "reinstated", dt.date(2026, 11, 23), dt.datetime(2026, 11, 23, 9, 0, tzinfo=zone)),
        ("EDITED02", "revoked", dt.date(2026, 11, 23), dt.datetime(2026, 11, 24, 9, 0, tzinfo=zone)),
    }
    prime = dict(new.get_model("sellers", "Order").objects.values_list("order_id", "is_prime"))
    assert prime == {
        "BEFORE": True,
        "AFTER": False,
        "BACK-DURING": False,
        "BACK-AFTER": True,
        "OFF-AFTER": False,
    }
    changes = new.get_model("metrics", "ThresholdChange").objects.order_by("metric")
    assert [(c.metric, c.new_value, c.effective_from) for c in changes] == [
        ("buy_shipping_rate", Decimal("0.98"), dt.date(2000, 1, 1)),
        ("cancellation_rate", Decimal("0.006"), dt.date(2026, 11, 30)),
    ]
    assert "reinstated_on" not in {f.name for f in new.get_model("sellers", "Seller")._meta.get_fields()}

    # And back: the seller's latest reinstatement day and the thresholds in force today.
    old = migrate(BEFORE)
    reinstated_on = dict(old.get_model("sellers", "Seller").objects.values_list("merchant_token", "reinstated_on"))
    assert reinstated_on == {
        "REINST01": dt.date(2026, 11, 25),
        "REVOKE01": None,
        "EDITED01": dt.date(2026, 11, 23),
        "EDITED02": None,
    }
    values = dict(old.get_model("metrics", "Threshold").objects.values_list("metric", "value"))
    assert values["buy_shipping_rate"] == Decimal("0.98") and values["cancellation_rate"] == Decimal("0.006")
    assert values["on_time_delivery_rate"] == Decimal("0.935")
    migrate()


@pytest.mark.django_db(transaction=True)
def test_the_status_history_and_threshold_changes_become_views_of_the_audit_history_and_back():
    old = migrate(TABLES)
    Seller = old.get_model("sellers", "Seller")
    Event = old.get_model("sellers", "SellerEvent")
    Change = old.get_model("metrics", "ThresholdChange")
    Audit = old.get_model("sellers", "AuditEntry")
    User = old.get_model("sellers", "User")
    reviewer = User.objects.create(username="reviewer")
    seller = Seller.objects.create(
        name="History", merchant_token="HISTORY1", timezone="America/Los_Angeles", enrolled_on=dt.date(2026, 1, 1)
    )
    revoked_at = dt.datetime(2026, 11, 21, 10, 30, tzinfo=dt.UTC)
    reinstated_at = dt.datetime(2026, 11, 25, 7, 30, tzinfo=dt.UTC)  # Nov. 24 in Los Angeles
    reasons = [{"kind": "metric", "metric": "cancellation_rate", "window_days": 30}]
    # Written as the old code wrote them: an event and its audit entry, the same moment.
    Event.objects.create(
        seller=seller, kind="revoked", day=dt.date(2026, 11, 20), reasons=reasons, created_at=revoked_at
    )
    Audit.objects.create(
        seller=seller,
        action="status_changed",
        before={"status": "eligible"},
        after={"status": "not_eligible", "day": "2026-11-20", "reasons": reasons},
        created_at=revoked_at,
    )
    Event.objects.create(
        seller=seller, kind="reinstated", day=dt.date(2026, 11, 24), actor=reviewer, created_at=reinstated_at
    )
    Audit.objects.create(
        seller=seller,
        actor=reviewer,
        action="status_changed",
        before={"status": "not_eligible"},
        after={"status": "eligible", "reinstated_on": "2026-11-24"},
        created_at=reinstated_at,
    )
    # An event without an entry (migration 0005 made it) and an entry without an event (an
    # old admin edit of the status).
    early = dt.datetime(2026, 10, 1, 12, 0, tzinfo=dt.UTC)
    Event.objects.create(seller=seller, kind="revoked", day=dt.date(2026, 9, 30), created_at=early)
    Audit.objects.create(
        seller=seller,
        action="status_changed",
        before={"status": "not_eligible"},
        after={"status": "eligible"},
        created_at=dt.datetime(2026, 10, 2, 12, 0, tzinfo=dt.UTC),
    )
    # A threshold change and its entry a moment apart; one without an entry; an entry from
    # before effective dates.
    changed_at = dt.datetime(2026, 11, 30, 20, 0, tzinfo=dt.UTC)
    Change.objects.create(
        metric="cancellation_rate",
        old_value=Decimal("0.005"),
        new_value=Decimal("0.006"),
        effective_from=dt.date(2026, 12, 1),
        changed_by=reviewer,
        changed_at=changed_at,
    )
    Audit.objects.create(
        actor=reviewer,
        action="threshold_changed",
        before={"metric": "cancellation_rate", "threshold": "0.005"},
        after={"metric": "cancellation_rate", "threshold": "0.006"},
        created_at=changed_at + dt.timedelta(milliseconds=3),
    )
    Change.objects.create(
        metric="buy_shipping_rate",
        old_value=Decimal("0.99"),
        new_value=Decimal("0.98"),
        effective_from=dt.date(2000, 1, 1),
        changed_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC),
    )
    Audit.objects.create(
        action="threshold_changed",
        before={"metric": "late_shipment_rate", "threshold": "0.04"},
        after={"metric": "late_shipment_rate", "threshold": "0.05"},
        created_at=dt.datetime(2026, 6, 1, tzinfo=dt.UTC),
    )

    def events(apps):
        rows = apps.get_model("sellers", "SellerEvent").objects.order_by("created_at")
        return [(e.seller_id, e.kind, e.day, e.actor_id, e.reasons, e.created_at) for e in rows]

    def changes(apps):
        rows = apps.get_model("metrics", "ThresholdChange").objects.order_by("changed_at")
        return [(c.metric, c.old_value, c.new_value, c.effective_from, c.changed_by_id, c.changed_at) for c in rows]

    history, thresholds = events(old), changes(old)
    entries = Audit.objects.count()

    new = migrate()
    assert events(new) == history
    assert changes(new) == thresholds
    # One entry each: only the event and the change that had none gained one.
    assert new.get_model("sellers", "AuditEntry").objects.count() == entries + 2
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relkind FROM pg_class WHERE relname IN ('sellers_sellerevent', 'metrics_thresholdchange')"
        )
        assert [kind for (kind,) in cursor.fetchall()] == ["v", "v"]

    # And back: tables again, holding the same history.
    old = migrate(TABLES)
    assert events(old) == history
    assert changes(old) == thresholds
    migrate()


# The migrations around the excused units of the snapshots (SPEC section 7).
BEFORE_EXCUSAL = [("metrics", "0010_incidents")]
EXCUSAL = [("metrics", "0011_snapshot_excused_units")]


@pytest.mark.django_db(transaction=True)
def test_the_snapshots_gain_excused_units_and_lose_them_going_back():
    old = migrate(BEFORE_EXCUSAL)
    Seller = old.get_model("sellers", "Seller")
    seller = Seller.objects.create(
        name="Excused", merchant_token="EXCUSED1", timezone="America/Los_Angeles", enrolled_on=dt.date(2026, 1, 1)
    )
    windows, metrics = (7, 30), ("on_time_shipment_rate", "on_time_delivery_rate", "buy_shipping_rate",
                                 "cancellation_rate", "valid_tracking_rate", "one_day_delivery_speed",
                                 "two_day_delivery_speed")  # fmt: skip
    figures = {f"threshold_{m}": Decimal("0.99") for m in metrics}
    for w in windows:
        for m in metrics:
            figures |= {f"population_{w}_{m}": 10, f"defects_{w}_{m}": 3, f"protected_{w}_{m}": 1}
            figures[f"passing_{w}_{m}"] = False
    old.get_model("metrics", "DailySnapshot").objects.create(
        seller=seller, day=dt.date(2026, 11, 20), timezone="America/Los_Angeles", **figures
    )

    def view_rows():
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM metrics_metricsnapshot ORDER BY id")
            columns = [column.name for column in cursor.description]
            return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    before = view_rows()
    assert len(before) == 14 and "excused_units" not in before[0]

    migrate(EXCUSAL)
    after = view_rows()
    assert [{k: v for k, v in row.items() if k != "excused_units"} for row in after] == before
    assert {row["excused_units"] for row in after} == {0}
    # Protected and excused units stay within the defects: 1 protected + 3 excused > 3 defects.
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE metrics_dailysnapshot SET excused_7_on_time_delivery_rate = 3")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE metrics_dailysnapshot SET excused_7_on_time_delivery_rate = 2")
    assert [row["excused_units"] for row in view_rows()][1] == 2  # (7, on-time delivery) is the second

    migrate(BEFORE_EXCUSAL)
    assert view_rows() == before
    migrate()
