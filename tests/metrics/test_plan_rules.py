"""The two rules of plans of action that every page asks, each decided in one place
(``metrics.selectors``): may this seller submit a plan now, and who reviews plans."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import reverse

from metrics.selectors import can_review_plans, plan_reviewers, seller_plan_submission
from metrics.services import PlanError, daily_run, plan_submit
from sellers.choices import ProgrammeStatus
from sellers.factories import D, OrderFactory
from sellers.models import User
from sellers.services import seller_user_create
from tests.metrics.test_plans import ANSWERS

pytestmark = pytest.mark.django_db


# --- May this seller submit a plan now? -----------------------------------------------------


def what_each_place_says(seller, seller_user) -> dict[str, bool]:
    """Whether the dashboard, the list of plans, the Create POA page and ``plan_submit`` let
    the seller submit a plan now."""
    client = Client()
    client.force_login(seller_user)
    dashboard = client.get(reverse("metrics:dashboard")).content.decode()
    plans = client.get(reverse("metrics:poa_list")).content.decode()
    create = client.get(reverse("metrics:poa_create"))
    try:
        plan_submit(seller=seller, user=seller_user, merchant_token=seller.merchant_token, **ANSWERS)
    except PlanError:
        submitted = False
    else:
        submitted = True
    create_poa = f'href="{reverse("metrics:poa_create")}"'
    return {
        "dashboard": create_poa in dashboard,
        "list of plans": create_poa in plans,
        "Create POA page": create.status_code == 200,
        "plan_submit": submitted,
    }


def test_every_place_follows_the_one_rule_for_submitting_a_plan(seller, seller_user, make_orders):
    # Eligible: nothing to reinstate.
    assert not seller_plan_submission(seller=seller).allowed
    assert set(what_each_place_says(seller, seller_user).values()) == {False}
    # Not eligible, no plan under review: every place offers it (and the last one submits).
    make_orders(
        *(OrderFactory.build(seller=seller) for _ in range(9)),
        OrderFactory.build(seller=seller, late=True, purchased_on=D - dt.timedelta(days=3)),
    )
    daily_run(day=D)
    seller.refresh_from_db()
    assert seller.status == ProgrammeStatus.NOT_ELIGIBLE
    assert seller_plan_submission(seller=seller).allowed
    assert set(what_each_place_says(seller, seller_user).values()) == {True}
    # A plan under review: no place offers another.
    submission = seller_plan_submission(seller=seller)
    assert not submission.allowed and submission.open_plan is not None
    assert set(what_each_place_says(seller, seller_user).values()) == {False}


# --- Who reviews? ---------------------------------------------------------------------------


@pytest.fixture
def accounts(db, seller):
    """Every kind of account, each with an email address unless said otherwise."""
    permission = Permission.objects.get(codename="review_plan", content_type__app_label="metrics")
    reviewers_group = Group.objects.create(name="Reviewers")
    reviewers_group.permissions.add(permission)

    def account(username, *, email=True, **fields):
        return User.objects.create_user(
            username=username, password="a pass phrase 1", email=f"{username}@example.com" if email else "", **fields
        )

    direct = account("direct", is_staff=True)
    direct.user_permissions.add(permission)
    through_group = account("group", is_staff=True)
    through_group.groups.add(reviewers_group)
    superuser = account("super", is_staff=True, is_superuser=True)
    inactive = account("inactive", is_staff=True, is_active=False)
    inactive.user_permissions.add(permission)
    without_email = account("noemail", email=False, is_staff=True)
    without_email.user_permissions.add(permission)
    staff = account("staff", is_staff=True)
    sellers_account = seller_user_create(seller=seller, username="sellerperm", password="a pass phrase 1")
    sellers_account.email = "sellerperm@example.com"
    sellers_account.save()
    sellers_account.user_permissions.add(permission)
    sellers_superuser = account("sellersuper", is_superuser=True, seller=seller)
    return {
        "reviewers": {direct, through_group, superuser, without_email},
        "others": {inactive, staff, sellers_account, sellers_superuser},
    }


def fresh(user: User) -> User:
    """The account as a new request loads it (no cached permissions)."""
    return User.objects.get(pk=user.pk)


def test_the_reviewers_mailed_are_exactly_the_accounts_that_may_review(accounts):
    everyone = accounts["reviewers"] | accounts["others"]
    may_review = {user for user in everyone if can_review_plans(fresh(user))}
    assert may_review == accounts["reviewers"]
    # Mailed: those of them with an email address.
    assert set(plan_reviewers()) == {user for user in may_review if user.email}


@pytest.mark.parametrize("kind", ["reviewers", "others"])
def test_the_review_pages_the_navigation_and_the_home_page_admit_the_same_accounts(accounts, kind):
    queue = reverse("metrics:review_queue")
    for user in accounts[kind]:
        if not user.is_active:
            continue  # cannot log in
        client = Client()
        client.force_login(user)
        reviews = kind == "reviewers"
        page = client.get(queue)  # the queue, or the 403 page, both under the navigation
        assert page.status_code == (200 if reviews else 403), user.username
        assert (f'href="{queue}"' in page.content.decode()) is reviews, user.username
        home = client.get(reverse("home"))
        assert (home.status_code == 302 and home["Location"] == queue) is reviews, user.username
