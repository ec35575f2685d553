"""Today's data joins the histories (issue 13): a reinstatement date and a not-eligible status
become status changes, orders placed while not eligible stop being Prime orders, and stored
thresholds become effective-dated changes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("sellers", "0004_audit_seller_no_separate_index"), ("metrics", "0005_event_seller_no_separate_index")]
AFTER = [("sellers", "0006_audit_timezone_and_order_actions"), ("metrics", "0007_snapshot_timezone")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
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
    migrate(AFTER)
