"""What a German or Vietnamese seller reads, wholly in their language (issue 19).

The demo (``seed_demo``) is seeded once for the module, as tests/sellers/test_demo.py does,
and the pages its sellers and its reviewer read are rendered in German and in Vietnamese:
each seller's dashboard, the defect list, the Create POA form and the other seller pages,
the review pages; and every email, each in its recipient's language. Their text (what a
tag shows, titles, labels, confirmations, subjects and bodies) holds no English: no word of
the catalogue's English that no translation in that language uses. What may stay English
is named: proper nouns (the demo's sellers, carriers and states, time zones, "English" in
the language menu), merchant tokens, what the seller or reviewer wrote, and the defect
report's CSV column names (SPEC section 5), which the "What to do" texts quote as the file
has them. A failure prints each English word with the line it is in.

Vietnamese dates inside a sentence are lower case: no line says "ngày Ngày", none has a
capital "Ngày" after a word.
"""

from __future__ import annotations

import codecs
import datetime as dt
import functools
import html
import io
import re
import zoneinfo

import polib
import pytest
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.test import Client

from metrics.definitions import REPORT_COLUMNS
from metrics.models import PlanOfAction, SellerAtRisk
from metrics.notifications import (
    at_risk_emails_send,
    plan_decided_emails_send,
    plan_submitted_emails_send,
    revocation_emails_send,
)
from metrics.report import ORDER_COLUMNS
from metrics.selectors import plan_reviewers
from metrics.services import plan_approve, plan_reject, plan_submit
from sellers.choices import SHIP_TO_CODES, STATE_NAMES
from sellers.demo import DEMO_SELLERS, REVIEWER_USERNAME, demo_usernames
from sellers.models import CarrierService, Order, Seller, SellerEvent, User
from tests.clock import Clock
from tests.factories import PLAN_ANSWERS
from webhooks.choices import DisabledReason
from webhooks.models import WebhookEndpoint
from webhooks.notifications import endpoint_disabled_emails_send

# The demo's clock: D is Nov. 20, the daily run evaluated it in the night.
NOW = dt.datetime(2026, 11, 21, 9, 30, tzinfo=zoneinfo.ZoneInfo("America/Los_Angeles"))
DAY = dt.date(2026, 11, 20)
LANGUAGES = ("de", "vi")
HEALTHY, LATE_SHIPMENTS, CANCELLATIONS, BROKEN_SETTINGS = DEMO_SELLERS

pytestmark = pytest.mark.django_db

# What a reviewer writes, in the reviewer's own words: not the portal's.
FEEDBACK = "The root cause names no carrier; say which pickups were missed."

# The pages a seller reads; each demo seller's dashboard, the rest for the sellers that
# lost Prime (a failing metric, failing requirements) and the healthy one's settings.
DASHBOARD = ("/performance/", "/performance/?window=7")
SELLER_PAGES = (
    "/performance/defects/",
    "/performance/defects/?window=7&flag=delivered_late",
    "/performance/poa/new/",
    "/performance/poa/",
)
SETTINGS_PAGES = (
    "/settings/",
    "/settings/shipping-template/",
    "/settings/fulfilment/",
    "/settings/carriers/",
    "/settings/carriers/new/",
    "/settings/volume-control/",
    "/settings/api-tokens/",
    "/settings/webhooks/",
)
PAGES = [
    *((profile.username, url) for profile in DEMO_SELLERS for url in DASHBOARD),
    *((profile.username, url) for profile in (LATE_SHIPMENTS, CANCELLATIONS, BROKEN_SETTINGS) for url in SELLER_PAGES),
    (LATE_SHIPMENTS.username, "/performance/orders/?metric=on_time_shipment_rate"),
    (CANCELLATIONS.username, "/performance/orders/?metric=cancellation_rate&window=7"),
    *((HEALTHY.username, url) for url in SETTINGS_PAGES),
    (BROKEN_SETTINGS.username, "/settings/fulfilment/"),
]

# What a reader sees besides the text between tags.
SHOWN_ATTRIBUTES = re.compile(
    r'\s(?:title|aria-label|placeholder|alt|data-label|data-saved|data-copied|data-copy-failed)="([^"]*)"'
)
CONFIRMATION = re.compile(r"confirm\('((?:[^'\\]|\\.)*)'\)")
# Paths, addresses and time zones ("America/New_York", "/api/performance/", https://...).
ADDRESS = re.compile(r"\S+/\S+|\S+@\S+")
# A word: letters only; a token with digits (an order or tracking id, a time) is no word.
WORD = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*")
TOKEN = re.compile(r"[\w'\u2019]+")
# What a translation keeps of its msgid as is: not a word of either language.
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]|\{\{.*?\}\}|\{\w*\}|<[^>]+>|&\w+;")
CAPITAL_NGAY_MID_SENTENCE = re.compile(r"(?:ngày|[a-zà-ỹđ,]) Ngày")


def demo_remove() -> None:
    Seller.objects.filter(merchant_token__in=[profile.merchant_token for profile in DEMO_SELLERS]).delete()
    User.objects.filter(username__in=demo_usernames()).delete()


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        demo_remove()
        with Clock(NOW):
            call_command("seed_demo", stdout=io.StringIO(), stderr=io.StringIO())
    yield
    with django_db_blocker.unblock():
        demo_remove()


@pytest.fixture
def demo(seeded, db):
    with Clock(NOW):
        yield {seller.merchant_token: seller for seller in Seller.objects.all()}


# --- What counts as English ---------------------------------------------------------------


def _words(text: str) -> set[str]:
    return {word.casefold() for word in WORD.findall(PLACEHOLDER.sub(" ", text))}


@functools.cache
def english_words(language: str) -> frozenset[str]:
    """The words of the catalogue's English that no translation in ``language`` uses:
    shown to a reader of that language, such a word is an English fragment."""
    catalogue = polib.pofile(str(settings.BASE_DIR / "locale" / language / "LC_MESSAGES" / "django.po"))
    english: set[str] = set()
    native: set[str] = set()
    for entry in catalogue:
        if entry.obsolete:
            continue
        english |= _words(entry.msgid) | _words(entry.msgid_plural or "")
        native |= _words(entry.msgstr).union(*(_words(text) for text in entry.msgstr_plural.values()))
    return frozenset(english - native)


def may_stay_english() -> list[str]:
    """Fragments a translated page or email may show as they are, longest first: proper
    nouns, merchant tokens, what people wrote, the CSV's column names."""
    fragments = {
        *REPORT_COLUMNS.values(),
        *ORDER_COLUMNS,
        *STATE_NAMES.values(),
        *(profile.name for profile in DEMO_SELLERS),
        *(profile.merchant_token for profile in DEMO_SELLERS),
        *demo_usernames(),
        *CarrierService.objects.values_list("name", flat=True),
        *Order.objects.exclude(carrier="").values_list("carrier", flat=True).distinct(),
        *PLAN_ANSWERS.values(),
        FEEDBACK,
        "English",  # the language menu names each language in its own words
    }
    return sorted(fragments, key=len, reverse=True)


def english_in(language: str, lines: list[str], allowed: list[str]) -> list[str]:
    """Each line with the English words it shows, once per line."""
    suspects = english_words(language)
    found = []
    for line in lines:
        rest = ADDRESS.sub(" ", line)
        for fragment in allowed:
            rest = rest.replace(fragment, " ")
        words = [
            word
            for word in TOKEN.findall(rest)
            if word.casefold() in suspects and not (word.isupper() and word in SHIP_TO_CODES)
        ]
        if words:
            found.append(f"{words} in: {line}")
    return found


def capital_ngay(lines: list[str]) -> list[str]:
    return [line for line in lines if CAPITAL_NGAY_MID_SENTENCE.search(line) or "ngày ngày" in line.casefold()]


def page_lines(markup: str) -> list[str]:
    """The text of a page as a reader meets it: between tags, in the attributes a browser
    shows, and in the confirmations its buttons ask."""
    markup = re.sub(r"<(script|style|textarea)\b.*?</\1>", " ", markup, flags=re.S)
    shown = SHOWN_ATTRIBUTES.findall(markup)
    shown += [codecs.decode(text, "unicode_escape") for text in CONFIRMATION.findall(markup)]
    text = re.sub(r"<[^>]+>", "\n", markup)
    lines = [html.unescape(line).strip() for line in (*text.split("\n"), *shown)]
    return [line for line in lines if line]


def email_lines(message: mail.EmailMessage) -> list[str]:
    return [line.strip() for line in (message.subject, *message.body.splitlines()) if line.strip()]


def read_page(username: str, language: str, url: str) -> list[str]:
    client = Client()
    client.force_login(User.objects.get(username=username))
    client.cookies["django_language"] = language
    response = client.get(url)
    assert response.status_code == 200, url
    markup = response.content.decode()
    assert f'<html lang="{language}">' in markup
    return page_lines(markup)


# --- The check itself ---------------------------------------------------------------------


def test_the_check_finds_english_and_spares_proper_nouns_and_csv_columns(demo):
    allowed = may_stay_english()
    lines = [
        "Tỷ lệ sử dụng Buy Shipping",
        "Xem lại các đơn hàng có dấu “X” trong cột “Shipped outside Buy Shipping” của báo cáo lỗi",
        "Dịch vụ FedEx Ground giao đến California, America/New_York",
        "Plan of action",
    ]
    assert english_in("vi", lines, allowed) == [
        "['Buy', 'Shipping'] in: Tỷ lệ sử dụng Buy Shipping",
        "['Plan', 'of', 'action'] in: Plan of action",
    ]
    # German names the plan, no English abbreviation: "POA" is English there.
    assert english_in("de", ["Prime-Berechtigung für NWHOME01 entzogen", "Create POA"], allowed) == [
        "['Create', 'POA'] in: Create POA"
    ]
    assert capital_ngay(["Lỗi trong 30 ngày kết thúc vào ngày Ngày 20 tháng 11", "kể từ Ngày 5", "Ngày đánh giá"]) == [
        "Lỗi trong 30 ngày kết thúc vào ngày Ngày 20 tháng 11",
        "kể từ Ngày 5",
    ]


# --- Pages --------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("username", "url"), PAGES)
def test_a_sellers_page_shows_no_english(demo, username, url, language):
    lines = read_page(username, language, url)
    assert english_in(language, lines, may_stay_english()) == []
    if language == "vi":
        assert capital_ngay(lines) == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_review_pages_show_no_english(demo, language):
    seller = demo[LATE_SHIPMENTS.merchant_token]
    user = seller.users.get()
    rejected = plan_submit(seller=seller, user=user, merchant_token=seller.merchant_token, **PLAN_ANSWERS)
    reviewer = User.objects.get(username=REVIEWER_USERNAME)
    plan_reject(plan=rejected, reviewer=reviewer, feedback=FEEDBACK)
    plan = plan_submit(seller=seller, user=user, merchant_token=seller.merchant_token, **PLAN_ANSWERS)
    pages = ["/review/", f"/review/plans/{plan.pk}/", f"/review/plans/{rejected.pk}/", f"/review/sellers/{seller.pk}/"]
    lines = [line for url in pages for line in read_page(REVIEWER_USERNAME, language, url)]
    # The seller's side of a rejection and of a plan under review.
    for url in ("/performance/", "/performance/poa/"):
        lines += read_page(user.username, language, url)
    assert english_in(language, lines, may_stay_english()) == []
    if language == "vi":
        assert capital_ngay(lines) == []


# --- Emails -------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_email_is_in_its_recipients_language(demo, language):
    users = User.objects.filter(username__in=demo_usernames())
    for user in users:
        user.email = f"{user.username}@example.com"
        user.language = language
        user.save(update_fields=["email", "language"])
    late = demo[LATE_SHIPMENTS.merchant_token]
    revocations = SellerEvent.objects.filter(kind=SellerEvent.Kind.REVOKED, day=DAY)
    at_risk = list(SellerAtRisk.objects.values_list("seller_id", flat=True))
    reviewer = User.objects.get(username=REVIEWER_USERNAME)
    user = late.users.get()

    sent = {"revoked": revocation_emails_send(event_ids=list(revocations.values_list("pk", flat=True)))}
    sent["at risk"] = at_risk_emails_send(seller_ids=at_risk, day=DAY)
    plan = plan_submit(seller=late, user=user, merchant_token=late.merchant_token, **PLAN_ANSWERS)
    sent["plan submitted"] = plan_submitted_emails_send(plan_id=plan.pk)
    plan_reject(plan=plan, reviewer=reviewer, feedback=FEEDBACK)
    sent["plan rejected"] = plan_decided_emails_send(plan_id=plan.pk)
    plan = plan_submit(seller=late, user=user, merchant_token=late.merchant_token, **PLAN_ANSWERS)
    plan_approve(plan=plan, reviewer=reviewer)
    assert PlanOfAction.objects.get(pk=plan.pk).status == PlanOfAction.Status.APPROVED
    sent["plan approved"] = plan_decided_emails_send(plan_id=plan.pk)
    endpoint = WebhookEndpoint.objects.create(
        seller=late,
        url="https://hooks.example.com/prime",
        secret="whsec_demo",
        enabled=False,
        disabled_at=NOW,
        disabled_reason=DisabledReason.FAILING,
        failing_since=NOW - dt.timedelta(days=3),
    )
    sent["webhook disabled"] = endpoint_disabled_emails_send(endpoint_id=endpoint.pk)

    assert sent == {
        "revoked": 3,
        "at risk": len(at_risk),
        "plan submitted": len(plan_reviewers()),
        "plan rejected": 1,
        "plan approved": 1,
        "webhook disabled": 1,
    }
    assert at_risk, "the demo has a seller at risk, whose email is read too"
    problems = []
    for message in mail.outbox:
        lines = email_lines(message)
        problems += [f"{message.subject}: {problem}" for problem in english_in(language, lines, may_stay_english())]
        if language == "vi":
            problems += [f"{message.subject}: {line}" for line in capital_ngay(lines)]
    assert problems == []
