"""Logging in and out, and where the home page sends each kind of account."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

LOGIN_URL = "/accounts/login/"


def test_login_page_renders_the_form_with_the_portal_name(client):
    response = client.get(LOGIN_URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Prime Performance Portal" in html
    assert 'name="username"' in html and 'name="password"' in html and "csrfmiddlewaretoken" in html
    # The language switcher posts to Django's set_language view.
    assert 'action="/i18n/setlang/"' in html and 'value="de"' in html and 'value="vi"' in html


def test_seller_logs_in_and_lands_on_their_dashboard(client, seller_user):
    response = client.post(LOGIN_URL, {"username": "seller1", "password": "correct horse battery 1"}, follow=True)
    assert response.redirect_chain[-1] == (reverse("metrics:dashboard"), 302)
    assert response.status_code == 200
    html = response.content.decode()
    assert seller_user.seller.name in html and seller_user.seller.merchant_token in html
    assert "America/Los_Angeles" in html


def test_wrong_password_shows_the_form_again_with_an_error(client, seller_user):
    response = client.post(LOGIN_URL, {"username": "seller1", "password": "wrong"})
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("path", ["/", "/performance/"])
def test_anonymous_visitor_is_sent_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN_URL}?next={path}"


def test_plan_reviewers_are_sent_to_the_review_queue(client, reviewer):
    client.force_login(reviewer)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == reverse("metrics:review_queue")


def test_staff_are_sent_to_the_admin(client, staff_without_review):
    reviewer = staff_without_review
    client.force_login(reviewer)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == reverse("admin:index")
    assert client.get(reverse("admin:index")).status_code == 200


def test_account_of_no_seller_is_told_so(client, outsider):
    client.force_login(outsider)
    response = client.get("/")
    assert response.status_code == 403


def test_navbar_shows_the_user_and_a_logout_form(client, seller_user):
    client.force_login(seller_user)
    html = client.get(reverse("metrics:dashboard")).content.decode()
    assert "seller1" in html
    assert f'action="{reverse("logout")}" method="post"' in html


def test_logout_by_post_ends_the_session(client, seller_user):
    client.force_login(seller_user)
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response["Location"] == LOGIN_URL
    assert client.get("/performance/").status_code == 302


def test_logout_by_get_is_refused(client, seller_user):
    client.force_login(seller_user)
    assert client.get(reverse("logout")).status_code == 405
    assert client.get("/performance/").status_code == 200


def test_language_switch_renders_the_page_in_german(client):
    response = client.post("/i18n/setlang/", {"language": "de", "next": LOGIN_URL}, follow=True)
    assert response.status_code == 200
    assert response.wsgi_request.LANGUAGE_CODE == "de"
