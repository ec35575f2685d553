"""The portal in German and Vietnamese (issue 4): complete catalogues that keep every
placeholder of the English text, the compiled catalogue being the one Django loads, and
pages and emails that really come out in the seller's language, numbers included.

The expected words are the programme's own (seeds/004 in German, seeds/000 in Vietnamese):
"Rate pünktlicher Übergaben", "Mängelbericht", "Annahmeschluss", "Maßnahmenplan",
"Tỷ lệ lô hàng đúng thời hạn", "báo cáo lỗi", "Tạo POA"…; each test would fail with the
catalogue missing, stale or not compiled.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core import mail
from django.utils import translation
from django.utils.formats import date_format

from metrics.definitions import METRIC_DEFINITIONS
from metrics.notifications import revocation_emails_send
from metrics.presenters import percent
from metrics.presenters.reasons import reason_sentence
from metrics.reasons import reason_from_json
from metrics.services import daily_run
from sellers.choices import Weekday, weekday_in_sentence
from sellers.factories import D, OrderFactory
from sellers.models import SellerEvent
from sellers.services import seller_user_create
from tests.factories import status_event_create

LOCALE = Path(settings.BASE_DIR) / "locale"
LANGUAGES = ("de", "vi")
PLURAL_FORMS = {"de": "nplurals=2; plural=(n != 1);", "vi": "nplurals=1; plural=0;"}
NPLURALS = {"de": 2, "vi": 1}

# python-format conversions (%(name)s, %s, %d, %%) and what else must survive translation.
PYTHON_FORMAT = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]")
TEMPLATE_VARIABLE = re.compile(r"\{\{\s*[^}]*?\s*\}\}")
BRACE_FORMAT = re.compile(r"(?<!\{)\{\w*\}(?!\})")
HTML = re.compile(r"</?[A-Za-z][^>]*>|&[#\w]+;")

# The moment the page tests run at: the morning after D in Los Angeles.


def po_file(language: str) -> polib.POFile:
    return polib.pofile(str(LOCALE / language / "LC_MESSAGES" / "django.po"))


def live_entries(language: str) -> list[polib.POEntry]:
    return [entry for entry in po_file(language) if not entry.obsolete]


def shape(text: str) -> tuple:
    """What a translation must keep of its msgid: placeholders, tags, surrounding newlines."""
    return (
        Counter(PYTHON_FORMAT.findall(text)),
        Counter(m.replace(" ", "") for m in TEMPLATE_VARIABLE.findall(text)),
        Counter(BRACE_FORMAT.findall(text)),
        Counter(HTML.findall(text)),
        len(text) - len(text.lstrip("\n")),
        len(text) - len(text.rstrip("\n")),
    )


# --- The catalogues -----------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue_header_names_its_language_plural_rule_and_utf8(language):
    catalogue = po_file(language)
    assert catalogue.metadata["Language"] == language
    assert catalogue.metadata["Plural-Forms"] == PLURAL_FORMS[language]
    assert catalogue.metadata["Content-Type"] == "text/plain; charset=UTF-8"
    assert not catalogue.metadata_is_fuzzy


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_entry_is_translated_and_none_is_fuzzy(language):
    entries = live_entries(language)
    assert len(entries) > 400  # the whole portal, not a stub
    untranslated = [e.msgid for e in entries if not e.translated()]
    fuzzy = [e.msgid for e in entries if "fuzzy" in e.flags]
    incomplete_plurals = [
        e.msgid for e in entries if e.msgid_plural and sorted(e.msgstr_plural) != list(range(NPLURALS[language]))
    ]
    assert untranslated == []
    assert fuzzy == []
    assert incomplete_plurals == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_entry_is_in_the_catalogue_twice(language):
    """Branches append their entries; a merge keeps both when two add the same text, and the
    compiled catalogue silently takes one of two translations (they differed)."""
    keys = Counter((entry.msgctxt, entry.msgid) for entry in live_entries(language))
    assert [key for key, count in keys.items() if count > 1] == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_translation_keeps_the_placeholders_tags_and_newlines_of_its_msgid(language):
    broken = []
    for entry in live_entries(language):
        if entry.msgid_plural:
            for index, text in entry.msgstr_plural.items():
                source = entry.msgid if (index == 0 and NPLURALS[language] > 1) else entry.msgid_plural
                if shape(text) != shape(source):
                    broken.append((entry.msgid, index, text))
        elif shape(entry.msgstr) != shape(entry.msgid):
            broken.append((entry.msgid, None, entry.msgstr))
    assert broken == []


def test_the_placeholder_check_catches_a_renamed_or_lost_placeholder():
    assert shape("Bis %(day)s nicht geliefert.") == shape("Not delivered by %(day)s.")
    assert shape("Bis %(tag)s nicht geliefert.") != shape("Not delivered by %(day)s.")
    assert shape("Skala 10 % bis 20 %") != shape("scale 10 %% to 20 %%")
    assert shape("<strong>3</strong>") != shape('<strong class="x">3</strong>')
    assert shape("Hallo\n") != shape("Hello")


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalogue_is_the_current_po(language):
    mo_path = LOCALE / language / "LC_MESSAGES" / "django.mo"
    assert mo_path.exists(), "the catalogues are compiled by `make locale` (make test does it)"
    compiled = {(e.msgctxt, e.msgid): (e.msgstr, e.msgstr_plural) for e in polib.mofile(str(mo_path)) if e.msgid}
    source = {(e.msgctxt, e.msgid): (e.msgstr, e.msgstr_plural) for e in live_entries(language)}
    assert compiled == source


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "de",
            [
                "Rate pünktlicher Übergaben",
                "Mängelbericht herunterladen (%(days)s Tage, CSV)",
                "Maßnahmenplan erstellen",
            ],
        ),
        ("vi", ["Tỷ lệ lô hàng đúng thời hạn", "Tải xuống báo cáo lỗi (%(days)s ngày, CSV)", "Tạo POA"]),
    ],
)
def test_django_loads_the_compiled_catalogue(language, expected):
    with translation.override(language):
        assert [
            translation.gettext("On-time shipment rate"),
            translation.gettext("Download defect report (%(days)s days, CSV)"),
            translation.gettext("Create POA"),
        ] == expected


def test_plural_forms_follow_each_language():
    singular, plural = "%(counter)s carrier service:", "%(counter)s carrier services:"
    with translation.override("de"):
        assert translation.ngettext(singular, plural, 1) % {"counter": 1} == "1 Transportdienst:"
        assert translation.ngettext(singular, plural, 3) % {"counter": 3} == "3 Transportdienste:"
    with translation.override("vi"):
        assert translation.ngettext(singular, plural, 1) % {"counter": 1} == "1 dịch vụ vận chuyển:"
        assert translation.ngettext(singular, plural, 3) % {"counter": 3} == "3 dịch vụ vận chuyển:"


# --- Numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "expected"), [("en", "66.67 %"), ("de", "66,67 %"), ("vi", "66,67 %")])
def test_percent_uses_the_decimal_separator_of_the_active_language(language, expected):
    with translation.override(language):
        assert percent(Fraction(2, 3)) == expected
        assert percent(None) == "—"


def test_percent_rounds_like_before_in_every_language():
    for language in ("en", "de"):
        with translation.override(language):
            assert percent(Decimal("0.99")) == ("99.00 %" if language == "en" else "99,00 %")
            assert percent(Decimal("0.93335")) == ("93.34 %" if language == "en" else "93,34 %")
            assert percent(1) == ("100.00 %" if language == "en" else "100,00 %")


def test_a_revocation_reason_reads_as_one_german_and_one_vietnamese_sentence():
    reason = reason_from_json(
        {
            "kind": "metric",
            "metric": "on_time_shipment_rate",
            "window_days": 7,
            "rate": 0.5,
            "eligibility_rate": None,
            "threshold": "0.99",
            "population_units": 4,
            "defect_units": 2,
            "protected_units": 0,
        }
    )
    with translation.override("de"):
        assert reason_sentence(reason) == (
            "Rate pünktlicher Übergaben (letzte 7 Tage): 50,00 %; erforderlich sind mindestens 99,00 % "
            "(2 von 4 versendeten Einheiten hatten Mängel)."
        )
    with translation.override("vi"):
        assert reason_sentence(reason) == (
            "Tỷ lệ lô hàng đúng thời hạn trong 7 ngày qua là 50,00 %; chỉ số này phải ở mức ít nhất 99,00 % "
            "(2 trên 4 đơn vị đã vận chuyển bị lỗi)."
        )
    with translation.override("en"):
        assert reason_sentence(reason).startswith("On-time shipment rate over 7 days was 50.00 %; it must be at least")


def test_the_what_to_do_texts_quote_the_csv_columns_as_the_file_heads_them_in_every_language():
    """The defect report keeps its English column names (SPEC section 5): a German or
    Vietnamese "What to do" names the column the seller will find in the file."""
    on_time_shipment = METRIC_DEFINITIONS["on_time_shipment_rate"]
    buy_shipping = METRIC_DEFINITIONS["buy_shipping_rate"]
    with translation.override("de"):
        assert "in der Spalte „Shipped late“ als auch in der Spalte „Delivered late“" in on_time_shipment.action_text()
        assert "Spalte „Shipped outside Buy Shipping“" in buy_shipping.action_text()
        assert "über „Versandentgelt kaufen“" in buy_shipping.action_text()
    with translation.override("vi"):
        assert "ở cả hai cột “Shipped late” và “Delivered late” trong báo cáo lỗi" in on_time_shipment.action_text()
        assert "trong cột “Shipped outside Buy Shipping”" in buy_shipping.action_text()
    assert "Review the orders with an X in the “Shipped outside Buy Shipping” column" in buy_shipping.action_text()
    for definition in METRIC_DEFINITIONS.values():
        assert "%(" not in definition.action_text()


def test_a_vietnamese_moment_says_ngay_after_its_time_and_a_date_leaves_it_to_the_sentence():
    with translation.override("vi"):
        assert date_format(dt.datetime(2026, 12, 24, 18, 0), "DATETIME_FORMAT") == "18:00 ngày 24 tháng 12 năm 2026"
        assert date_format(dt.date(2026, 12, 24), "DATE_FORMAT") == "24 tháng 12 năm 2026"
    with translation.override("de"):
        assert date_format(dt.datetime(2026, 12, 24, 18, 0), "DATETIME_FORMAT") == "24. Dezember 2026 18:00"


def test_a_weekday_inside_a_vietnamese_sentence_is_lower_case_as_the_seed_writes_it():
    """seeds/000: "vào thứ Bảy"; a label or a column heading keeps its capital ("Thứ Bảy")."""
    with translation.override("vi"):
        assert weekday_in_sentence(Weekday.SATURDAY) == "thứ Bảy"
        assert str(Weekday.SATURDAY.label) == "Thứ Bảy"
        sentence = translation.gettext("Late shipments of orders bought on %(weekday)s") % {
            "weekday": weekday_in_sentence(Weekday.SATURDAY)
        }
    assert sentence == "Lô hàng gửi trễ của các đơn hàng được mua vào thứ Bảy"
    with translation.override("de"):
        assert weekday_in_sentence(Weekday.SATURDAY) == str(Weekday.SATURDAY.label) == "Samstag"
    assert weekday_in_sentence(Weekday.SUNDAY) == "Sunday"


# --- Pages --------------------------------------------------------------------------------


@pytest.fixture
def revoked(seller, make_orders, clock):
    """30-day window: 10 orders, 3 late (70 %); the on-time shipment rate revokes Prime on D."""
    make_orders(
        *(OrderFactory.build(seller=seller, purchased_on=D - dt.timedelta(days=20)) for _ in range(5)),
        OrderFactory.build(seller=seller, late=True, purchased_on=D - dt.timedelta(days=20)),
        *(OrderFactory.build(seller=seller, purchased_on=D - dt.timedelta(days=3)) for _ in range(2)),
        *(
            OrderFactory.build(seller=seller, late=True, purchased_on=D - dt.timedelta(days=3), units=1)
            for _ in range(2)
        ),
    )
    daily_run(day=D)
    seller.refresh_from_db()
    assert seller.status == "not_eligible"
    return seller


def page(client, user, language: str, url: str) -> str:
    client.force_login(user)
    client.cookies["django_language"] = language
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<html lang="{language}">' in html
    return html


PAGES = {
    "/performance/": {
        "en": [
            "Not eligible for Prime: the Prime badge is off",
            "Performance over the last 30 days",
            "On-time shipment rate",
            "Create POA",
            "70.00 %",
            "of 10 shipped units",
            ">Plans of action<",
            ">Insights<",
        ],
        "de": [
            "Nicht für Prime berechtigt: Das Prime-Logo ist deaktiviert",
            "Leistung der letzten 30 Tage",
            "Rate pünktlicher Übergaben",
            "Maßnahmenplan erstellen",
            'portal-metric-value">70,00 %<',
            "≥ 99,00 %",
            "von 10 versendeten Einheiten",
            "Rate pünktlicher Übergaben (letzte 30 Tage): 70,00 %; erforderlich sind mindestens 99,00 %",
            "Mängelbericht herunterladen (30 Tage, CSV)",
            "Programmanforderungen",
            ">Maßnahmenpläne<",
            ">Einblicke<",
        ],
        "vi": [
            "Không đủ điều kiện tham gia Prime: huy hiệu chương trình Prime đã bị vô hiệu hóa",
            "Hiệu suất trong 30 ngày qua",
            "Tỷ lệ lô hàng đúng thời hạn",
            "Tạo POA",
            'portal-metric-value">70,00 %<',
            "≥ 99,00 %",
            "trên 10 đơn vị đã vận chuyển",
            "Tải xuống báo cáo lỗi (30 ngày, CSV)",
            "Yêu cầu của chương trình",
            ">Kế hoạch hành động<",
            ">Phân tích chuyên sâu<",
        ],
    },
    "/performance/defects/": {
        "en": ["Defects of the 30 days ending", "Download defect report", "Shipped late", "First scanned"],
        "de": [
            "Mängel der 30 Tage bis 20. November 2026",
            "Mängelbericht herunterladen (30 Tage, CSV)",
            "Verspätet versendet",
            "Erster Scan am",
        ],
        "vi": [
            "Lỗi trong 30 ngày kết thúc vào ngày 20 tháng 11 năm 2026",
            "Tải xuống báo cáo lỗi (30 ngày, CSV)",
            "Gửi hàng trễ",
            "Quét lần đầu ngày",
        ],
    },
    "/performance/poa/new/": {
        "en": ["What the plan must answer", "Submit plan of action", "Root cause analysis", "Merchant token"],
        "de": [
            "Worauf der Plan eingehen muss",
            "Maßnahmenplan einreichen",
            "Ursachenanalyse",
            "Händlertoken",
            "Rate pünktlicher Übergaben (letzte 7 Tage): 50,00 %",
        ],
        "vi": [
            "Những điều kế hoạch cần giải trình",
            "Gửi kế hoạch hành động",
            "Phân tích nguyên nhân gốc rễ",
            "Mã thông báo người bán",
            "Tỷ lệ lô hàng đúng thời hạn trong 7 ngày qua là 50,00 %",
        ],
    },
    "/settings/": {
        "en": ["Prime shipping template", "Prime order-volume control", "History of changes", "Nationwide coverage"],
        "de": [
            "Prime-Versandvorlage",
            "Menge an Prime-Bestellungen steuern",
            "Änderungsverlauf",
            "Landesweite Abdeckung",
            "1 Transportdienst:",
        ],
        "vi": [
            "Mẫu vận chuyển Prime",
            "Kiểm soát số lượng đơn hàng Prime",
            "Lịch sử thay đổi",
            "Phạm vi giao hàng trên toàn quốc",
            "1 dịch vụ vận chuyển:",
        ],
    },
    "/settings/fulfilment/": {
        "en": ["Fulfilment days and cutoffs", "Order cutoff", "Save fulfilment settings", "Weekend operations"],
        "de": [
            "Versandtage und Annahmeschluss",
            "Annahmeschluss",
            "Einstellungen zur Auftragsabwicklung speichern",
            "Betrieb am Wochenende",
            "Samstag",
        ],
        "vi": [
            "Ngày hoạt động và thời hạn cuối cùng",
            "Thời hạn cuối cùng chốt đơn hàng",
            "Lưu cài đặt hoàn thiện đơn hàng",
            "Hoạt động cuối tuần",
            "Thứ Bảy",
        ],
    },
}


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("url", list(PAGES))
def test_pages_are_in_the_language_of_the_cookie(client, seller_user, revoked, url, language):
    html = page(client, seller_user, language, url)
    missing = [text for text in PAGES[url][language] if text not in html]
    english = [text for text in PAGES[url]["en"] if text in html]
    assert missing == []
    assert english == []


@pytest.mark.django_db
@pytest.mark.parametrize("url", list(PAGES))
def test_the_same_pages_stay_english_without_a_language(client, seller_user, revoked, url):
    """The English texts the translated pages must not show are really on the English page."""
    html = page(client, seller_user, "en", url)
    assert [text for text in PAGES[url]["en"] if text not in html] == []


@pytest.mark.django_db
def test_the_dashboard_uses_the_german_decimal_comma_for_every_percentage(client, seller_user, revoked):
    html = page(client, seller_user, "de", "/performance/?window=7")
    assert 'portal-metric-value">50,00 %<' in html
    assert "≤ 0,50 %" in html and "≥ 93,50 %" in html
    assert not re.search(r"\d\.\d\d %", html)


@pytest.mark.django_db
def test_the_accounts_language_translates_the_dashboard_after_login(client, seller_user, revoked):
    seller_user.language = "vi"
    seller_user.save()
    client.force_login(seller_user)  # no language cookie: the account's choice applies
    html = client.get("/performance/").content.decode()
    assert "Tỷ lệ lô hàng đúng thời hạn" in html and "On-time shipment rate" not in html


# --- Emails -------------------------------------------------------------------------------


REASONS = [
    {
        "kind": "metric",
        "metric": "on_time_shipment_rate",
        "window_days": 30,
        "rate": 0.7,
        "eligibility_rate": None,
        "threshold": "0.99",
        "population_units": 10,
        "defect_units": 3,
        "protected_units": 0,
    },
    {"kind": "requirement", "requirement": "weekend_delivery"},
]

EMAILS = {
    "de": {
        "subject": "Prime-Berechtigung für SELLER01 entzogen",
        "body": [
            "Guten Tag First Seller,",
            "Ihre Berechtigung für Prime durch Verkäufer wurde nach der Bewertung vom 2026-11-20 entzogen.",
            "Das Prime-Logo ist für Ihre Angebote deaktiviert, bis ein Maßnahmenplan genehmigt wird.",
            "- Rate pünktlicher Übergaben (letzte 30 Tage): 70,00 %; erforderlich sind mindestens 99,00 % "
            "(3 von 10 versendeten Einheiten hatten Mängel).",
            "- Die Anforderung „Lieferung am Wochenende“ ist nicht erfüllt.",
            "den Mängelbericht herunterzuladen",
            "„Maßnahmenplan erstellen“",
            "— Prime-Leistungsportal",
        ],
    },
    "vi": {
        "subject": "Đã thu hồi tư cách tham gia Prime của SELLER01",
        "body": [
            "Xin chào First Seller,",
            "Tư cách tham gia Dịch vụ hoàn thiện đơn hàng bởi người bán cho khách hàng Prime của bạn đã bị thu hồi "
            "sau đợt đánh giá ngày 2026-11-20.",
            "- Tỷ lệ lô hàng đúng thời hạn trong 30 ngày qua là 70,00 %; chỉ số này phải ở mức ít nhất 99,00 % "
            "(3 trên 10 đơn vị đã vận chuyển bị lỗi).",
            "- Yêu cầu “Giao hàng cuối tuần” chưa được đáp ứng.",
            "tải xuống báo cáo lỗi",
            "(Tạo POA)",
            "— Cổng thông tin hiệu suất Prime",
        ],
    },
}


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_revocation_email_is_in_the_recipients_language(seller, seller_user, language):
    seller_user.email = "ops@seller.example"
    seller_user.language = language
    seller_user.save()
    colleague = seller_user_create(
        seller=seller, username="seller1b", password="correct horse battery 3", email="en@seller.example"
    )
    event = status_event_create(seller, SellerEvent.Kind.REVOKED, day=D, reasons=REASONS)

    assert revocation_emails_send(event_ids=[event.pk]) == 2

    by_recipient = {message.to[0]: message for message in mail.outbox}
    translated, english = by_recipient[seller_user.email], by_recipient[colleague.email]
    assert translated.subject == EMAILS[language]["subject"]
    assert [text for text in EMAILS[language]["body"] if text not in translated.body] == []
    assert "Hello" not in translated.body and "was revoked" not in translated.body
    assert "70.00 %" not in translated.body and "On-time shipment rate" not in translated.body
    # The colleague without a language gets the same event in English, in the same pass.
    assert english.subject == "Prime eligibility revoked for SELLER01"
    assert "Hello First Seller," in english.body and "On-time shipment rate over 30 days was 70.00 %" in english.body
    # Writing in the recipient's language leaves the caller's language as it was.
    assert translation.get_language() == "en"
