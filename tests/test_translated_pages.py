"""What a German or Vietnamese seller reads, wholly in their language (issue 19).

The demo (``seed_demo``) is seeded once for the module, as tests/sellers/test_demo.py does,
and the pages its sellers and its reviewer read are rendered in German and in Vietnamese:
each seller's dashboard, the defect list, the Create POA form and the other seller pages,
the review pages, the incidents' pages on both sides (SPEC section 7); and every email, each
in its recipient's language. Their text (what a
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
from functools import reduce
from operator import or_

import polib
import pytest
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.test import Client

from metrics.definitions import METRIC_RULES, REPORT_COLUMNS
from metrics.incidents import EXCUSABLE_METRICS, INCIDENT_MAX_ORDERS, q_excusable_defects
from metrics.models import Incident, MetricSnapshot, PlanOfAction, SellerAtRisk
from metrics.notifications import (
    at_risk_emails_send,
    incident_decided_emails_send,
    incident_submitted_emails_send,
    plan_decided_emails_send,
    plan_submitted_emails_send,
    revocation_emails_send,
)
from metrics.report import ORDER_COLUMNS
from metrics.selectors import incident_reinstatement, plan_reviewers, window_orders
from metrics.services import (
    daily_run,
    incident_approve,
    incident_reject,
    incident_submit,
    plan_approve,
    plan_reject,
    plan_submit,
)
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
# What a seller writes of an incident and a reviewer notes on it: their words too.
INCIDENT_DESCRIPTION = "The depot closed for two days after a storm; nothing was scanned until it reopened."
INCIDENT_NOTE = "The carrier confirmed the depot closure on both days."

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
        INCIDENT_DESCRIPTION,
        INCIDENT_NOTE,
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


# --- Incidents (SPEC section 7) ------------------------------------------------------------


def incident_report(seller: Seller, user: User, *, order_ids=(), carrier: str | None = None) -> Incident:
    """An incident of the week up to D on the seller's busiest carrier service (or the orders
    it names, on every carrier), as the seller reports it."""
    if carrier is None:
        carrier = "" if order_ids else Order.objects.filter(seller=seller).values_list("carrier", flat=True).first()
    return incident_submit(
        seller=seller,
        user=user,
        kind=Incident.Kind.CARRIER,
        carrier=carrier or "",
        start_date=DAY - dt.timedelta(days=6),
        end_date=DAY,
        description=INCIDENT_DESCRIPTION,
        order_ids=list(order_ids),
    )


def excused_as_of_day(incident: Incident, reviewer: User) -> Incident:
    """``incident`` approved for every metric it can excuse, as if on D itself, and D computed
    again: the dashboard, the defect list and the review then show what it excused."""
    incident = incident_approve(incident=incident, reviewer=reviewer, metrics=EXCUSABLE_METRICS, note=INCIDENT_NOTE)
    approved_on_day = dt.datetime.combine(DAY, dt.time(12), tzinfo=NOW.tzinfo)
    Incident.objects.filter(pk=incident.pk).update(decided_at=approved_on_day)
    daily_run(day=DAY)
    return incident


def post_page(username: str, language: str, url: str, data: dict) -> tuple[list[str], str]:
    """The text of the page a POST answers, and its markup."""
    client = Client()
    client.force_login(User.objects.get(username=username))
    client.cookies["django_language"] = language
    response = client.post(url, data)
    assert response.status_code == 200, url
    markup = response.content.decode()
    assert f'<html lang="{language}">' in markup
    return page_lines(markup), markup


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_incident_pages_show_no_english(demo, language):
    """A seller's incident pages (the list, the report with its preview, an incident waiting,
    approved and rejected), what an approved one excuses on the dashboard and the defect
    list, and the reviewer's queue, incident pages and seller page."""
    seller = demo[LATE_SHIPMENTS.merchant_token]
    user = seller.users.get()
    reviewer = User.objects.get(username=REVIEWER_USERNAME)
    waiting = incident_report(seller, user)
    rejected = incident_report(seller, user)
    incident_reject(incident=rejected, reviewer=reviewer, note=INCIDENT_NOTE)
    approved = excused_as_of_day(incident_report(seller, user, carrier=""), reviewer)
    assert MetricSnapshot.objects.filter(seller=seller, day=DAY, excused_units__gt=0).exists()
    new = "/performance/incidents/new/"
    seller_pages = [
        "/performance/incidents/",
        new,
        f"{new}?metric=on_time_shipment_rate&window=30",
        f"{new}?metric=buy_shipping_rate",
        *(f"/performance/incidents/{incident.pk}/" for incident in (waiting, rejected, approved)),
        "/performance/",
        "/performance/?window=7",
        "/performance/defects/",
        "/performance/orders/?metric=on_time_shipment_rate",
    ]
    lines = [line for url in seller_pages for line in read_page(user.username, language, url)]
    preview = {
        "kind": "weather",
        "carrier": waiting.carrier,
        "start_date": waiting.start_date.isoformat(),
        "end_date": waiting.end_date.isoformat(),
        "description": INCIDENT_DESCRIPTION,
        "action": "preview",
    }
    previewed, markup = post_page(user.username, language, new, preview)
    assert "portal-incident-effect" in markup  # the preview, with the effect of an approval
    refused, markup = post_page(user.username, language, new, {**preview, "end_date": "2030-01-01"})
    assert "is-invalid" in markup
    lines += previewed + refused
    review_pages = [
        "/review/",
        f"/review/incidents/{waiting.pk}/",
        f"/review/incidents/{rejected.pk}/",
        f"/review/incidents/{approved.pk}/",
        f"/review/sellers/{seller.pk}/",
    ]
    lines += [line for url in review_pages for line in read_page(REVIEWER_USERNAME, language, url)]
    assert english_in(language, lines, may_stay_english()) == []
    if language == "vi":
        assert capital_ngay(lines) == []


def answering_incident(seller: Seller, user: User) -> Incident:
    """An incident that names the seller's excusable defect orders of D's window, so an
    approval for every metric it can excuse answers the revocation (a reinstatement at once)."""
    excusable = reduce(
        or_, (METRIC_RULES[name].population(DAY) & q_excusable_defects(name, DAY) for name in EXCUSABLE_METRICS)
    )
    window = window_orders(day=DAY, window_days=30, seller_ids=[seller.pk])
    order_ids = sorted(set(window.filter(excusable).values_list("order_id", flat=True)))
    assert 0 < len(order_ids) <= INCIDENT_MAX_ORDERS
    incident = incident_report(seller, user, order_ids=order_ids)
    assert incident_reinstatement(incident=incident, metrics=EXCUSABLE_METRICS).possible
    return incident


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_incident_email_is_in_its_recipients_language(demo, language):
    """The reviewers told of a report, the seller told of a rejection, of an approval, and of
    an approval that reinstated it (the reinstatement email, which names the closed plan)."""
    for user in User.objects.filter(username__in=demo_usernames()):
        user.email = f"{user.username}@example.com"
        user.language = language
        user.save(update_fields=["email", "language"])
    late = demo[LATE_SHIPMENTS.merchant_token]
    user = late.users.get()
    reviewer = User.objects.get(username=REVIEWER_USERNAME)
    plan_submit(seller=late, user=user, merchant_token=late.merchant_token, **PLAN_ANSWERS)  # closed by the last

    rejected, approved = incident_report(late, user), incident_report(late, user)
    reinstating = answering_incident(late, user)
    sent = {"submitted": incident_submitted_emails_send(incident_id=rejected.pk)}
    incident_reject(incident=rejected, reviewer=reviewer, note=INCIDENT_NOTE)
    sent["rejected"] = incident_decided_emails_send(incident_id=rejected.pk)
    incident_approve(incident=approved, reviewer=reviewer, metrics=["on_time_shipment_rate"], note=INCIDENT_NOTE)
    sent["approved"] = incident_decided_emails_send(incident_id=approved.pk)
    incident_approve(incident=reinstating, reviewer=reviewer, metrics=EXCUSABLE_METRICS, reinstate=True)
    sent["reinstated"] = incident_decided_emails_send(incident_id=reinstating.pk)

    assert sent == {"submitted": len(plan_reviewers()), "rejected": 1, "approved": 1, "reinstated": 1}
    problems = []
    for message in mail.outbox:
        lines = email_lines(message)
        problems += [f"{message.subject}: {problem}" for problem in english_in(language, lines, may_stay_english())]
        if language == "vi":
            problems += [f"{message.subject}: {line}" for line in capital_ngay(lines)]
    assert problems == []


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
