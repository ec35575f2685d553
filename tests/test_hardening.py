"""Hardening (issue 5): login throttling, the production settings, request limits and the
pages a person sees instead of a stack trace.

django-axes is off in the test settings (other tests call authenticate() without a
request); the throttling tests here turn it on with a small failure limit.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.db.models import F
from django.test import Client, override_settings
from django.urls import include, path, reverse

from sellers.choices import STATES, Weekday
from sellers.services import api_token_create
from tests.test_settings import SOME_DATABASE_URL

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parent.parent
GOOD_SECRET_KEY = "x7#Qm2!vR9pL4wK8zT1nB6yH3jF5dS0aG-cE_uI+oP=rU*tY&eW^qZ%xC@vB$nM"
LOGIN_URL = "/accounts/login/"
PASSWORD = "correct horse battery 1"  # seller1's, from the conftest
LOCKOUT_SENTENCE = (
    "Too many failed logins for this account from your address. Try again in 15 minutes, "
    "or ask programme staff to unlock it."
)

throttled = override_settings(AXES_ENABLED=True, AXES_FAILURE_LIMIT=3)


def log_in(client, username: str = "seller1", password: str = PASSWORD, **extra):
    return client.post(LOGIN_URL, {"username": username, "password": password}, **extra)


def fail(client, times: int, username: str = "seller1", **extra) -> list[int]:
    return [log_in(client, username, "wrong password", **extra).status_code for _ in range(times)]


def logged_in_as(client) -> str | None:
    return client.session.get("_auth_user_id")


# --- login throttling ------------------------------------------------------------------------


def test_throttling_is_configured_as_the_programme_asks():
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert settings.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME.total_seconds() == 15 * 60
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert settings.AXES_RESET_ON_SUCCESS is True


@throttled
def test_the_failure_limit_locks_the_account_out_with_a_clear_page(client, seller_user):
    assert fail(client, 2) == [200, 200]
    response = log_in(client, password="wrong password")
    assert response.status_code == 429
    html = response.content.decode()
    assert LOCKOUT_SENTENCE in html
    # The portal's own page: base.html's navbar and the way back to the login form.
    assert "navbar" in html and f'href="{LOGIN_URL}"' in html
    # Locked means locked: the right password does not get in either.
    response = log_in(client)
    assert response.status_code == 429 and LOCKOUT_SENTENCE in response.content.decode()
    assert logged_in_as(client) is None


@throttled
@override_settings(AXES_COOLOFF_TIME=dt.timedelta(minutes=1))
def test_the_lockout_page_names_the_configured_cool_off(client, seller_user):
    fail(client, 3)
    assert "Try again in 1 minute, or ask programme staff" in log_in(client).content.decode()


@throttled
def test_a_successful_login_resets_the_failures(client, seller_user):
    assert fail(client, 2) == [200, 200]
    assert log_in(client).status_code == 302 and logged_in_as(client) == str(seller_user.pk)
    client.post(reverse("logout"))
    # Two more failures would lock the account had the first two still counted.
    assert fail(client, 2) == [200, 200]
    assert log_in(client).status_code == 302


@throttled
def test_another_user_from_the_same_address_is_not_locked(client, seller_user, other_seller_user):
    fail(client, 3)
    assert log_in(client, "seller2", "correct horse battery 2").status_code == 302
    assert logged_in_as(client) == str(other_seller_user.pk)


@throttled
def test_the_same_user_from_another_address_is_not_locked(client, seller_user):
    fail(client, 3, REMOTE_ADDR="198.51.100.20")
    assert log_in(client, REMOTE_ADDR="198.51.100.20").status_code == 429
    assert log_in(client, REMOTE_ADDR="203.0.113.7").status_code == 302


@throttled
def test_the_lockout_ends_after_the_cool_off(client, seller_user):
    fail(client, 3)
    assert log_in(client).status_code == 429
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - dt.timedelta(minutes=16))
    assert log_in(client).status_code == 302


@throttled
def test_staff_unlock_an_account_in_the_admin(client, seller_user, django_user_model):
    fail(client, 3)
    attempt = AccessAttempt.objects.get(username="seller1")
    admin = django_user_model.objects.create_superuser(username="root", password="root pass 1")
    staff = Client()
    staff.force_login(admin)
    changelist = staff.get(reverse("admin:axes_accessattempt_changelist"))
    assert changelist.status_code == 200 and "seller1" in changelist.content.decode()
    delete_url = reverse("admin:axes_accessattempt_delete", args=[attempt.pk])
    assert staff.post(delete_url, {"post": "yes"}).status_code == 302
    assert log_in(client).status_code == 302


@throttled
def test_without_a_configured_proxy_x_forwarded_for_is_ignored(client, seller_user):
    # A client writes any X-Forwarded-For it likes: changing it must not dodge the lockout.
    fail(client, 3, HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert log_in(client, HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 429
    assert AccessAttempt.objects.get().ip_address == "127.0.0.1"


@throttled
@override_settings(AXES_IPWARE_PROXY_COUNT=0, AXES_IPWARE_META_PRECEDENCE_ORDER=("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"))
def test_behind_a_configured_proxy_the_forwarded_client_address_counts(client, seller_user):
    behind_proxy = {"REMOTE_ADDR": "10.0.0.2"}
    fail(client, 3, HTTP_X_FORWARDED_FOR="198.51.100.1", **behind_proxy)
    assert AccessAttempt.objects.get().ip_address == "198.51.100.1"
    assert log_in(client, HTTP_X_FORWARDED_FOR="198.51.100.1", **behind_proxy).status_code == 429
    assert log_in(client, HTTP_X_FORWARDED_FOR="203.0.113.7", **behind_proxy).status_code == 302
    # An address the client put in front of its own makes the header too long to trust.
    client.post(reverse("logout"))
    fail(client, 1, username="seller2", HTTP_X_FORWARDED_FOR="192.0.2.9, 198.51.100.1", **behind_proxy)
    assert AccessAttempt.objects.get(username="seller2").ip_address == "10.0.0.2"


@throttled
def test_force_login_and_bearer_tokens_do_not_go_through_the_throttle(client, seller, seller_user):
    client.force_login(seller_user)
    assert client.get(reverse("metrics:dashboard")).status_code == 200
    client.logout()
    _, raw = api_token_create(seller=seller, actor=seller_user, name="Warehouse")
    # No metrics computed yet: the token is accepted (404, not 401), however often it is used.
    for _ in range(5):
        response = client.get("/api/performance/", HTTP_AUTHORIZATION=f"Bearer {raw}")
        assert response.status_code == 404 and "No metrics have been computed" in response.json()["error"]
    for _ in range(5):
        assert client.get("/api/performance/", HTTP_AUTHORIZATION="Bearer ppp_unknown").status_code == 401
    assert not AccessAttempt.objects.exists()


# --- settings read from the environment, in a fresh interpreter --------------------------------


def settings_values(module: str, names: list[str], **environment: str) -> subprocess.CompletedProcess:
    """Import a settings module with only ``environment`` (plus PATH and a DATABASE_URL) set and
    print the named settings as JSON, as tests/test_settings.py does for the others."""
    env = {"PATH": os.environ.get("PATH", ""), "DATABASE_URL": SOME_DATABASE_URL, **environment}
    code = f"import json, {module} as s; print(json.dumps({{n: getattr(s, n, None) for n in {names!r}}}, default=str))"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=60
    )


AXES_NAMES = ["AXES_FAILURE_LIMIT", "AXES_COOLOFF_TIME", "AXES_IPWARE_PROXY_COUNT", "AXES_IPWARE_META_PRECEDENCE_ORDER"]


def test_throttling_defaults_read_only_the_remote_address():
    result = settings_values("portal.settings", AXES_NAMES, DEBUG="true")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "AXES_FAILURE_LIMIT": 5,
        "AXES_COOLOFF_TIME": "0:15:00",
        "AXES_IPWARE_PROXY_COUNT": None,
        "AXES_IPWARE_META_PRECEDENCE_ORDER": None,
    }


def test_throttling_is_configured_by_environment_variables():
    result = settings_values(
        "portal.settings",
        AXES_NAMES,
        DEBUG="true",
        AXES_FAILURE_LIMIT="8",
        AXES_COOLOFF_MINUTES="30",
        AXES_IPWARE_PROXY_COUNT="1",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "AXES_FAILURE_LIMIT": 8,
        "AXES_COOLOFF_TIME": "0:30:00",
        "AXES_IPWARE_PROXY_COUNT": 1,
        "AXES_IPWARE_META_PRECEDENCE_ORDER": ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"],
    }


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("AXES_FAILURE_LIMIT", "0", "AXES_FAILURE_LIMIT=0 is too small: set it to 1 or more, e.g. 5."),
        ("AXES_COOLOFF_MINUTES", "quarter", "AXES_COOLOFF_MINUTES='quarter' is not a whole number"),
        ("AXES_IPWARE_PROXY_COUNT", "-1", "AXES_IPWARE_PROXY_COUNT=-1 is too small: set it to 0 or more"),
    ],
)
def test_a_bad_throttling_value_stops_start_up(name, value, message):
    result = settings_values("portal.settings", AXES_NAMES, DEBUG="true", **{name: value})
    assert result.returncode != 0 and "ImproperlyConfigured" in result.stderr and message in result.stderr


PRODUCTION = {"SECRET_KEY": GOOD_SECRET_KEY, "ALLOWED_HOSTS": "portal.example.com"}
SECURE_NAMES = [
    "DEBUG",
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE",
    "SESSION_COOKIE_AGE",
    "SESSION_EXPIRE_AT_BROWSER_CLOSE",
    "CSRF_COOKIE_SECURE",
    "CSRF_COOKIE_HTTPONLY",
    "CSRF_COOKIE_SAMESITE",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "SECURE_CROSS_ORIGIN_OPENER_POLICY",
    "SECURE_REFERRER_POLICY",
    "X_FRAME_OPTIONS",
    "ADMINS",
]


def test_production_settings_have_the_secure_flags():
    result = settings_values("portal.settings_production", [*SECURE_NAMES, "LOGGING"], **PRODUCTION)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    logging = values.pop("LOGGING")
    assert values == {
        "DEBUG": False,
        "SESSION_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_AGE": 12 * 60 * 60,
        "SESSION_EXPIRE_AT_BROWSER_CLOSE": False,
        "CSRF_COOKIE_SECURE": True,
        "CSRF_COOKIE_HTTPONLY": True,
        "CSRF_COOKIE_SAMESITE": "Lax",
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "SECURE_CROSS_ORIGIN_OPENER_POLICY": "same-origin",
        "SECURE_REFERRER_POLICY": "same-origin",
        "X_FRAME_OPTIONS": "DENY",
        "ADMINS": [],
    }
    assert logging["loggers"]["django.security"]["handlers"] == ["console"]


def test_production_admins_come_from_the_environment():
    result = settings_values(
        "portal.settings_production",
        ["ADMINS"],
        ADMINS="Ops Team <ops@example.com>, security@example.com",
        **PRODUCTION,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["ADMINS"] == [
        ["Ops Team", "ops@example.com"],
        ["security@example.com", "security@example.com"],
    ]


def test_a_production_admin_that_is_no_address_stops_start_up(monkeypatch):
    from portal.env import env_addresses

    monkeypatch.setenv("ADMINS", "ops@example.com, the ops team")
    with pytest.raises(ImproperlyConfigured, match="ADMINS has 'the ops team', which is not an email address"):
        env_addresses("ADMINS")


def deployment_checks(**environment: str) -> subprocess.CompletedProcess:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "portal.settings_production",
        "DATABASE_URL": SOME_DATABASE_URL,
        **PRODUCTION,
        **environment,
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_the_deployment_checks():
    result = deployment_checks()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("environment", "address"),
    [
        ({"ALLOWED_HOSTS": "*"}, "http://127.0.0.1:8000"),  # no host to link to
        ({"PORTAL_URL": "http://portal.example.com"}, "http://portal.example.com"),  # no https
        ({"PORTAL_URL": "https://localhost:8443"}, "https://localhost:8443"),  # this machine
        ({"PORTAL_URL": "https://0.0.0.0"}, "https://0.0.0.0"),
        ({"PORTAL_URL": "https://127.0.0.2", "ALLOWED_HOSTS": "127.0.0.2"}, "https://127.0.0.2"),
    ],
)
def test_the_deployment_checks_refuse_email_links_that_would_not_reach_the_portal(environment, address):
    result = deployment_checks(**environment)
    assert result.returncode != 0
    assert f"(portal.E001) PORTAL_URL is {address}: the links in emails would not reach the portal." in result.stderr
    assert "Set PORTAL_URL to the https address people open the portal at" in result.stderr


def test_the_deployment_checks_refuse_email_links_to_a_host_the_portal_refuses():
    result = deployment_checks(PORTAL_URL="https://portal.exmaple.com")  # a typo: ALLOWED_HOSTS has the right one
    assert result.returncode != 0
    assert (
        "PORTAL_URL is https://portal.exmaple.com: its host is not in ALLOWED_HOSTS, so the links in emails would "
        "be refused." in result.stderr
    )
    assert deployment_checks(PORTAL_URL="https://portal.example.com").returncode == 0


# --- error pages ---------------------------------------------------------------------------


def _raises_an_error(request):
    raise RuntimeError("database password is hunter2")


def _raises_suspicious(request):
    raise SuspiciousOperation("forged header in a request")


# The portal's URLs plus two that fail, for the error-page tests (ROOT_URLCONF=__name__).
urlpatterns = [
    path("test-only/boom/", _raises_an_error),
    path("test-only/suspicious/", _raises_suspicious),
    path("", include("portal.urls")),
]


def test_an_unknown_address_shows_the_portals_404_page(client):
    assert settings.DEBUG is False
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Page not found" in html and "start again from the portal" in html and "navbar" in html
    assert "Using the URLconf" not in html  # Django's technical 404 page


@override_settings(ROOT_URLCONF=__name__)
def test_an_error_in_a_view_shows_the_500_page_without_a_traceback(client):
    client.raise_request_exception = False
    response = client.get("/test-only/boom/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong on our side" in html and 'href="/"' in html
    for leak in ["Traceback", "RuntimeError", "hunter2", "_raises_an_error"]:
        assert leak not in html


@override_settings(ROOT_URLCONF=__name__)
def test_a_suspicious_request_shows_the_400_page(client):
    response = client.get("/test-only/suspicious/")
    assert response.status_code == 400
    html = response.content.decode()
    assert "The portal could not read this request" in html and "forged header" not in html


def test_an_account_of_no_seller_gets_the_403_page_saying_what_to_do(client, outsider):
    client.force_login(outsider)
    response = client.get("/")
    assert response.status_code == 403
    html = response.content.decode()
    assert "No access to this page" in html
    assert "You do not have access to this page. If you are programme staff, ask for the review permission." in html
    # The view's own sentence says what this account lacks.
    assert "ask programme staff to link it to your seller" in html


def test_a_seller_on_the_review_queue_gets_the_403_page(client, seller_user):
    client.force_login(seller_user)
    response = client.get(reverse("metrics:review_queue"))
    assert response.status_code == 403
    assert "Reviewing plans of action needs the review permission" in response.content.decode()


# --- request limits ------------------------------------------------------------------------


def every_state_in_both_lists() -> dict:
    """The largest form the portal has: a carrier service with every state ticked as reached
    in one day and in two, and a pickup on every weekday (as tests/sellers posts it)."""
    data = {"name": "Every State Express", "one_day_states": list(STATES), "two_day_states": list(STATES)}
    data.update({f"pickup_{weekday}": "17:00" for weekday in Weekday})
    return data


def posted_fields(data: dict) -> int:
    return sum(len(value) if isinstance(value, list) else 1 for value in data.values())


def test_the_largest_form_posts_under_the_field_limit(client, seller_user):
    assert settings.DATA_UPLOAD_MAX_NUMBER_FIELDS == 1000
    client.force_login(seller_user)
    data = every_state_in_both_lists()
    assert posted_fields(data) > 100
    response = client.post(reverse("sellers:carrier_create"), data)
    # Every field was read: the form answers about all 51 states, not with a 400.
    assert response.status_code == 200
    errors = response.context["form"].errors["two_day_states"]
    assert errors == [
        f"A state is reached in one day or in two, not both: {', '.join(sorted(STATES))}. "
        "Untick each of them in one of the two lists."
    ]


@override_settings(DATA_UPLOAD_MAX_NUMBER_FIELDS=100)
def test_a_post_over_the_field_limit_gets_the_400_page(client, seller_user):
    client.force_login(seller_user)
    response = client.post(reverse("sellers:carrier_create"), every_state_in_both_lists())
    assert response.status_code == 400
    assert "The portal could not read this request" in response.content.decode()
