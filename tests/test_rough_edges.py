"""The rough edges issue 15 found in a browser, each held in place: the menu, the skip link,
the favicon, one date and time format, 24-hour time inputs, the token's copy button, the
plan form's minimums, the reviewer's pages, a quiet development server and one log line
per 403."""

from __future__ import annotations

import datetime as dt
import logging
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.urls import reverse
from django.utils import translation
from django.utils.formats import date_format

from metrics.definitions import METRIC_DEFINITIONS, PROMISE_SPEED_DAYS
from metrics.services import daily_run, plan_approve
from portal.logs import ForbiddenWithoutTraceback
from sellers.factories import D, OrderFactory
from tests.metrics.test_plans import submit

pytestmark = pytest.mark.django_db

BASE_DIR = settings.BASE_DIR


@pytest.fixture
def seller_client(client, seller_user):
    client.force_login(seller_user)
    return client


# --- The menu, the skip link, the favicon ---------------------------------------------------


def _nav_link(html: str, label: str) -> str:
    """The menu's <a> whose text is ``label``."""
    nav = html[html.index('id="portal-navbar"') : html.index("</nav>")]
    return next(tag for tag in nav.split("<a ")[1:] if tag.split(">", 1)[1].startswith(label + "<"))


@pytest.mark.parametrize(
    ("url", "current"),
    [
        ("sellers:settings", "Settings"),
        ("sellers:fulfilment", "Settings"),
        ("metrics:dashboard", "Performance"),
        ("metrics:defects", "Performance"),
        ("metrics:poa_list", "Plans of action"),
    ],
)
def test_the_menu_marks_the_section_of_the_page_shown(seller_client, url, current):
    html = seller_client.get(reverse(url)).content.decode()
    for label in ("Performance", "Settings", "Plans of action"):
        link = _nav_link(html, label)
        marked = 'aria-current="page"' in link and "nav-link active" in link
        assert marked == (label == current), (url, label, link)


def test_the_reviewers_menu_marks_the_review_queue(client, reviewer):
    client.force_login(reviewer)
    html = client.get(reverse("metrics:review_queue")).content.decode()
    assert 'aria-current="page"' in _nav_link(html, "Review queue")


def test_every_page_starts_with_a_skip_link_to_its_content(seller_client):
    html = seller_client.get(reverse("sellers:settings")).content.decode()
    body = html[html.index("<body") :]
    first_link = body[body.index("<a ") : body.index("</a>")]
    assert 'href="#content"' in first_link and "Skip to content" in first_link
    assert '<main class="container" id="content" tabindex="-1">' in html


def test_pages_link_a_favicon_and_favicon_ico_answers(client, seller_client):
    html = seller_client.get(reverse("sellers:settings")).content.decode()
    assert '<link rel="icon" href="/static/img/favicon.svg" type="image/svg+xml">' in html
    assert '<link rel="icon" href="/static/img/favicon.ico"' in html
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"] == "/static/img/favicon.ico"
    for name in ("img/favicon.ico", "img/favicon.svg"):
        assert finders.find(name), name
    with open(finders.find("img/favicon.ico"), "rb") as icon:
        assert icon.read(4) == b"\x00\x00\x01\x00"  # an ICO header


# --- One date format, 24-hour times, named zones ---------------------------------------------


def test_english_times_are_24_hour_so_no_sentence_ends_in_p_m_dot_dot():
    moment = dt.datetime(2026, 11, 20, 17, 5)
    with translation.override("en"):
        assert date_format(moment, "DATETIME_FORMAT") == "Nov. 20, 2026, 17:05"
        assert date_format(dt.date(2026, 11, 20), "DATE_FORMAT") == "Nov. 20, 2026"


def test_a_vietnamese_date_has_no_capital_ngay_and_sentences_say_ngay_once():
    with translation.override("vi"):
        day = date_format(dt.date(2026, 11, 20), "DATE_FORMAT")
        assert day == "20 tháng 11 năm 2026"
        sentence = translation.gettext("Defects of the %(days)s days ending %(day)s") % {"days": 30, "day": day}
    assert sentence == "Lỗi trong 30 ngày kết thúc vào ngày 20 tháng 11 năm 2026"
    assert "Ngày" not in sentence and "ngày ngày" not in sentence


def test_time_inputs_are_24_hour_text_boxes_and_the_server_still_checks_them(seller_client, seller):
    url = reverse("sellers:fulfilment")
    html = seller_client.get(url).content.decode()
    assert 'type="time"' not in html
    assert 'name="cutoff_0" value="14:00"' in html and 'pattern="([01][0-9]|2[0-3]):[0-5][0-9]"' in html
    data = {f"operated_{day}": "on" for day in range(6)} | {f"cutoff_{day}": "14:00" for day in range(5)}
    response = seller_client.post(url, data | {"cutoff_5": "25:00", "weekend_delivery": "on"})
    assert "Enter the cutoff as hours and minutes, e.g. 10:30." in response.content.decode()
    assert 'type="time"' not in seller_client.get(reverse("sellers:carrier_create")).content.decode()


# --- Words of the speed metrics ---------------------------------------------------------------


def test_the_speed_metrics_name_their_units_in_their_own_words():
    for name in PROMISE_SPEED_DAYS:
        definition = METRIC_DEFINITIONS[name]
        assert "slower than" in str(definition.defects) and "defect" not in str(definition.defects)
    assert str(METRIC_DEFINITIONS["one_day_delivery_speed"].defects) == "units promised slower than one day"


# --- Tokens, plans, the review pages ----------------------------------------------------------


def test_a_new_token_is_shown_quoted_in_a_code_box_with_a_copy_button(seller_client):
    html = seller_client.post(reverse("sellers:api_tokens"), {"name": "Warehouse"}).content.decode()
    assert "Your new token “Warehouse” is below." in html
    assert 'id="new-token"' in html and 'data-copy="#new-token"' in html and ">Copy</button>" in html
    assert '<script src="/static/js/copy.js"></script>' in html and finders.find("js/copy.js")


@pytest.fixture
def revoked(seller, make_orders):
    make_orders(*(OrderFactory.build(seller=seller) for _ in range(9)), OrderFactory.build(seller=seller, late=True))
    daily_run(day=D)
    return seller


def test_the_plan_form_shows_each_minimum_up_front_and_errors_do_not_repeat_the_hint(seller_client, revoked):
    url = reverse("metrics:poa_create")
    html = seller_client.get(url).content.decode()
    assert "At least 80 characters." in html and "At least 60 characters." in html
    assert 'data-min-length="80"' in html and "js/poa-count.js" in html
    assert 'data-count-template="%(length)s of at least %(minimum)s characters"' in html
    response = seller_client.post(url, {"action": "submit", "merchant_token": revoked.merchant_token})
    html = response.content.decode()
    hint = "Name what went wrong, for which orders, and why"
    assert html.count(hint) == 1  # the help text, not again in the error
    assert "This answer is empty. Write at least 80 characters." in html


def test_the_reviewers_pages_show_times_in_the_sellers_zone_not_utc(client, reviewer, revoked, seller_user):
    plan = submit(revoked, seller_user)
    client.force_login(reviewer)
    queue = client.get(reverse("metrics:review_queue")).content.decode()
    assert "UTC" not in queue and "Times in each seller's own time zone." in queue
    assert date_format(plan.submitted_at.astimezone(revoked.zone), "DATETIME_FORMAT") + " PST" in queue
    page = client.get(reverse("metrics:review_plan", args=[plan.pk])).content.decode()
    assert "UTC" not in page and " PST by seller1" in page


def test_the_empty_queue_points_to_the_latest_decisions(client, reviewer, revoked, seller_user):
    plan = submit(revoked, seller_user)
    plan_approve(plan=plan, reviewer=reviewer)
    client.force_login(reviewer)
    html = client.get(reverse("metrics:review_queue")).content.decode()
    assert "No plan of action or incident is waiting for review." in html and "Latest decisions" in html
    assert f'href="{reverse("metrics:review_plan", args=[plan.pk])}"' in html


# --- A quiet development server, one line per 403 -------------------------------------------


def test_in_process_tasks_build_no_broker_connection_that_warns():
    """Without CELERY_BROKER_URL, tasks run in-process; Celery still builds a producer for
    them, which used to make kombu warn "No hostname was supplied" on every task."""
    env = {k: v for k, v in os.environ.items() if k not in {"CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"}}
    code = (
        "import os, django; os.environ['DJANGO_SETTINGS_MODULE'] = 'portal.settings'; django.setup(); "
        "from portal.celery import app\n"
        "with app.producer_or_acquire(None) as producer: print(producer.connection.transport_cls)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=BASE_DIR, env=env | {"DEBUG": "true"}, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "memory" in result.stdout
    assert "No hostname" not in result.stderr + result.stdout


def _record(status_code: int) -> logging.LogRecord:
    try:
        raise RuntimeError("refused")
    except RuntimeError:
        record = logging.getLogger("django.request").makeRecord(
            "django.request",
            logging.WARNING,
            __file__,
            1,
            "Forbidden (Permission denied): %s",
            ("/review/",),
            sys.exc_info(),
        )
    record.status_code = status_code
    return record


def test_a_403_is_logged_as_one_line_without_a_traceback():
    forbidden, error = _record(403), _record(500)
    assert ForbiddenWithoutTraceback().filter(forbidden) and ForbiddenWithoutTraceback().filter(error)
    assert forbidden.exc_info is None and error.exc_info is not None
    assert logging.Formatter().format(forbidden).splitlines() == ["Forbidden (Permission denied): /review/"]


def test_a_refused_page_reaches_the_log_without_its_traceback(client, outsider, caplog):
    client.force_login(outsider)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert client.get(reverse("metrics:review_queue")).status_code == 403
    (record,) = [r for r in caplog.records if r.name == "django.request"]
    assert record.status_code == 403 and record.exc_info is None
    assert record.getMessage() == "Forbidden (Permission denied): /review/"


def test_the_console_handler_drops_403_tracebacks_and_django_logs_once():
    logging_settings = settings.LOGGING
    assert "forbidden_one_line" in logging_settings["handlers"]["console"]["filters"]
    django_logger = logging_settings["loggers"]["django"]
    assert django_logger["propagate"] is False and django_logger["handlers"] == ["console", "mail_admins"]
