"""Each account's language: remembered on the account, applied after login, used in emails."""

from __future__ import annotations

import pytest
from django.test import Client

from sellers.language import user_language

pytestmark = pytest.mark.django_db


def test_switching_language_while_logged_in_is_remembered_on_the_account(client, seller_user):
    client.force_login(seller_user)
    client.post("/i18n/setlang/", {"language": "vi", "next": "/performance/"})
    seller_user.refresh_from_db()
    assert seller_user.language == "vi"


def test_an_unknown_language_is_not_stored(client, seller_user):
    client.force_login(seller_user)
    client.post("/i18n/setlang/", {"language": "xx", "next": "/performance/"})
    seller_user.refresh_from_db()
    assert seller_user.language == ""


def test_a_new_browser_gets_the_accounts_language_after_login(seller_user):
    seller_user.language = "de"
    seller_user.save()
    browser = Client()  # no language cookie
    browser.force_login(seller_user)
    response = browser.get("/performance/")
    assert response.wsgi_request.LANGUAGE_CODE == "de"
    assert '<html lang="de">' in response.content.decode()


def test_the_language_cookie_of_this_browser_wins_over_the_account(client, seller_user):
    seller_user.language = "de"
    seller_user.save()
    client.force_login(seller_user)
    client.cookies["django_language"] = "vi"
    assert client.get("/performance/").wsgi_request.LANGUAGE_CODE == "vi"


def test_user_language_falls_back_to_the_portal_default(seller_user):
    assert user_language(seller_user) == "en"
    seller_user.language = "de"
    assert user_language(seller_user) == "de"
