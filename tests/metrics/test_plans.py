"""Plans of action and reinstatement (SPEC section 4): the services behind the pages."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.core import mail
from django.db import IntegrityError, connections, transaction
from django.utils import timezone

from metrics.models import PlanDraft, PlanOfAction
from metrics.selectors import seller_evaluation_start, seller_reinstated_at
from metrics.services import (
    PlanAlreadyDecided,
    PlanError,
    daily_run,
    plan_approve,
    plan_draft_save,
    plan_reject,
    plan_submit,
    threshold_set,
)
from sellers.choices import ProgrammeStatus
from sellers.factories import D, OrderFactory, local_moment
from sellers.models import AuditEntry, SellerEvent
from tests.factories import PLAN_ANSWERS

pytestmark = pytest.mark.django_db

ANSWERS = PLAN_ANSWERS


# Inside the 7-day window too.
LATE_PURCHASE = D - dt.timedelta(days=3)


@pytest.fixture
def revoked_seller(seller, make_orders):
    make_orders(
        *(OrderFactory.build(seller=seller) for _ in range(9)),
        OrderFactory.build(seller=seller, late=True, purchased_on=LATE_PURCHASE),
    )
    daily_run(day=D)
    seller.refresh_from_db()
    assert seller.status == ProgrammeStatus.NOT_ELIGIBLE
    return seller


def submit(seller, user, token=None, **answers):
    return plan_submit(seller=seller, user=user, merchant_token=token or seller.merchant_token, **(ANSWERS | answers))


def test_plan_copies_the_failing_items_of_the_last_revocation(revoked_seller, seller_user):
    plan = submit(revoked_seller, seller_user)
    revocation = SellerEvent.objects.get(seller=revoked_seller, kind=SellerEvent.Kind.REVOKED)
    assert plan.status == PlanOfAction.Status.SUBMITTED
    assert plan.failing_items == revocation.reasons
    assert {item["metric"] for item in plan.failing_items} == {"on_time_shipment_rate"}


def test_an_eligible_seller_cannot_submit_a_plan(seller, seller_user):
    with pytest.raises(PlanError, match="eligible"):
        submit(seller, seller_user)
    assert not PlanOfAction.objects.exists()


def test_the_merchant_token_must_match(revoked_seller, seller_user):
    with pytest.raises(PlanError, match="merchant token"):
        submit(revoked_seller, seller_user, token="SELLER02")
    assert not PlanOfAction.objects.exists()
    # Typed in lower case with spaces around, it is still the seller's token.
    assert submit(revoked_seller, seller_user, token=" seller01 ").pk


def test_only_one_open_plan_per_seller(revoked_seller, seller_user):
    submit(revoked_seller, seller_user)
    with pytest.raises(PlanError, match="already under review"):
        submit(revoked_seller, seller_user)
    assert PlanOfAction.objects.count() == 1


def test_the_database_refuses_a_second_open_plan_too(revoked_seller, seller_user):
    plan = submit(revoked_seller, seller_user)
    plan.pk = None
    with pytest.raises(IntegrityError), transaction.atomic():
        plan.save()


def test_after_a_rejection_a_new_plan_can_be_submitted(revoked_seller, seller_user, reviewer):
    first = submit(revoked_seller, seller_user)
    plan_reject(plan=first, reviewer=reviewer, feedback="Name the carrier and the pickup times you changed.")
    second = submit(revoked_seller, seller_user)
    assert second.pk != first.pk and second.is_open


def test_a_rejection_requires_feedback(revoked_seller, seller_user, reviewer):
    plan = submit(revoked_seller, seller_user)
    with pytest.raises(PlanError, match="feedback"):
        plan_reject(plan=plan, reviewer=reviewer, feedback="   ")
    plan.refresh_from_db()
    assert plan.is_open


def test_submitting_removes_the_draft(revoked_seller, seller_user):
    plan_draft_save(seller=revoked_seller, user=seller_user, answers={"root_cause": "half written"})
    assert PlanDraft.objects.get(seller=revoked_seller).root_cause == "half written"
    submit(revoked_seller, seller_user)
    assert not PlanDraft.objects.filter(seller=revoked_seller).exists()


def test_approval_reinstates_with_the_local_date_as_evaluation_start(
    revoked_seller, seller_user, reviewer, settings, clock
):
    plan = submit(revoked_seller, seller_user)
    # 05:30 UTC on the 25th is still the 24th in Los Angeles: the local date counts.
    moment = dt.datetime(2026, 11, 25, 5, 30, tzinfo=dt.UTC)

    clock.move_to(moment)
    plan_approve(plan=plan, reviewer=reviewer)

    revoked_seller.refresh_from_db()
    plan.refresh_from_db()
    assert plan.status == PlanOfAction.Status.APPROVED
    assert plan.decided_by == reviewer and plan.decided_at == moment
    assert revoked_seller.status == ProgrammeStatus.ELIGIBLE
    assert revoked_seller.local_date(seller_reinstated_at(seller=revoked_seller)) == dt.date(2026, 11, 24)
    assert seller_evaluation_start(seller=revoked_seller, day=dt.date(2026, 11, 24)) == moment
    assert seller_evaluation_start(seller=revoked_seller, day=dt.date(2026, 11, 23)) == revoked_seller.enrolment_start
    assert revoked_seller.prime_badge_active(moment)
    event = SellerEvent.objects.get(seller=revoked_seller, kind=SellerEvent.Kind.REINSTATED)
    assert event.actor == reviewer and event.day == dt.date(2026, 11, 24)


def test_a_decided_plan_cannot_be_decided_again(revoked_seller, seller_user, reviewer):
    plan = submit(revoked_seller, seller_user)
    plan_approve(plan=plan, reviewer=reviewer)
    with pytest.raises(PlanAlreadyDecided, match="Approved"):
        plan_reject(plan=plan, reviewer=reviewer, feedback="Too late.")
    plan.refresh_from_db()
    assert plan.status == PlanOfAction.Status.APPROVED
    assert AuditEntry.objects.filter(action=AuditEntry.Action.PLAN_DECIDED).count() == 1


def test_staff_without_the_review_permission_cannot_decide(revoked_seller, seller_user, staff_without_review):
    plan = submit(revoked_seller, seller_user)
    with pytest.raises(PlanError, match="review permission"):
        plan_approve(plan=plan, reviewer=staff_without_review)
    plan.refresh_from_db()
    assert plan.is_open


def test_a_seller_user_cannot_approve_their_own_plan_even_with_the_permission(revoked_seller, seller_user):
    from django.contrib.auth.models import Permission

    seller_user.user_permissions.add(Permission.objects.get(codename="review_plan"))
    seller_user = type(seller_user).objects.get(pk=seller_user.pk)  # fresh permission cache
    plan = submit(revoked_seller, seller_user)
    with pytest.raises(PlanError, match="Only programme staff"):
        plan_approve(plan=plan, reviewer=seller_user)
    revoked_seller.refresh_from_db()
    assert revoked_seller.status == ProgrammeStatus.NOT_ELIGIBLE


def test_every_step_is_in_the_audit_history(revoked_seller, seller_user, reviewer):
    first = submit(revoked_seller, seller_user)
    plan_reject(plan=first, reviewer=reviewer, feedback="Say which carrier.")
    second = submit(revoked_seller, seller_user)
    plan_approve(plan=second, reviewer=reviewer)

    entries = list(AuditEntry.objects.filter(seller=revoked_seller).order_by("created_at", "id"))
    assert [(e.action, e.actor) for e in entries] == [
        (AuditEntry.Action.STATUS_CHANGED, None),  # the daily evaluation revoked
        (AuditEntry.Action.PLAN_SUBMITTED, seller_user),
        (AuditEntry.Action.PLAN_DECIDED, reviewer),
        (AuditEntry.Action.PLAN_SUBMITTED, seller_user),
        (AuditEntry.Action.PLAN_DECIDED, reviewer),
        (AuditEntry.Action.STATUS_CHANGED, reviewer),
    ]
    revocation, rejection, reinstatement = entries[0], entries[2], entries[5]
    assert revocation.before == {"status": "eligible"} and revocation.after["status"] == "not_eligible"
    assert revocation.after["reasons"][0]["metric"] == "on_time_shipment_rate"
    assert rejection.after == {"plan": first.pk, "status": "rejected"} and rejection.reason == "Say which carrier."
    assert reinstatement.before["status"] == "not_eligible" and reinstatement.after["status"] == "eligible"


def test_a_threshold_change_is_in_the_audit_history(reviewer):
    from decimal import Decimal

    threshold_set(metric="cancellation_rate", value=Decimal("0.01"), changed_by=reviewer)
    entry = AuditEntry.objects.get(action=AuditEntry.Action.THRESHOLD_CHANGED)
    assert entry.actor == reviewer and entry.seller is None
    assert entry.before == {"metric": "cancellation_rate", "threshold": "0.005"}
    today = timezone.localdate().isoformat()
    assert entry.after == {"metric": "cancellation_rate", "threshold": "0.01", "effective_from": today}


def test_submission_mails_the_reviewers_and_the_decision_mails_the_seller(
    revoked_seller, seller_user, reviewer, staff_without_review, django_capture_on_commit_callbacks, settings
):
    settings.PORTAL_URL = "https://portal.example.com"
    seller_user.email = "ops@seller.example"
    seller_user.language = "de"
    seller_user.save()
    mail.outbox = []
    with django_capture_on_commit_callbacks(execute=True):
        plan = submit(revoked_seller, seller_user)
    assert [m.to for m in mail.outbox] == [["reviewer@programme.example"]]
    assert "SELLER01" in mail.outbox[0].subject
    assert f": https://portal.example.com/review/plans/{plan.pk}/\n" in mail.outbox[0].body
    # The portal's clock is Los Angeles time; the email says UTC, and means it.
    assert f"{plan.submitted_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} (UTC)" in mail.outbox[0].body

    mail.outbox = []
    with django_capture_on_commit_callbacks(execute=True):
        plan_reject(plan=plan, reviewer=reviewer, feedback="Say which carrier you changed.")
    assert [m.to for m in mail.outbox] == [["ops@seller.example"]]
    assert "Say which carrier you changed." in mail.outbox[0].body
    # Where to submit the next plan, as a link a mail client can open.
    assert "\nhttps://portal.example.com/performance/poa/\n" in mail.outbox[0].body


def test_no_mail_leaves_before_the_submission_commits(revoked_seller, seller_user, reviewer):
    mail.outbox = []
    submit(revoked_seller, seller_user)  # the test's transaction never commits
    assert mail.outbox == []


def test_the_whole_journey_back_to_prime(seller, seller_user, reviewer, make_orders, clock):
    """Fails, is revoked, submits, is rejected, submits again, is approved, and the next
    daily run keeps the seller eligible on good new orders: only orders since the
    reinstatement count."""
    make_orders(
        *(OrderFactory.build(seller=seller) for _ in range(9)),
        OrderFactory.build(seller=seller, late=True, purchased_on=LATE_PURCHASE),
    )
    daily_run(day=D)
    seller.refresh_from_db()
    assert seller.status == ProgrammeStatus.NOT_ELIGIBLE

    first = submit(seller, seller_user)
    plan_reject(plan=first, reviewer=reviewer, feedback="Which carrier?")
    seller.refresh_from_db()
    assert seller.status == ProgrammeStatus.NOT_ELIGIBLE

    second = submit(seller, seller_user)

    approved_at = local_moment(seller, D + dt.timedelta(days=1), 9)
    clock.move_to(approved_at)
    plan_approve(plan=second, reviewer=reviewer)
    seller.refresh_from_db()
    assert seller.status == ProgrammeStatus.ELIGIBLE
    assert seller.local_date(seller_reinstated_at(seller=seller)) == D + dt.timedelta(days=1)

    # Good orders after the reinstatement; the old late order is still inside 30 days of D+3.
    make_orders(*(OrderFactory.build(seller=seller, purchased_on=D + dt.timedelta(days=1)) for _ in range(5)))
    clock.move_to(local_moment(seller, D + dt.timedelta(days=4), 2, 30))  # D+3 has ended
    result = daily_run(day=D + dt.timedelta(days=3))
    seller.refresh_from_db()
    assert result.revoked == [] and seller.status == ProgrammeStatus.ELIGIBLE
    from metrics.models import MetricSnapshot

    shipment = MetricSnapshot.objects.get(
        seller=seller, day=D + dt.timedelta(days=3), window_days=30, metric="on_time_shipment_rate"
    )
    assert (shipment.population_units, shipment.defect_units, shipment.passing) == (5, 0, True)


@pytest.mark.django_db(transaction=True)
def test_two_reviewers_at_once_make_exactly_one_decision(seller, seller_user, reviewer, make_orders):
    make_orders(
        *(OrderFactory.build(seller=seller) for _ in range(9)),
        OrderFactory.build(seller=seller, late=True, purchased_on=LATE_PURCHASE),
    )
    daily_run(day=D)
    plan = submit(seller, seller_user)

    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def act(name, decide):
        try:
            barrier.wait(timeout=10)
            decide()
            outcomes[name] = "decided"
        except PlanAlreadyDecided as exc:
            outcomes[name] = exc
        except Exception as exc:  # surfaced by the assertion below
            outcomes[name] = repr(exc)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=act, args=("approve", lambda: plan_approve(plan=plan, reviewer=reviewer))),
        threading.Thread(
            target=act, args=("reject", lambda: plan_reject(plan=plan, reviewer=reviewer, feedback="No."))
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(type(v).__name__ if not isinstance(v, str) else v for v in outcomes.values()) == [
        "PlanAlreadyDecided",
        "decided",
    ], outcomes
    plan.refresh_from_db()
    assert plan.status in (PlanOfAction.Status.APPROVED, PlanOfAction.Status.REJECTED)
    assert AuditEntry.objects.filter(action=AuditEntry.Action.PLAN_DECIDED).count() == 1
    seller.refresh_from_db()
    expected = ProgrammeStatus.ELIGIBLE if plan.status == PlanOfAction.Status.APPROVED else ProgrammeStatus.NOT_ELIGIBLE
    assert seller.status == expected
    assert SellerEvent.objects.filter(seller=seller, kind=SellerEvent.Kind.REINSTATED).count() == (
        1 if expected == ProgrammeStatus.ELIGIBLE else 0
    )


def test_an_approval_between_counting_and_judging_is_not_undone(revoked_seller, seller_user, reviewer):
    """A reviewer approves while the daily run is between D's snapshots and the evaluation:
    the snapshots counted the orders before the reinstatement, so they cannot revoke."""
    from django.utils import timezone

    from metrics.services import sellers_evaluate, snapshots_compute

    plan = submit(revoked_seller, seller_user)
    started = timezone.now()
    snapshots_compute(day=D, seller_ids=[revoked_seller.pk])
    plan_approve(plan=plan, reviewer=reviewer)
    result = sellers_evaluate(day=D, seller_ids=[revoked_seller.pk], snapshots_from=started)
    revoked_seller.refresh_from_db()
    assert result.revoked == [] and revoked_seller.status == ProgrammeStatus.ELIGIBLE
    assert SellerEvent.objects.filter(seller=revoked_seller, kind=SellerEvent.Kind.REVOKED).count() == 1


def test_a_day_before_the_reinstatement_keeps_its_numbers_and_revokes_nobody(
    revoked_seller, seller_user, reviewer, clock
):
    """Recomputing D after a reinstatement on D+4 gives D's numbers again (the reinstatement
    had not happened as of D) and does not revoke the reinstated seller on them."""

    from metrics.models import MetricSnapshot
    from metrics.report import defect_report_chunks

    before = MetricSnapshot.objects.get(seller=revoked_seller, day=D, window_days=30, metric="on_time_shipment_rate")
    plan = submit(revoked_seller, seller_user)
    clock.move_to(local_moment(revoked_seller, D + dt.timedelta(days=4)))
    plan_approve(plan=plan, reviewer=reviewer)
    result = daily_run(day=D)
    revoked_seller.refresh_from_db()
    assert result.revoked == [] and revoked_seller.status == ProgrammeStatus.ELIGIBLE
    after = MetricSnapshot.objects.get(seller=revoked_seller, day=D, window_days=30, metric="on_time_shipment_rate")
    assert (after.population_units, after.defect_units) == (before.population_units, before.defect_units) == (10, 1)
    # The defect report of D still lists the order behind that defect unit.
    lines = "".join(defect_report_chunks(seller=revoked_seller, day=D, window_days=30)).splitlines()
    assert len(lines) == 2
