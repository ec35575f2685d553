"""Staff review of incidents (SPEC section 7, issue 16 items 2, 4 and 5): the queue beside
plans, the incident's page with the orders it covers, the carrier's other sellers and the
effect of an approval, the decisions (one of two at once), the reinstatement at once, the
emails, the audit history, the ``incident.decided`` webhook and the read-only admin."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.db import OperationalError, connections
from django.test import Client
from django.urls import reverse
from standardwebhooks import Webhook

from metrics.api import incident_payload
from metrics.incidents import INCIDENT_NOTE_MAX, KIND_METRICS, IncidentScope
from metrics.models import Incident, PlanOfAction
from metrics.reasons import MetricReason, RequirementReason, reasons_to_json
from metrics.selectors import (
    carrier_peer_defects,
    incident_covered_orders,
    incident_reinstatement,
    seller_evaluation_start,
    seller_reinstated_at,
)
from metrics.services import (
    IncidentAlreadyDecided,
    IncidentError,
    PlanError,
    daily_run,
    incident_approve,
    incident_reject,
    plan_approve,
    plan_submit,
)
from sellers.choices import EmailKind, ProgrammeStatus
from sellers.factories import D, OrderFactory
from sellers.models import AuditEntry, SellerEvent
from sellers.services import seller_create, seller_user_create
from tests.clock import NOW
from tests.factories import PLAN_ANSWERS, status_event_create
from tests.webhooks.conftest import Receiver
from webhooks import transport
from webhooks.choices import EventType
from webhooks.models import WebhookDelivery
from webhooks.services import webhook_endpoint_create

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)
CARRIER = "UPS Ground"  # the factory's default carrier
DESCRIPTION = "The UPS Ground depot closed for three days after a flood; nothing was scanned."
# The late order's dates: bought and promised to ship on D-3, so inside the 7-day window too.
LATE_PURCHASE = D - 3 * DAY


def report(seller, user=None, *, kind=Incident.Kind.CARRIER, carrier=CARRIER, start=D - 5 * DAY, end=D - DAY,
           order_ids=(), submitted_at=None) -> Incident:  # fmt: skip
    """A submitted incident, as the seller's report stores it."""
    return Incident.objects.create(
        seller=seller,
        kind=kind,
        carrier=carrier,
        start_date=start,
        end_date=end,
        description=DESCRIPTION,
        order_ids=list(order_ids),
        submitted_by=user,
        submitted_at=submitted_at or NOW,
    )


@pytest.fixture
def revoked(clock, seller, seller_user, make_orders):
    """Revoked after D for its on-time shipment rate alone: one late order of ten, on UPS
    Ground (its late delivery is protected by Buy Shipping)."""
    seller_user.email = "ops@seller.example"
    seller_user.save()
    make_orders(
        *(OrderFactory.build(seller=seller) for _ in range(9)),
        OrderFactory.build(seller=seller, late=True, purchased_on=LATE_PURCHASE, order_id="LATE-1"),
    )
    daily_run(day=D)
    seller.refresh_from_db()
    assert seller.status == ProgrammeStatus.NOT_ELIGIBLE
    return seller


@pytest.fixture
def reviewer_client(reviewer):
    browser = Client()
    browser.force_login(reviewer)
    return browser


def page(client, incident) -> str:
    response = client.get(reverse("metrics:review_incident", args=[incident.pk]))
    assert response.status_code == 200
    return response.content.decode()


def decide(client, incident, **data):
    return client.post(reverse("metrics:review_incident_decide", args=[incident.pk]), data, follow=True)


def status_changes(seller, kind):
    return list(SellerEvent.objects.filter(seller=seller, kind=kind))


# --- The queue ---------------------------------------------------------------------------


def test_the_queue_lists_plans_and_incidents_in_one_list_oldest_first(
    reviewer_client, revoked, seller_user, other_seller
):
    plan = plan_submit(seller=revoked, user=seller_user, merchant_token="SELLER01", **PLAN_ANSWERS)
    PlanOfAction.objects.filter(pk=plan.pk).update(submitted_at=NOW - 2 * DAY)
    oldest = report(other_seller, kind=Incident.Kind.WEATHER, carrier="", submitted_at=NOW - 3 * DAY)
    newest = report(revoked, seller_user, submitted_at=NOW - DAY)
    decided = report(revoked, submitted_at=NOW - 4 * DAY)
    Incident.objects.filter(pk=decided.pk).update(status=Incident.Status.REJECTED, decided_at=NOW, note="No.")

    html = reviewer_client.get(reverse("metrics:review_queue")).content.decode()
    positions = [html.index(f'data-incident="{oldest.pk}"'), html.index(f'data-plan="{plan.pk}"')]
    positions.append(html.index(f'data-incident="{newest.pk}"'))
    assert positions == sorted(positions)
    assert f'data-incident="{decided.pk}"' not in html
    assert "Incident: Severe weather" in html and "Incident: Carrier breakdown or delay" in html
    assert "Plan of action" in html and "On-time shipment rate (30 days)" in html
    assert "All carrier services" in html and f"{CARRIER} · " in html
    assert "Not eligible" in html and "Eligible" in html  # each seller's status
    assert f'href="/review/incidents/{newest.pk}/"' in html and f'href="/review/plans/{plan.pk}/"' in html


def test_the_empty_queue_links_the_latest_decisions_of_plans_and_incidents(
    reviewer_client, reviewer, revoked, seller_user
):
    plan = plan_submit(seller=revoked, user=seller_user, merchant_token="SELLER01", **PLAN_ANSWERS)
    incident = report(revoked, seller_user)
    incident_reject(incident=incident, reviewer=reviewer, note="A flood elsewhere does not explain these.")
    from metrics.services import plan_reject

    plan_reject(plan=plan, reviewer=reviewer, feedback="Name the carrier.")
    html = reviewer_client.get(reverse("metrics:review_queue")).content.decode()
    assert "No plan of action or incident is waiting for review." in html and "Latest decisions" in html
    assert f'href="/review/incidents/{incident.pk}/"' in html and f'href="/review/plans/{plan.pk}/"' in html


# --- Who may review ------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/review/incidents/{pk}/", "/review/"])
def test_review_pages_are_closed_to_sellers_and_staff_without_the_permission(
    path, client, revoked, seller_user, other_seller_user, staff_without_review
):
    url = path.format(pk=report(revoked, seller_user).pk)
    assert client.get(url).status_code == 302  # anonymous: to the login page
    for user in (seller_user, other_seller_user, staff_without_review):
        client.force_login(user)
        assert client.get(url).status_code == 403, user


def test_sellers_and_staff_without_the_permission_cannot_decide(client, revoked, seller_user, staff_without_review):
    incident = report(revoked, seller_user)
    url = reverse("metrics:review_incident_decide", args=[incident.pk])
    for user in (seller_user, staff_without_review):
        client.force_login(user)
        data = {"decision": "approve", "metrics": ["on_time_shipment_rate"], "reinstate": "on"}
        assert client.post(url, data).status_code == 403
    incident.refresh_from_db()
    revoked.refresh_from_db()
    assert incident.is_open and revoked.status == ProgrammeStatus.NOT_ELIGIBLE
    with pytest.raises(IncidentError, match="review permission"):
        incident_approve(incident=incident, reviewer=staff_without_review, metrics=["on_time_shipment_rate"])
    with pytest.raises(IncidentError, match="review permission"):
        incident_reject(incident=incident, reviewer=seller_user, note="No.")


def test_a_seller_account_never_reviews_even_with_the_permission(revoked, seller_user):
    seller_user.user_permissions.add(Permission.objects.get(codename="review_plan"))
    incident = report(revoked, seller_user)
    with pytest.raises(IncidentError):
        incident_approve(incident=incident, reviewer=seller_user, metrics=["on_time_shipment_rate"], reinstate=True)
    incident.refresh_from_db()
    assert incident.is_open


def test_an_unknown_incident_is_404_and_decide_takes_posts_only(reviewer_client, revoked, seller_user):
    assert reviewer_client.get("/review/incidents/999999/").status_code == 404
    assert reviewer_client.post("/review/incidents/999999/decide/", {"decision": "reject"}).status_code == 404
    incident = report(revoked, seller_user)
    assert reviewer_client.get(f"/review/incidents/{incident.pk}/decide/").status_code == 405


# --- The incident's page -----------------------------------------------------------------


def test_the_page_shows_the_facts_the_covered_orders_the_effect_and_offers_the_reinstatement(
    reviewer_client, revoked, seller_user
):
    incident = report(revoked, seller_user)
    html = page(reviewer_client, incident)
    assert DESCRIPTION in html and "Carrier breakdown or delay" in html and CARRIER in html
    assert "Nov. 15, 2026 to Nov. 19, 2026" in html  # the seller's local dates
    assert "by seller1" in html
    assert 'data-metric="on_time_shipment_rate"' in html  # the seller's metrics (summary)
    # The orders it covers: the late order, for the metrics whose defect it is.
    assert 'data-order="LATE-1"' in html and "1 defect order of the 30 days ending Nov. 20, 2026" in html
    # The effect on each metric and window: on-time shipment passes if approved.
    assert 'data-metric="on_time_shipment_rate" data-window="30"' in html
    assert 'data-metric="cancellation_rate" data-window="7"' in html
    assert "you may reinstate the seller now" in html
    assert 'name="reinstate"' in html and "Reinstate the seller now" in html
    # Preselected by the kind: a carrier's breakdown hits shipment, delivery and tracking.
    for name in KIND_METRICS[Incident.Kind.CARRIER]:
        assert f'value="{name}" id="id_metrics_' in html
    assert html.count(" checked>") == len(KIND_METRICS[Incident.Kind.CARRIER])


def test_the_covered_orders_are_the_defects_on_its_carrier_and_days_or_its_listed_orders(revoked, make_orders):
    make_orders(
        OrderFactory.build(
            seller=revoked, late=True, purchased_on=LATE_PURCHASE, carrier="FedEx Home", order_id="FEDEX-1"
        ),
        OrderFactory.build(seller=revoked, late=True, purchased_on=D - 20 * DAY, order_id="EARLY-1"),
    )
    on_carrier = report(revoked)
    assert [
        o.order_id for o in incident_covered_orders(seller=on_carrier.seller, day=D, scope=IncidentScope.of(on_carrier))
    ] == ["LATE-1"]
    every_carrier = report(revoked, carrier="")
    assert {
        o.order_id
        for o in incident_covered_orders(seller=every_carrier.seller, day=D, scope=IncidentScope.of(every_carrier))
    } == {
        "LATE-1",
        "FEDEX-1",
    }
    listed = report(revoked, order_ids=["EARLY-1"])
    [covered] = incident_covered_orders(seller=listed.seller, day=D, scope=IncidentScope.of(listed))
    assert covered.order_id == "EARLY-1"
    assert covered.covered_on_time_shipment_rate and not covered.covered_cancellation_rate


def test_the_carrier_s_other_sellers_are_counted_without_being_named(
    reviewer_client, revoked, seller_user, other_seller, make_orders
):
    third = seller_create(merchant_token="SELLER03", name="Third Seller", enrolled_on=dt.date(2026, 1, 1))
    make_orders(
        # Another seller's late order on the carrier and days: a defect of both on-time metrics.
        OrderFactory.build(seller=other_seller, late=True, purchased_on=D - 2 * DAY, units=3),
        OrderFactory.build(seller=other_seller, purchased_on=D - 2 * DAY),
        # The third seller ships well on the carrier those days; late on another carrier.
        OrderFactory.build(seller=third, purchased_on=D - 4 * DAY, units=2),
        OrderFactory.build(seller=third, late=True, purchased_on=D - 4 * DAY, carrier="FedEx Home"),
        # Late on the carrier, but promised outside the incident's days.
        OrderFactory.build(seller=third, late=True, purchased_on=D - 12 * DAY),
    )
    incident = report(revoked, seller_user)
    peers = {peer.metric: peer for peer in carrier_peer_defects(incident=incident, day=D)}
    shipment = peers["on_time_shipment_rate"]
    # Shipped on UPS Ground with a promised ship date in the days: 3 + 1 units of the other
    # seller, 2 of the third; the first seller's own orders never count.
    assert (shipment.sellers, shipment.defect_units) == (1, 3)
    assert (shipment.population_sellers, shipment.population_units) == (2, 6)
    assert peers["cancellation_rate"].defect_units == 0
    everyone = report(revoked, carrier="")
    shipment = {p.metric: p for p in carrier_peer_defects(incident=everyone, day=D)}["on_time_shipment_rate"]
    assert (shipment.sellers, shipment.defect_units, shipment.population_units) == (2, 4, 7)

    html = page(reviewer_client, incident)
    assert "1 of 2" in html and "3 of 6 shipped units" in html and "50.00 %" in html
    assert other_seller.name not in html and third.name not in html and "SELLER03" not in html


def test_an_eligible_sellers_incident_offers_no_reinstatement(reviewer_client, seller, make_orders, clock):
    make_orders(*(OrderFactory.build(seller=seller) for _ in range(5)))
    daily_run(day=D)
    incident = report(seller)
    html = page(reviewer_client, incident)
    assert "is eligible for Prime: an approval changes no status" in html
    assert 'name="reinstate"' not in html


def test_a_seller_without_an_evaluation_gets_a_page_too(reviewer_client, seller):
    html = page(reviewer_client, report(seller))
    assert "No evaluation yet" in html and 'name="decision" value="approve"' in html


# --- Deciding ------------------------------------------------------------------------------


def test_approve_with_the_chosen_metrics_audits_and_emails_the_seller(
    revoked, seller_user, reviewer, django_capture_on_commit_callbacks, settings
):
    settings.PORTAL_URL = "https://portal.example.com"
    german = seller_user_create(seller=revoked, username="buero", password="x" * 12, email="buero@seller.example")
    german.language = "de"
    german.save()
    opted_out = seller_user_create(seller=revoked, username="quiet", password="x" * 12, email="q@seller.example")
    opted_out.email_opt_outs = [EmailKind.INCIDENT_DECIDED]
    opted_out.save()
    incident = report(revoked, seller_user)
    mail.outbox = []
    with django_capture_on_commit_callbacks(execute=True):
        incident_approve(
            incident=incident,
            reviewer=reviewer,
            metrics=["on_time_delivery_rate", "on_time_shipment_rate"],
            note="  The depot's closure is confirmed by the carrier.  ",
        )
    incident.refresh_from_db()
    assert incident.status == Incident.Status.APPROVED and incident.decided_by == reviewer
    assert incident.excused_metrics == ["on_time_shipment_rate", "on_time_delivery_rate"]  # registry order
    assert incident.note == "The depot's closure is confirmed by the carrier." and incident.decided_at == NOW
    [entry] = AuditEntry.objects.filter(action=AuditEntry.Action.INCIDENT_DECIDED)
    assert entry.actor == reviewer and entry.seller == revoked and entry.reason == incident.note
    assert entry.before == {"incident": incident.pk, "status": "submitted"}
    assert entry.after == {"incident": incident.pk, "status": "approved", "excused_metrics": incident.excused_metrics}
    # Still not eligible: nobody asked for the reinstatement.
    revoked.refresh_from_db()
    assert revoked.status == ProgrammeStatus.NOT_ELIGIBLE

    by_address = {message.to[0]: message for message in mail.outbox}
    assert set(by_address) == {"ops@seller.example", "buero@seller.example"}  # the opt-out respected
    english = by_address["ops@seller.example"]
    assert english.subject == f"Incident #{incident.pk} approved for SELLER01"
    assert "From the evaluation of 2026-11-21 on" in english.body  # the local date of the approval
    assert "- On-time shipment rate\n- On-time delivery rate\n" in english.body
    assert "The depot's closure is confirmed by the carrier." in english.body
    assert f"\nhttps://portal.example.com/performance/incidents/{incident.pk}/\n" in english.body
    assert "Rate pünktlicher Übergaben" in by_address["buero@seller.example"].body


def test_a_rejection_needs_a_note_and_the_seller_reads_it(
    reviewer_client, revoked, seller_user, django_capture_on_commit_callbacks
):
    incident = report(revoked, seller_user)
    response = decide(reviewer_client, incident, decision="reject")
    assert "say why the incident is rejected; a rejection requires it." in response.content.decode()
    incident.refresh_from_db()
    assert incident.is_open and not AuditEntry.objects.filter(action=AuditEntry.Action.INCIDENT_DECIDED).exists()
    mail.outbox = []
    with django_capture_on_commit_callbacks(execute=True):
        response = decide(reviewer_client, incident, decision="reject", note="Other sellers on UPS were on time.")
    html = response.content.decode()
    assert "Incident rejected; the seller was sent your note." in html
    assert "Rejected on" in html and "Other sellers on UPS were on time." in html
    assert 'name="decision"' not in html  # the decision in place of the forms
    incident.refresh_from_db()
    assert incident.status == Incident.Status.REJECTED and incident.excused_metrics == []
    [message] = mail.outbox
    assert message.subject == f"Incident #{incident.pk} not accepted for SELLER01"
    assert "Other sellers on UPS were on time." in message.body
    with pytest.raises(IncidentError, match="a rejection requires it"):
        incident_reject(incident=report(revoked), reviewer=incident.decided_by, note="   ")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Decision: choose Approve or Reject."),
        ({"decision": "maybe"}, "Decision: choose Approve or Reject."),
        ({"decision": "approve"}, "tick at least one"),
        ({"decision": "approve", "metrics": ["buy_shipping_rate"]}, "tick only the boxes shown"),
        ({"decision": "approve", "metrics": ["x" * 10_000]}, "tick only the boxes shown"),
        (
            {"decision": "approve", "metrics": "on_time_shipment_rate", "note": "n" * (INCIDENT_NOTE_MAX + 1)},
            "at most 4000 characters",
        ),
        ({"decision": "reject", "note": "bad\x00note"}, "NUL character"),
        ({"decision": "reject", "note": "Not the carrier.", "reinstate": "on"}, "untick"),
        ({"decision": ["reject", "approve"], "metrics": ["on_time_shipment_rate"] * 50}, None),
    ],
)
def test_odd_posts_get_a_sentence_and_never_a_500(reviewer_client, revoked, seller_user, data, message):
    incident = report(revoked, seller_user)
    response = decide(reviewer_client, incident, **data)
    assert response.status_code == 200
    html = response.content.decode()
    incident.refresh_from_db()
    if message is None:  # the last value of a repeated field counts; repeated metrics fold into one
        assert (incident.status, incident.excused_metrics) == (Incident.Status.APPROVED, ["on_time_shipment_rate"])
        return
    assert message in html
    assert incident.is_open
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.INCIDENT_DECIDED).exists()


def test_the_services_bound_what_they_take(revoked, seller_user, reviewer):
    incident = report(revoked, seller_user)
    for metrics in ([], ["buy_shipping_rate"], ["no such metric"]):
        with pytest.raises(IncidentError):
            incident_approve(incident=incident, reviewer=reviewer, metrics=metrics)
    with pytest.raises(IncidentError, match="at most 4000"):
        incident_approve(
            incident=incident, reviewer=reviewer, metrics=["on_time_shipment_rate"], note="n" * (INCIDENT_NOTE_MAX + 1)
        )
    incident.refresh_from_db()
    assert incident.is_open


def test_a_decided_incident_cannot_be_decided_again(reviewer_client, revoked, seller_user, reviewer):
    incident = report(revoked, seller_user)
    incident_reject(incident=incident, reviewer=reviewer, note="Not the carrier's fault.")
    with pytest.raises(IncidentAlreadyDecided):
        incident_approve(incident=incident, reviewer=reviewer, metrics=["on_time_shipment_rate"])
    response = decide(reviewer_client, incident, decision="approve", metrics=["on_time_shipment_rate"])
    assert "decided by someone else a moment ago (now: Rejected); nothing was changed." in response.content.decode()
    assert AuditEntry.objects.filter(action=AuditEntry.Action.INCIDENT_DECIDED).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_reviewers_at_once_make_exactly_one_decision(clock, seller, seller_user, reviewer, make_orders):
    seller_user.email = "ops@seller.example"
    seller_user.save()
    make_orders(
        *(OrderFactory.build(seller=seller) for _ in range(9)),
        OrderFactory.build(seller=seller, late=True, purchased_on=LATE_PURCHASE),
    )
    daily_run(day=D)
    incident = report(seller, seller_user)
    mail.outbox = []

    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def act(name, decision):
        try:
            barrier.wait(timeout=10)
            decision()
            outcomes[name] = "decided"
        except IncidentAlreadyDecided as exc:
            outcomes[name] = exc
        except Exception as exc:  # surfaced by the assertion below
            outcomes[name] = repr(exc)
        finally:
            connections.close_all()

    def approve():
        incident_approve(incident=incident, reviewer=reviewer, metrics=["on_time_shipment_rate"], reinstate=True)

    def reject():
        incident_reject(incident=incident, reviewer=reviewer, note="No.")

    threads = [
        threading.Thread(target=act, args=("approve", approve)),
        threading.Thread(target=act, args=("reject", reject)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(type(v).__name__ if not isinstance(v, str) else v for v in outcomes.values()) == [
        "IncidentAlreadyDecided",
        "decided",
    ], outcomes
    incident.refresh_from_db()
    assert incident.status in (Incident.Status.APPROVED, Incident.Status.REJECTED)
    assert AuditEntry.objects.filter(action=AuditEntry.Action.INCIDENT_DECIDED).count() == 1
    assert len(mail.outbox) == 1
    seller.refresh_from_db()
    approved = incident.status == Incident.Status.APPROVED
    assert seller.status == (ProgrammeStatus.ELIGIBLE if approved else ProgrammeStatus.NOT_ELIGIBLE)
    assert len(status_changes(seller, SellerEvent.Kind.REINSTATED)) == (1 if approved else 0)


@pytest.mark.django_db(transaction=True)
def test_a_plan_approved_while_an_incident_reinstates_makes_one_reinstatement(
    clock, seller, seller_user, reviewer, make_orders
):
    """The plan's approval and the incident's reinstatement at once: whichever comes first
    reinstates, the other changes nothing and says why (no deadlock: both lock the plan
    before the seller)."""
    make_orders(
        *(OrderFactory.build(seller=seller) for _ in range(9)),
        OrderFactory.build(seller=seller, late=True, purchased_on=LATE_PURCHASE),
    )
    daily_run(day=D)
    plan = plan_submit(seller=seller, user=seller_user, merchant_token="SELLER01", **PLAN_ANSWERS)
    incident = report(seller, seller_user)

    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def act(name, decision):
        try:
            barrier.wait(timeout=10)
            decision()
            outcomes[name] = "decided"
        except (IncidentError, PlanError) as exc:
            outcomes[name] = type(exc).__name__
        except Exception as exc:  # surfaced by the assertion below
            outcomes[name] = repr(exc)
        finally:
            connections.close_all()

    def approve_incident():
        incident_approve(incident=incident, reviewer=reviewer, metrics=["on_time_shipment_rate"], reinstate=True)

    threads = [
        threading.Thread(target=act, args=("plan", lambda: plan_approve(plan=plan, reviewer=reviewer))),
        threading.Thread(target=act, args=("incident", approve_incident)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert outcomes in (
        {"plan": "decided", "incident": "IncidentError"},
        {"plan": "PlanAlreadyDecided", "incident": "decided"},
    ), outcomes
    plan.refresh_from_db()
    incident.refresh_from_db()
    if outcomes["plan"] == "decided":
        assert plan.status == PlanOfAction.Status.APPROVED and incident.is_open
    else:
        assert plan.status == PlanOfAction.Status.WITHDRAWN and incident.status == Incident.Status.APPROVED
    assert len(status_changes(seller, SellerEvent.Kind.REINSTATED)) == 1


# --- Reinstatement at once -----------------------------------------------------------------


@pytest.fixture
def endpoint(settings, seller, seller_user, monkeypatch):
    """An endpoint of the seller for every event, on a private address the tests may use,
    whose POSTs a ``Receiver`` takes."""
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    receiver = Receiver()
    monkeypatch.setattr(transport, "post", receiver.post)
    created = webhook_endpoint_create(
        seller=seller, actor=seller_user, url="https://127.0.0.1/prime", event_types=EventType.values
    )
    created.receiver = receiver
    return created


def bodies(event_type):
    return [json.loads(d.body) for d in WebhookDelivery.objects.filter(event_type=event_type).order_by("id")]


def test_reinstatement_at_once_is_recorded_like_any_other(
    reviewer_client, revoked, seller_user, reviewer, endpoint, django_capture_on_commit_callbacks
):
    quiet = seller_user_create(seller=revoked, username="quiet", password="x" * 12, email="q@seller.example")
    quiet.email_opt_outs = [EmailKind.INCIDENT_DECIDED, EmailKind.PLAN_DECIDED]
    quiet.save()
    plan = plan_submit(seller=revoked, user=seller_user, merchant_token="SELLER01", **PLAN_ANSWERS)
    incident = report(revoked, seller_user)
    WebhookDelivery.objects.all().delete()
    mail.outbox = []
    with django_capture_on_commit_callbacks(execute=True):
        response = decide(
            reviewer_client,
            incident,
            decision="approve",
            metrics=list(KIND_METRICS[Incident.Kind.CARRIER]),
            reinstate="on",
        )
    assert "Incident approved: First Seller is eligible for Prime again." in response.content.decode()
    assert "The approval reinstated the seller at once." in response.content.decode()

    revoked.refresh_from_db()
    incident.refresh_from_db()
    assert revoked.status == ProgrammeStatus.ELIGIBLE and revoked.status_changed_at == incident.decided_at == NOW
    [reinstatement] = status_changes(revoked, SellerEvent.Kind.REINSTATED)
    assert reinstatement.reasons == [{"kind": "incident", "incident": incident.pk}]
    assert reinstatement.actor == reviewer and reinstatement.created_at == NOW
    # The evaluation starts again at the reinstatement, from its local date on.
    assert seller_reinstated_at(seller=revoked) == NOW
    assert seller_evaluation_start(seller=revoked, day=D + DAY) == NOW
    assert seller_evaluation_start(seller=revoked, day=D) == revoked.enrolment_start
    # The plan under review leaves the queue, closed in the same transaction and audited.
    plan.refresh_from_db()
    assert plan.status == PlanOfAction.Status.WITHDRAWN and plan.decided_at == NOW and plan.decided_by == reviewer
    [closed] = AuditEntry.objects.filter(action=AuditEntry.Action.PLAN_DECIDED)
    assert closed.after == {"plan": plan.pk, "status": "withdrawn", "incident": incident.pk}
    assert reviewer_client.get(reverse("metrics:review_queue")).content.decode().count("data-plan=") == 1  # recent

    # One email each, the reinstatement's: mandatory, so the user who turned incident and
    # plan decisions off gets it too.
    assert sorted(m.to[0] for m in mail.outbox) == ["ops@seller.example", "q@seller.example"]
    message = mail.outbox[0]
    assert message.subject == f"Incident #{incident.pk} approved: Prime is back for SELLER01"
    assert "your seller-fulfilled Prime eligibility is reinstated" in message.body
    assert "Your plan of action under review is closed" in message.body

    # Webhooks: the decision (reinstated), the status change and the plan's closing.
    [decided] = bodies(EventType.INCIDENT_DECIDED)
    assert decided["data"] == {**json.loads(json.dumps(incident_payload(incident))), "reinstated": True}
    assert [b["data"]["status"] for b in bodies(EventType.SELLER_STATUS_CHANGED)] == ["eligible"]
    assert [b["data"]["status"] for b in bodies(EventType.PLAN_DECIDED)] == ["withdrawn"]

    # The seller's plans say what became of the plan.
    seller_client = Client()
    seller_client.force_login(seller_user)
    html = seller_client.get(reverse("metrics:poa_list")).content.decode()
    assert "Closed: reinstated without it" in html and "an approved incident reinstated your Prime eligibility" in html


def test_reinstatement_is_not_offered_when_the_incident_does_not_cover_the_failing_defects(
    reviewer_client, revoked, seller_user, reviewer
):
    incident = report(revoked, seller_user, carrier="FedEx Home")
    html = page(reviewer_client, incident)
    assert 'name="reinstate"' not in html
    assert "leaves failing items of the revocation after the evaluation of Nov. 20, 2026 unanswered" in html
    with pytest.raises(IncidentError, match="does not answer every failing item"):
        incident_approve(incident=incident, reviewer=reviewer, metrics=["on_time_shipment_rate"], reinstate=True)
    incident.refresh_from_db()
    revoked.refresh_from_db()
    assert incident.is_open and revoked.status == ProgrammeStatus.NOT_ELIGIBLE
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.INCIDENT_DECIDED).exists()


def test_reinstatement_is_checked_again_with_the_chosen_metrics(reviewer_client, revoked, seller_user):
    incident = report(revoked, seller_user)
    response = decide(reviewer_client, incident, decision="approve", metrics=["on_time_delivery_rate"], reinstate="on")
    html = response.content.decode()
    assert "does not answer every failing item of First Seller&#x27;s revocation" in html
    assert "still failing: On-time shipment rate" in html and "nothing was changed" in html
    incident.refresh_from_db()
    revoked.refresh_from_db()
    assert incident.is_open and revoked.status == ProgrammeStatus.NOT_ELIGIBLE
    assert status_changes(revoked, SellerEvent.Kind.REINSTATED) == []


def test_reinstatement_answers_only_revocations_for_metrics(seller, reviewer, make_orders, clock):
    """A revocation that is also for a requirement needs a plan of action, whatever an
    incident excuses."""
    make_orders(
        *(OrderFactory.build(seller=seller) for _ in range(9)),
        OrderFactory.build(seller=seller, late=True, purchased_on=LATE_PURCHASE),
    )
    daily_run(day=D)
    seller.refresh_from_db()
    [revocation] = status_changes(seller, SellerEvent.Kind.REVOKED)
    incident = report(seller)
    assert incident_reinstatement(incident=incident, metrics=["on_time_shipment_rate"]).possible
    AuditEntry.objects.filter(pk=revocation.pk).delete()
    metric_reason = MetricReason.from_json(revocation.reasons[0])
    status_event_create(
        seller,
        SellerEvent.Kind.REVOKED,
        revocation.created_at,
        day=D,
        reasons=reasons_to_json([metric_reason, RequirementReason(requirement="weekend_delivery")]),
    )
    check = incident_reinstatement(incident=incident, metrics=["on_time_shipment_rate"])
    assert not check.possible and check.unanswered == [RequirementReason(requirement="weekend_delivery")]
    with pytest.raises(IncidentError, match="still failing: Weekend delivery"):
        incident_approve(incident=incident, reviewer=reviewer, metrics=["on_time_shipment_rate"], reinstate=True)


def test_an_incident_reinstating_a_seller_reinstated_already_is_refused(revoked, seller_user, reviewer):
    first, second = report(revoked, seller_user), report(revoked, seller_user)
    incident_approve(incident=first, reviewer=reviewer, metrics=["on_time_shipment_rate"], reinstate=True)
    with pytest.raises(IncidentError, match="is eligible for Prime already"):
        incident_approve(incident=second, reviewer=reviewer, metrics=["on_time_shipment_rate"], reinstate=True)
    second.refresh_from_db()
    assert second.is_open
    assert len(status_changes(revoked, SellerEvent.Kind.REINSTATED)) == 1


# --- The webhook ---------------------------------------------------------------------------


@pytest.mark.parametrize("decision", ["approve and reinstate", "reject"])
def test_a_database_failure_during_a_decision_says_so_and_changes_nothing(
    reviewer_client, revoked, seller_user, endpoint, decision, monkeypatch, django_capture_on_commit_callbacks
):
    """The decision, its audit entry and (approved) the reinstatement are written before the
    last step fails: all of it is taken back, and nobody is emailed or sent a webhook."""
    incident = report(revoked, seller_user)

    def lost_connection(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    # The last write of each: the Prime orders decided again after a reinstatement, the
    # rejection's audit entry.
    failing = "orders_classify_prime" if decision.startswith("approve") else "audit_entry_create"
    monkeypatch.setattr(f"metrics.services.{failing}", lost_connection)
    data = (
        {"decision": "approve", "metrics": ["on_time_shipment_rate"], "reinstate": "on"}
        if decision.startswith("approve")
        else {"decision": "reject", "note": "No carrier outage was reported on those days."}
    )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        html = decide(reviewer_client, incident, **data).content.decode()
    assert "The database failed while the decision was being saved, so nothing was changed" in html
    incident.refresh_from_db()
    revoked.refresh_from_db()
    assert incident.is_open and incident.decided_at is None and revoked.status == ProgrammeStatus.NOT_ELIGIBLE
    assert status_changes(revoked, SellerEvent.Kind.REINSTATED) == []
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.INCIDENT_DECIDED).exists()
    assert callbacks == [] and mail.outbox == [] and not WebhookDelivery.objects.exists()


def test_an_incident_decided_webhook_to_an_address_no_longer_allowed_is_refused_at_delivery(
    clock, seller, seller_user, reviewer, endpoint, settings, django_capture_on_commit_callbacks
):
    """The address guard (SPEC section 8) holds for ``incident.decided`` as for every event:
    the endpoint on 127.0.0.1 was saved while private addresses were allowed; once they are
    not, the delivery is refused before any connection and the attempt says why."""
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    incident = report(seller, seller_user)
    with django_capture_on_commit_callbacks(execute=True):
        incident_reject(incident=incident, reviewer=reviewer, note="No carrier outage was reported on those days.")
    [delivery] = WebhookDelivery.objects.filter(event_type=EventType.INCIDENT_DECIDED)
    assert endpoint.receiver.requests == []
    [attempt] = delivery.attempt_rows.all()
    assert attempt.status_code is None and "non-public address" in attempt.error


def test_the_decision_is_sent_signed_as_incident_decided(
    clock, seller, seller_user, reviewer, endpoint, django_capture_on_commit_callbacks
):
    incident = report(seller, seller_user, order_ids=["A-1", "A-2"])
    with django_capture_on_commit_callbacks(execute=True):
        incident_approve(incident=incident, reviewer=reviewer, metrics=["valid_tracking_rate"], note="Confirmed.")
    [delivery] = WebhookDelivery.objects.filter(event_type=EventType.INCIDENT_DECIDED)
    [sent] = endpoint.receiver.requests  # queued on commit, delivered by the (eager) task
    payload = Webhook(endpoint.secret).verify(sent["body"], sent["headers"])
    assert sent["headers"]["webhook-id"] == delivery.event_id
    assert payload["type"] == "incident.decided" and payload["timestamp"] == "2026-11-21T15:00:00Z"
    assert payload["data"] == {
        "id": incident.pk,
        "status": "approved",
        "kind": "carrier",
        "carrier": CARRIER,
        "start": "2026-11-15",
        "end": "2026-11-19",
        "description": DESCRIPTION,
        "order_ids": ["A-1", "A-2"],
        "excused_metrics": ["valid_tracking_rate"],
        "submitted_at": "2026-11-21T15:00:00+00:00",
        "decided_at": "2026-11-21T15:00:00+00:00",
        "note": "Confirmed.",
        "reinstated": False,
    }


# --- The seller's review page and the admin ------------------------------------------------


def test_the_sellers_review_page_lists_its_incidents(reviewer_client, revoked, seller_user, other_seller):
    mine = report(revoked, seller_user)
    theirs = report(other_seller)
    html = reviewer_client.get(reverse("metrics:review_seller", args=[revoked.pk])).content.decode()
    assert f'data-incident="{mine.pk}"' in html and f'data-incident="{theirs.pk}"' not in html
    assert "Carrier breakdown or delay" in html


def test_the_decision_is_in_the_sellers_history_in_words(reviewer_client, revoked, seller_user, reviewer):
    incident = report(revoked, seller_user)
    incident_approve(incident=incident, reviewer=reviewer, metrics=["on_time_shipment_rate"], note="Confirmed.")
    html = reviewer_client.get(reverse("metrics:review_seller", args=[revoked.pk])).content.decode()
    assert "Incident decided" in html and f"#{incident.pk}" in html and "Why: Confirmed." in html
    assert "Metrics it excuses" in html and "On-time shipment rate" in html


def test_incidents_are_read_only_in_the_admin(admin_client, revoked, seller_user):
    incident = report(revoked, seller_user)
    listing = admin_client.get(reverse("admin:metrics_incident_changelist") + "?q=SELLER01&status__exact=submitted")
    assert listing.status_code == 200 and f"/admin/metrics/incident/{incident.pk}/change/" in listing.content.decode()
    assert admin_client.get(reverse("admin:metrics_incident_changelist") + "?kind__exact=carrier").status_code == 200
    assert admin_client.get(reverse("admin:metrics_incident_add")).status_code == 403
    change = admin_client.get(reverse("admin:metrics_incident_change", args=[incident.pk]))
    assert change.status_code == 200 and 'name="_save"' not in change.content.decode()
    assert admin_client.post(reverse("admin:metrics_incident_change", args=[incident.pk]), {}).status_code == 403
    delete = admin_client.post(reverse("admin:metrics_incident_delete", args=[incident.pk]), {"post": "yes"})
    assert delete.status_code == 403
    incident.refresh_from_db()
    assert incident.is_open
