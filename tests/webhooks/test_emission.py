"""Which changes send which events (SPEC section 8), and that sellers without endpoints
cost the daily run nothing but one query."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from metrics.api import performance_payload
from metrics.services import daily_run, plan_approve, plan_reject, plan_submit
from sellers.factories import D, OrderFactory
from tests.factories import PLAN_ANSWERS
from tests.webhooks.conftest import HOOK_URL
from webhooks.choices import EventType
from webhooks.models import WebhookDelivery
from webhooks.services import webhook_endpoint_create, webhook_events_emit

pytestmark = pytest.mark.django_db

ANSWERS = PLAN_ANSWERS


def bodies(event_type=None):
    deliveries = WebhookDelivery.objects.order_by("id")
    if event_type:
        deliveries = deliveries.filter(event_type=event_type)
    return [json.loads(d.body) for d in deliveries]


@pytest.fixture
def all_events(seller, seller_user):
    return webhook_endpoint_create(seller=seller, actor=seller_user, url=HOOK_URL, event_types=EventType.values)


@pytest.fixture
def failing_orders(seller, other_seller, make_orders):
    make_orders(
        *(OrderFactory.build(seller=seller) for _ in range(9)),
        OrderFactory.build(seller=seller, late=True, purchased_on=D - dt.timedelta(days=3)),
        *(OrderFactory.build(seller=other_seller) for _ in range(3)),
    )


def test_revocation_and_the_daily_snapshot_are_sent_with_the_json_status(
    clock, seller, all_events, failing_orders, receiver
):
    daily_run(day=D)
    seller.refresh_from_db()
    [status] = bodies(EventType.SELLER_STATUS_CHANGED)
    [snapshot] = bodies(EventType.SNAPSHOT_COMPUTED)
    expected = json.loads(json.dumps(performance_payload(seller=seller, day=D, window_days=30)))
    assert status["data"] == expected and status["data"]["status"] == "not_eligible"
    assert snapshot["data"] == expected and snapshot["data"]["date"] == D.isoformat()
    assert status["timestamp"] == "2026-11-21T15:00:00Z"
    # The other seller has no endpoint: nothing for it.
    assert WebhookDelivery.objects.count() == 2


def test_a_rerun_of_the_daily_job_sends_nothing_again(clock, seller, all_events, failing_orders, receiver):
    daily_run(day=D)
    daily_run(day=D)
    assert WebhookDelivery.objects.filter(event_type=EventType.SNAPSHOT_COMPUTED).count() == 1
    assert WebhookDelivery.objects.count() == 2


def test_a_plan_decision_and_the_reinstatement_are_sent(
    clock, seller, seller_user, reviewer, all_events, failing_orders, receiver
):
    daily_run(day=D)
    plan = plan_submit(seller=seller, user=seller_user, merchant_token="SELLER01", **ANSWERS)
    plan_reject(plan=plan, reviewer=reviewer, feedback="Name the carrier whose pickup you added.")
    [rejected] = bodies(EventType.PLAN_DECIDED)
    assert rejected["data"] == {
        "merchant_token": "SELLER01",
        "plan": plan.pk,
        "status": "rejected",
        "submitted_at": plan.submitted_at.isoformat(),
        "decided_at": rejected["data"]["decided_at"],
        "feedback": "Name the carrier whose pickup you added.",
    }
    second = plan_submit(seller=seller, user=seller_user, merchant_token="SELLER01", **ANSWERS)
    plan_approve(plan=second, reviewer=reviewer)
    assert [b["data"]["status"] for b in bodies(EventType.PLAN_DECIDED)] == ["rejected", "approved"]
    statuses = [b["data"]["status"] for b in bodies(EventType.SELLER_STATUS_CHANGED)]
    assert statuses == ["not_eligible", "eligible"]


def test_only_subscribed_enabled_endpoints_get_an_event(clock, seller, seller_user, other_seller, receiver):
    webhook_endpoint_create(seller=seller, actor=seller_user, url=HOOK_URL, event_types=["plan.decided"])
    off = webhook_endpoint_create(seller=seller, actor=seller_user, url=HOOK_URL, event_types=EventType.values)
    off.enabled = False
    off.save()
    assert webhook_events_emit(event_type="snapshot.computed", seller_ids=None, data_for=lambda s: {}) == []
    assert not WebhookDelivery.objects.exists()


def test_an_event_for_some_sellers_reaches_their_endpoints_only(
    clock, seller, seller_user, other_seller, other_seller_user, receiver
):
    mine = webhook_endpoint_create(seller=seller, actor=seller_user, url=HOOK_URL, event_types=EventType.values)
    webhook_endpoint_create(seller=other_seller, actor=other_seller_user, url=HOOK_URL, event_types=EventType.values)
    created = webhook_events_emit(
        event_type=EventType.SELLER_AT_RISK, seller_ids=[seller.pk, 0], data_for=lambda s: {"seller": s.pk}
    )
    assert [WebhookDelivery.objects.get(pk=pk).endpoint_id for pk in created] == [mine.pk]
    assert webhook_events_emit(event_type=EventType.SELLER_AT_RISK, seller_ids=[0], data_for=lambda s: {}) == []


def test_sellers_without_endpoints_cost_one_query_and_create_nothing(seller, other_seller, django_assert_num_queries):
    called = []
    with django_assert_num_queries(1):
        created = webhook_events_emit(
            event_type=EventType.SNAPSHOT_COMPUTED,
            seller_ids=[seller.pk, other_seller.pk],
            data_for=lambda s: called.append(s) or {},
        )
    assert created == [] and called == [] and not WebhookDelivery.objects.exists()
    with django_assert_num_queries(1):
        webhook_events_emit(event_type=EventType.SNAPSHOT_COMPUTED, seller_ids=None, data_for=lambda s: {})


def test_the_daily_run_without_endpoints_creates_no_delivery(clock, failing_orders):
    daily_run(day=D)
    assert not WebhookDelivery.objects.exists()


def test_an_unknown_event_type_is_a_programming_error(seller):
    with pytest.raises(ValueError, match="not a webhook event type"):
        webhook_events_emit(event_type="seller.exploded", seller_ids=[seller.pk], data_for=lambda s: {})


def test_entering_at_risk_is_sent_once_per_entry(clock, seller, all_events, make_orders, receiver):
    from tests.metrics.test_at_risk import at_risk_orders

    make_orders(*at_risk_orders(seller))
    daily_run(day=D)
    [entered] = bodies(EventType.SELLER_AT_RISK)
    assert entered["data"]["at_risk"] is True and entered["data"]["date"] == D.isoformat()
    # The next day's run finds the seller still at risk: no second event.
    clock.move_to(dt.datetime.combine(D + dt.timedelta(days=2), dt.time(15), tzinfo=dt.UTC))
    daily_run(day=D + dt.timedelta(days=1))
    from metrics.models import SellerAtRisk

    assert SellerAtRisk.objects.get(seller=seller).since == D  # still at risk, entered on D
    assert len(bodies(EventType.SELLER_AT_RISK)) == 1


def test_a_failed_emission_leaves_no_entry_behind_so_the_retry_sends_it(
    clock, seller, all_events, make_orders, receiver, monkeypatch
):
    """The entry into at-risk and its webhook deliveries are written together: a database
    failure while writing the deliveries rolls the entry back, and the retried daily run
    enters the seller again and sends the event (else it would find the seller recorded and
    never send it)."""
    from django.db import DatabaseError

    from metrics.models import SellerAtRisk
    from metrics.services import sellers_entered_at_risk
    from tests.metrics.test_at_risk import at_risk_orders
    from webhooks import events

    make_orders(*at_risk_orders(seller))
    daily_run(day=D)
    SellerAtRisk.objects.all().delete()
    WebhookDelivery.objects.filter(event_type=EventType.SELLER_AT_RISK).delete()

    def lost_connection(**kwargs):
        raise DatabaseError("server closed the connection unexpectedly")

    with monkeypatch.context() as patched, pytest.raises(DatabaseError):
        patched.setattr(events, "at_risk_entered_emit", lost_connection)
        sellers_entered_at_risk(day=D, seller_ids=[seller.pk])
    assert not SellerAtRisk.objects.exists()
    assert sellers_entered_at_risk(day=D, seller_ids=[seller.pk]) == [seller.pk]
    assert len(bodies(EventType.SELLER_AT_RISK)) == 1
