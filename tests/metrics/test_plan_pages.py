"""The plan-of-action pages and the staff review (SPEC sections 4 and 6), through HTTP."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.test import Client

from metrics.models import PlanDraft, PlanOfAction
from metrics.selectors import seller_reinstated_at
from metrics.services import daily_run, plan_reject, plan_submit
from sellers.choices import ProgrammeStatus
from sellers.factories import D, OrderFactory
from sellers.models import AuditEntry
from tests.factories import PLAN_ANSWERS

pytestmark = pytest.mark.django_db

ANSWERS = PLAN_ANSWERS


def late_to_texas(seller, carrier="FedEx Home"):
    return OrderFactory.build(
        seller=seller, late=True, purchased_on=D - dt.timedelta(days=3), carrier=carrier, ship_to_state="TX"
    )


@pytest.fixture
def revoked(seller, make_orders):
    make_orders(
        *(OrderFactory.build(seller=seller) for _ in range(9)),
        late_to_texas(seller),
        late_to_texas(seller, "UPS Ground"),
        late_to_texas(seller),
    )
    daily_run(day=D)
    seller.refresh_from_db()
    assert seller.status == ProgrammeStatus.NOT_ELIGIBLE
    return seller


@pytest.fixture
def seller_client(client, seller_user):
    client.force_login(seller_user)
    return client


@pytest.fixture
def reviewer_client(reviewer):
    browser = Client()
    browser.force_login(reviewer)
    return browser


def submit_form(seller_client, **changes):
    return seller_client.post(
        "/performance/poa/new/", {**ANSWERS, "merchant_token": "SELLER01", "action": "submit", **changes}
    )


# --- The seller's side -------------------------------------------------------------------


def test_dashboard_offers_create_poa_while_not_eligible(seller_client, revoked):
    html = seller_client.get("/performance/").content.decode()
    assert 'href="/performance/poa/new/"' in html and "Create POA" in html


def test_dashboard_says_the_plan_is_under_review_once_submitted(seller_client, revoked, seller_user):
    plan_submit(seller=revoked, user=seller_user, merchant_token="SELLER01", **ANSWERS)
    html = seller_client.get("/performance/").content.decode()
    assert "Plan of action under review" in html and 'href="/performance/poa/new/"' not in html


def test_form_prefills_the_failing_items_and_shows_the_facts_beside_it(seller_client, revoked):
    response = seller_client.get("/performance/poa/new/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "On-time shipment rate over 7 days was" in html and "On-time shipment rate over 30 days was" in html
    # The failing items are text, not form fields: the seller cannot change them.
    assert 'name="failing_items"' not in html
    assert 'name="merchant_token"' in html
    # Facts: the defects of the failing metric by carrier, weekday and state.
    assert "Largest contributor: Tuesday (weekday of purchase), 100 % of them." in html
    assert "By carrier service" in html and "By destination state" in html and "Texas" in html
    carriers = html[html.index("By carrier service") : html.index("By weekday of purchase")]
    assert carriers.index("FedEx Home") < carriers.index("UPS Ground") and "67 %" in carriers
    assert "Shipped late, by hour of purchase" in html


def test_an_eligible_seller_is_sent_back_to_the_dashboard(seller_client, seller):
    response = seller_client.get("/performance/poa/new/")
    assert response.status_code == 302 and response["Location"] == "/performance/"


@pytest.mark.parametrize("field", ["root_cause", "corrective_actions", "preventive_measures", "timeframe"])
def test_each_empty_answer_gets_its_own_error_and_nothing_is_submitted(seller_client, revoked, field):
    response = submit_form(seller_client, **{field: ""})
    assert response.status_code == 200
    assert list(response.context["form"].errors) == [field]
    assert "This answer is empty." in response.context["form"].errors[field][0]
    assert not PlanOfAction.objects.exists()


def test_a_too_short_answer_says_how_long_it_must_be(seller_client, revoked):
    response = submit_form(seller_client, root_cause="Carrier was late.")
    error = response.context["form"].errors["root_cause"][0]
    assert "too short (17 of at least 80 characters)" in error
    assert not PlanOfAction.objects.exists()


def test_the_merchant_token_must_match(seller_client, revoked):
    response = submit_form(seller_client, merchant_token="SELLER02")
    assert "This is not your merchant token. Type SELLER01" in response.context["form"].errors["merchant_token"][0]
    assert not PlanOfAction.objects.exists()


def test_a_refused_form_keeps_a_draft(seller_client, revoked):
    submit_form(seller_client, timeframe="")
    draft = PlanDraft.objects.get(seller=revoked)
    assert draft.root_cause == ANSWERS["root_cause"] and draft.timeframe == ""


def test_save_draft_then_come_back_later(seller_client, revoked, seller_user):
    seller_client.post("/performance/poa/new/", {"root_cause": "Half a thought", "action": "save_draft"})
    later = Client()  # a new session
    later.force_login(seller_user)
    html = later.get("/performance/poa/new/").content.decode()
    assert "Half a thought" in html and "Draft last saved" in html


def test_the_autosave_endpoint_keeps_the_draft(seller_client, revoked):
    response = seller_client.post("/performance/poa/draft/", {"root_cause": "typing…", "timeframe": "soon"})
    assert response.status_code == 200 and response.json()["saved"] is True
    assert PlanDraft.objects.get(seller=revoked).timeframe == "soon"


def test_a_valid_plan_is_submitted_and_listed(seller_client, revoked, reviewer, django_capture_on_commit_callbacks):
    PlanDraft.objects.create(seller=revoked, root_cause="old draft")
    with django_capture_on_commit_callbacks(execute=True):
        response = submit_form(seller_client, merchant_token="seller01")
    assert response.status_code == 302 and response["Location"] == "/performance/poa/"
    plan = PlanOfAction.objects.get(seller=revoked)
    assert plan.status == PlanOfAction.Status.SUBMITTED and plan.root_cause == ANSWERS["root_cause"]
    assert not PlanDraft.objects.filter(seller=revoked).exists()
    assert [m.to for m in mail.outbox] == [["reviewer@programme.example"]]
    html = seller_client.get("/performance/poa/").content.decode()
    assert "Waiting for review by programme staff." in html and ANSWERS["corrective_actions"] in html


def test_no_second_plan_while_one_is_open(seller_client, revoked):
    submit_form(seller_client)
    response = seller_client.get("/performance/poa/new/")
    assert response.status_code == 302 and response["Location"] == "/performance/poa/"
    submit_form(seller_client)
    assert PlanOfAction.objects.count() == 1


def test_posts_without_csrf_token_are_refused(seller_user, revoked, reviewer):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(seller_user)
    assert strict.post("/performance/poa/new/", {**ANSWERS, "merchant_token": "SELLER01"}).status_code == 403
    assert strict.post("/performance/poa/draft/", {"root_cause": "x"}).status_code == 403
    assert not PlanOfAction.objects.exists() and not PlanDraft.objects.exists()
    plan = plan_submit(seller=revoked, user=seller_user, merchant_token="SELLER01", **ANSWERS)
    staff = Client(enforce_csrf_checks=True)
    staff.force_login(reviewer)
    assert staff.post(f"/review/plans/{plan.pk}/decide/", {"decision": "approve"}).status_code == 403
    plan.refresh_from_db()
    assert plan.is_open


def test_another_sellers_user_never_sees_the_plan(revoked, seller_user, other_seller_user):
    plan_submit(seller=revoked, user=seller_user, merchant_token="SELLER01", **ANSWERS)
    other = Client()
    other.force_login(other_seller_user)
    html = other.get("/performance/poa/").content.decode()
    assert ANSWERS["root_cause"] not in html and "You have not submitted a plan of action." in html
    # An eligible other seller cannot write one either.
    assert other.get("/performance/poa/new/")["Location"] == "/performance/"


# --- The reviewer's side -------------------------------------------------------------


@pytest.mark.parametrize("path", ["/review/", "/review/plans/{pk}/", "/review/sellers/{seller}/"])
def test_review_pages_are_closed_to_sellers_and_staff_without_the_permission(
    path, revoked, seller_user, other_seller_user, staff_without_review, client
):
    plan = plan_submit(seller=revoked, user=seller_user, merchant_token="SELLER01", **ANSWERS)
    url = path.format(pk=plan.pk, seller=revoked.pk)
    assert client.get(url).status_code == 302  # anonymous: to the login page
    for user in (seller_user, other_seller_user, staff_without_review):
        client.force_login(user)
        assert client.get(url).status_code == 403, user


def test_sellers_cannot_decide_plans(revoked, seller_user, seller_client):
    plan = plan_submit(seller=revoked, user=seller_user, merchant_token="SELLER01", **ANSWERS)
    assert seller_client.post(f"/review/plans/{plan.pk}/decide/", {"decision": "approve"}).status_code == 403
    plan.refresh_from_db()
    revoked.refresh_from_db()
    assert plan.is_open and revoked.status == ProgrammeStatus.NOT_ELIGIBLE


def test_queue_lists_submitted_plans_oldest_first_with_their_age(reviewer_client, revoked, seller_user, other_seller):
    older = plan_submit(seller=revoked, user=seller_user, merchant_token="SELLER01", **ANSWERS)
    PlanOfAction.objects.filter(pk=older.pk).update(submitted_at=older.submitted_at - dt.timedelta(days=3))
    other_seller.status = ProgrammeStatus.NOT_ELIGIBLE
    other_seller.save()
    newer = plan_submit(seller=other_seller, user=None, merchant_token="SELLER02", **ANSWERS)
    html = reviewer_client.get("/review/").content.decode()
    assert html.index(f'data-plan="{older.pk}"') < html.index(f'data-plan="{newer.pk}"')
    assert "3\xa0days" in html


def test_plan_page_shows_answers_metrics_facts_and_history(reviewer_client, revoked, seller_user):
    plan = plan_submit(seller=revoked, user=seller_user, merchant_token="SELLER01", **ANSWERS)
    html = reviewer_client.get(f"/review/plans/{plan.pk}/").content.decode()
    assert ANSWERS["root_cause"] in html and ANSWERS["timeframe"] in html
    assert 'data-metric="on_time_shipment_rate"' in html  # the seller's metrics table
    assert "Largest contributor: Tuesday" in html
    assert "Plan of action submitted" in html and "Programme status changed" in html  # the audit history
    assert "Approve and reinstate" in html


def test_approve_reinstates_and_the_seller_sees_prime_back(reviewer_client, revoked, seller_user, seller_client):
    plan = plan_submit(seller=revoked, user=seller_user, merchant_token="SELLER01", **ANSWERS)
    response = reviewer_client.post(f"/review/plans/{plan.pk}/decide/", {"decision": "approve"}, follow=True)
    assert "Plan approved: First Seller is eligible for Prime again." in response.content.decode()
    revoked.refresh_from_db()
    assert revoked.status == ProgrammeStatus.ELIGIBLE and seller_reinstated_at(seller=revoked) is not None
    html = seller_client.get("/performance/").content.decode()
    assert "Eligible for Prime" in html and "Prime badge active" in html


def test_reject_needs_feedback_and_the_seller_reads_it(reviewer_client, revoked, seller_user, seller_client):
    plan = plan_submit(seller=revoked, user=seller_user, merchant_token="SELLER01", **ANSWERS)
    response = reviewer_client.post(f"/review/plans/{plan.pk}/decide/", {"decision": "reject"}, follow=True)
    assert "a rejection requires it" in response.content.decode()
    plan.refresh_from_db()
    assert plan.is_open
    reviewer_client.post(f"/review/plans/{plan.pk}/decide/", {"decision": "reject", "feedback": "Name the carrier."})
    plan.refresh_from_db()
    assert plan.status == PlanOfAction.Status.REJECTED
    html = seller_client.get("/performance/poa/").content.decode()
    assert "Name the carrier." in html and 'href="/performance/poa/new/"' in html


def test_a_second_decision_is_refused_with_a_clear_message(reviewer_client, revoked, seller_user, reviewer):
    plan = plan_submit(seller=revoked, user=seller_user, merchant_token="SELLER01", **ANSWERS)
    plan_reject(plan=plan, reviewer=reviewer, feedback="No.")
    response = reviewer_client.post(f"/review/plans/{plan.pk}/decide/", {"decision": "approve"}, follow=True)
    assert "decided by someone else a moment ago (now: Rejected); nothing was changed." in response.content.decode()
    revoked.refresh_from_db()
    assert revoked.status == ProgrammeStatus.NOT_ELIGIBLE
    assert AuditEntry.objects.filter(action=AuditEntry.Action.PLAN_DECIDED).count() == 1


def test_staff_see_the_whole_history_of_a_seller(reviewer_client, revoked, seller_user, reviewer):
    plan = plan_submit(seller=revoked, user=seller_user, merchant_token="SELLER01", **ANSWERS)
    plan_reject(plan=plan, reviewer=reviewer, feedback="Say which carrier.")
    html = reviewer_client.get(f"/review/sellers/{revoked.pk}/").content.decode()
    for action in ("Programme status changed", "Plan of action submitted", "Plan of action decided"):
        assert action in html
    assert "Say which carrier." in html


def test_the_seller_sees_their_own_events_only(seller_client, revoked, other_seller, seller_user):
    plan_submit(seller=revoked, user=seller_user, merchant_token="SELLER01", **ANSWERS)
    AuditEntry.objects.create(seller=other_seller, action=AuditEntry.Action.STATUS_CHANGED, summary="OTHER SELLER")
    html = seller_client.get("/settings/history/").content.decode()
    assert "Plan of action submitted" in html and "Programme status changed" in html
    assert "OTHER SELLER" not in html


def test_the_whole_journey_through_the_pages(seller_client, revoked, reviewer_client, make_orders, seller):
    """Revoked, submits, is rejected with feedback, submits again, is approved, and the
    next daily run keeps the seller eligible on good new orders."""
    submit_form(seller_client)
    first = PlanOfAction.objects.get()
    reviewer_client.post(f"/review/plans/{first.pk}/decide/", {"decision": "reject", "feedback": "More detail."})
    assert "More detail." in seller_client.get("/performance/poa/").content.decode()
    submit_form(seller_client)
    second = PlanOfAction.objects.get(status=PlanOfAction.Status.SUBMITTED)
    reviewer_client.post(f"/review/plans/{second.pk}/decide/", {"decision": "approve"})
    seller.refresh_from_db()
    assert seller.status == ProgrammeStatus.ELIGIBLE
    reinstated = seller.local_date(seller_reinstated_at(seller=seller))
    make_orders(*(OrderFactory.build(seller=seller, purchased_on=reinstated) for _ in range(4)))
    result = daily_run(day=reinstated)
    seller.refresh_from_db()
    assert result.revoked == [] and seller.status == ProgrammeStatus.ELIGIBLE


def test_the_history_reads_in_the_sellers_language(seller_client, revoked, seller_user):
    """Status and plan entries store no sentence: they are written out in the reader's
    language when the history is shown."""
    plan_submit(seller=revoked, user=seller_user, merchant_token="SELLER01", **ANSWERS)
    seller_client.cookies["django_language"] = "de"
    html = seller_client.get("/settings/history/").content.decode()
    assert "Programmstatus geändert" in html and "Maßnahmenplan eingereicht" in html
    assert "Programme status changed" not in html and "Prime eligibility revoked by" not in html
    assert "Rate pünktlicher Übergaben" in html  # the revocation reason, as a German sentence


def test_after_reinstatement_the_dashboard_says_its_numbers_predate_it(
    seller_client, revoked, seller_user, reviewer, clock
):
    from metrics.services import plan_approve

    plan = plan_submit(seller=revoked, user=seller_user, merchant_token="SELLER01", **ANSWERS)
    plan_approve(plan=plan, reviewer=reviewer)
    revoked.refresh_from_db()
    # The latest snapshot (D) predates the reinstatement.
    assert revoked.local_date(seller_reinstated_at(seller=revoked)) > D
    html = seller_client.get("/performance/").content.decode()
    assert "before Prime was reinstated on" in html and "only orders purchased since" in html
    reinstated_on = revoked.local_date(seller_reinstated_at(seller=revoked))
    # The morning after the reinstatement's day, when its evaluation runs.
    morning_after = dt.datetime.combine(reinstated_on + dt.timedelta(days=1), dt.time(2, 30), tzinfo=revoked.zone)
    clock.move_to(morning_after)
    daily_run(day=reinstated_on)
    html = seller_client.get("/performance/").content.decode()
    assert "before Prime was reinstated on" not in html


def test_a_late_autosave_after_submitting_does_not_bring_the_draft_back(seller_client, revoked):
    submit_form(seller_client)
    response = seller_client.post("/performance/poa/draft/", {"root_cause": "typed just before submitting"})
    assert response.status_code == 409
    assert not PlanDraft.objects.filter(seller=revoked).exists()
