"""Per-user email preferences (SPEC section 8): a user turns off the portal's optional
emails on the settings page; revocation and reinstatement are always sent; the senders ask
``email_recipients``."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from metrics.notifications import plan_decided_emails_send, revocation_emails_send
from metrics.services import daily_run, plan_approve, plan_reject
from sellers.choices import MANDATORY_EMAILS, OPTIONAL_EMAILS, EmailKind
from sellers.factories import D, OrderFactory
from sellers.models import SellerEvent
from sellers.selectors import email_recipients, seller_email_recipients
from sellers.services import seller_user_create, user_email_preferences_update
from tests.metrics.test_plans import submit

pytestmark = pytest.mark.django_db

URL = reverse("sellers:settings")


@pytest.fixture
def seller_client(client, seller_user):
    client.force_login(seller_user)
    return client


@pytest.fixture
def two_users(seller, seller_user):
    """The seller's user in German, who turned plan decisions off, and a colleague in English."""
    seller_user.email, seller_user.language = "ops@seller.example", "de"
    seller_user.save()
    user_email_preferences_update(user=seller_user, wanted=[EmailKind.AT_RISK])
    colleague = seller_user_create(seller=seller, username="colleague", password="correct horse battery 2")
    colleague.email = "colleague@seller.example"
    colleague.save()
    return seller_user, colleague


def test_the_kinds_are_one_list_with_revocation_and_reinstatement_always_sent():
    assert {EmailKind.REVOCATION, EmailKind.REINSTATEMENT} == MANDATORY_EMAILS
    assert EmailKind.AT_RISK in OPTIONAL_EMAILS and EmailKind.PLAN_DECIDED in OPTIONAL_EMAILS
    assert set(OPTIONAL_EMAILS) | MANDATORY_EMAILS == set(EmailKind)


def test_a_new_user_gets_every_email(seller_user):
    assert seller_user.email_opt_outs == []
    assert all(seller_user.wants_email(kind) for kind in EmailKind)


def test_the_settings_page_shows_the_preferences_ticked_and_the_emails_always_sent(seller_client):
    html = seller_client.get(URL).content.decode()
    form = html[html.index('class="portal-email-preferences"') : html.index("Save email preferences")]
    for kind in OPTIONAL_EMAILS:
        assert f'value="{kind}"' in form and "checked" in form.split(f'value="{kind}"')[1].split(">")[0]
    assert 'value="revocation"' not in form and 'value="reinstatement"' not in form
    assert "Always sent:</p>" not in form and "Prime eligibility revoked; Prime eligibility reinstated" in form


def test_unticking_turns_an_email_off_and_keeps_the_others(seller_client, seller_user):
    response = seller_client.post(URL, {"wanted": [EmailKind.AT_RISK, EmailKind.WEBHOOK_DISABLED]}, follow=True)
    assert response.redirect_chain == [(URL, 302)]
    assert "Your email preferences are saved." in response.content.decode()
    seller_user.refresh_from_db()
    assert seller_user.email_opt_outs == [EmailKind.PLAN_DECIDED, EmailKind.INCIDENT_DECIDED]
    assert not seller_user.wants_email(EmailKind.PLAN_DECIDED) and seller_user.wants_email(EmailKind.AT_RISK)


def test_nothing_ticked_turns_every_optional_email_off_but_not_the_mandatory_ones(seller_client, seller_user):
    seller_client.post(URL, {})
    seller_user.refresh_from_db()
    assert set(seller_user.email_opt_outs) == set(OPTIONAL_EMAILS)
    assert seller_user.wants_email(EmailKind.REVOCATION) and seller_user.wants_email(EmailKind.REINSTATEMENT)


@pytest.mark.parametrize("kind", ["revocation", "reinstatement", "newsletter", "x" * 5000])
def test_a_kind_that_cannot_be_chosen_is_refused_with_a_message_and_changes_nothing(seller_client, seller_user, kind):
    response = seller_client.post(URL, {"wanted": [EmailKind.AT_RISK, kind]})
    assert response.status_code == 400
    assert "is not one of the portal&#x27;s emails; tick only the emails listed." in response.content.decode()
    seller_user.refresh_from_db()
    assert seller_user.email_opt_outs == []


def test_a_mandatory_email_stored_as_off_is_still_sent(seller_user):
    seller_user.email_opt_outs = [EmailKind.REVOCATION, EmailKind.REINSTATEMENT]
    seller_user.email = "ops@seller.example"
    seller_user.save()
    assert seller_user.wants_email(EmailKind.REVOCATION)
    assert seller_user in email_recipients(EmailKind.REVOCATION)
    assert seller_user in email_recipients(EmailKind.REINSTATEMENT)


def test_recipients_are_active_with_an_address_and_of_the_seller_asked(seller, other_seller, two_users):
    german, colleague = two_users
    theirs = seller_user_create(seller=other_seller, username="theirs", password="correct horse battery 3")
    theirs.email = "theirs@other.example"
    theirs.save()
    assert set(seller_email_recipients(seller=seller, kind=EmailKind.PLAN_DECIDED)) == {colleague}
    assert set(seller_email_recipients(seller=seller, kind=EmailKind.AT_RISK)) == {german, colleague}
    colleague.is_active = False
    colleague.save()
    assert set(seller_email_recipients(seller=seller, kind=EmailKind.REVOCATION)) == {german}


@pytest.fixture
def revoked(seller, make_orders, two_users):
    make_orders(*(OrderFactory.build(seller=seller) for _ in range(9)), OrderFactory.build(seller=seller, late=True))
    daily_run(day=D)
    return seller


def test_the_revocation_email_goes_to_everyone_whatever_they_turned_off(revoked, two_users):
    german, _colleague = two_users
    german.email_opt_outs = list(EmailKind)
    german.save()
    event = SellerEvent.objects.get(seller=revoked, kind=SellerEvent.Kind.REVOKED)
    mail.outbox = []
    assert revocation_emails_send(event_ids=[event.pk]) == 2
    assert sorted(m.to[0] for m in mail.outbox) == ["colleague@seller.example", "ops@seller.example"]


def test_a_rejection_skips_who_turned_plan_decisions_off(revoked, two_users, seller_user, reviewer):
    plan = submit(revoked, seller_user)
    plan_reject(plan=plan, reviewer=reviewer, feedback="Say which carrier you changed.")
    mail.outbox = []
    assert plan_decided_emails_send(plan_id=plan.pk) == 1
    assert [m.to for m in mail.outbox] == [["colleague@seller.example"]]


def test_the_reinstatement_email_reaches_everyone_in_their_own_language(revoked, two_users, seller_user, reviewer):
    plan = submit(revoked, seller_user)
    plan_approve(plan=plan, reviewer=reviewer)
    mail.outbox = []
    assert plan_decided_emails_send(plan_id=plan.pk) == 2
    by_address = {m.to[0]: m for m in mail.outbox}
    assert "Prime is back for SELLER01" in by_address["colleague@seller.example"].subject
    german = by_address["ops@seller.example"]
    assert "Prime is back for SELLER01" not in german.subject and "SELLER01" in german.subject
