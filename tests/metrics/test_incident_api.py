"""GET and POST /api/incidents/ (SPEC section 7, the agreed JSON of issue 16): a session or a
seller's bearer token, the report page's own validation, every refusal a JSON answer that
names what is wrong, and no input that gives a 500."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import OperationalError
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from metrics.incidents import INCIDENT_BODY_MAX, INCIDENT_MAX_OPEN
from metrics.models import Incident
from sellers.factories import D, OrderFactory
from sellers.models import AuditEntry
from sellers.services import api_token_create

pytestmark = pytest.mark.django_db

URL = "/api/incidents/"
FEDEX = "FedEx Home"
REPORT = {
    "kind": "carrier",
    "carrier": FEDEX,
    "start": "2026-11-16",
    "end": "2026-11-19",
    "description": "FedEx Home's Reno hub was closed by a storm; parcels sat there for two days.",
}
ISO_MOMENT = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?\+00:00$"


@pytest.fixture
def late_orders(clock, seller, make_orders):
    return make_orders(
        *(
            OrderFactory.build(seller=seller, late=True, carrier=FEDEX, purchased_on=D - dt.timedelta(days=3))
            for _ in range(3)
        )
    )


@pytest.fixture
def token(seller, seller_user):
    _stored, raw = api_token_create(seller=seller, actor=seller_user, name="Warehouse")
    return raw


@pytest.fixture
def api(token, late_orders):
    """A client that sends the seller's bearer token and no session."""
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def post(client: Client, body, *, content_type: str = "application/json"):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    # The test client leaves out the content type of an empty body; a real client may not.
    return client.post(URL, data=data, content_type=content_type, CONTENT_TYPE=content_type)


def field_errors(response) -> dict[str, list[str]]:
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    return response.json()["errors"]


# --- 201 ---------------------------------------------------------------------------------


def test_a_report_with_a_token_answers_201_with_the_agreed_json(api, seller, seller_user, late_orders):
    order_ids = [late_orders[0].order_id]
    response = post(api, {**REPORT, "order_ids": order_ids})
    assert response.status_code == 201
    body = response.json()
    incident = Incident.objects.get()
    assert body == {
        "id": incident.pk,
        "status": "submitted",
        "kind": "carrier",
        "carrier": FEDEX,
        "start": "2026-11-16",
        "end": "2026-11-19",
        "description": REPORT["description"],
        "order_ids": order_ids,
        "excused_metrics": [],
        "submitted_at": body["submitted_at"],
        "decided_at": None,
        "note": "",
    }
    assert dt.datetime.fromisoformat(body["submitted_at"]) == incident.submitted_at
    assert (incident.seller, incident.submitted_by) == (seller, seller_user)
    assert AuditEntry.objects.filter(action=AuditEntry.Action.INCIDENT_SUBMITTED, seller=seller).count() == 1


def test_order_ids_and_carrier_are_optional(api):
    body = {key: value for key, value in REPORT.items() if key != "carrier"}
    response = post(api, body)
    assert response.status_code == 201
    assert response.json()["carrier"] == "" and response.json()["order_ids"] == []


def test_nulls_for_the_optional_fields_read_as_absent(api):
    response = post(api, {**REPORT, "carrier": None, "order_ids": None})
    assert response.status_code == 201 and response.json()["carrier"] == ""


def test_a_session_report_needs_the_csrf_token(late_orders, seller_user):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(seller_user)
    refused = post(browser, REPORT)
    assert refused.status_code == 403 and "X-CSRFToken" in refused.json()["error"]
    assert Incident.objects.count() == 0
    browser.get("/performance/incidents/new/")  # the page sets the CSRF cookie
    csrf = browser.cookies["csrftoken"].value
    accepted = browser.post(URL, data=json.dumps(REPORT), content_type="application/json", HTTP_X_CSRFTOKEN=csrf)
    assert accepted.status_code == 201 and Incident.objects.count() == 1


def test_a_token_report_needs_no_csrf_token(token, late_orders):
    strict = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert post(strict, REPORT).status_code == 201


# --- GET -----------------------------------------------------------------------------------


def test_get_lists_only_the_sellers_own_incidents_newest_first(api, seller, other_seller, clock):
    first = post(api, REPORT).json()
    clock.shift(dt.timedelta(minutes=5))
    second = post(api, {**REPORT, "kind": "weather"}).json()
    Incident.objects.create(
        seller=other_seller, kind="other", start_date=D, end_date=D, description="x" * 30, submitted_at=timezone.now()
    )
    response = api.get(URL)
    assert response.status_code == 200
    assert response.json() == {
        "incidents": [second, first],
        "count": 2,
        "page": 1,
        "pages": 1,
        "next": None,
        "previous": None,
    }


def test_get_with_a_session_lists_too(late_orders, seller_client_session):
    body = seller_client_session.get(URL).json()
    assert body["incidents"] == [] and (body["count"], body["page"], body["pages"]) == (0, 1, 1)


def decided_incidents(seller, count: int) -> list[Incident]:
    """``count`` decided incidents of the seller, a minute apart, oldest first."""
    start = timezone.now() - dt.timedelta(days=1)
    return Incident.objects.bulk_create(
        Incident(
            seller=seller,
            kind="other",
            start_date=D,
            end_date=D,
            description=f"Incident number {n} of a long history.",
            submitted_at=start + dt.timedelta(minutes=n),
            status=Incident.Status.REJECTED,
            note="Not an incident.",
            decided_at=start + dt.timedelta(minutes=n, seconds=30),
        )
        for n in range(count)
    )


def test_a_long_history_comes_a_page_at_a_time_newest_first(api, seller, other_seller):
    from metrics.api import INCIDENTS_API_PAGE_SIZE as SIZE

    made = decided_incidents(seller, 2 * SIZE + 3)
    decided_incidents(other_seller, 5)
    first = api.get(URL).json()
    assert (first["count"], first["page"], first["pages"]) == (2 * SIZE + 3, 1, 3)
    assert [i["id"] for i in first["incidents"]] == [i.pk for i in reversed(made)][:SIZE]
    assert first["previous"] is None and first["next"] == f"http://testserver{URL}?page=2"
    seen = [i["id"] for i in first["incidents"]]
    page = first
    while page["next"]:
        page = api.get(page["next"]).json()
        seen += [i["id"] for i in page["incidents"]]
    assert seen == [i.pk for i in reversed(made)]  # every one once, none of the other seller's
    assert (page["page"], len(page["incidents"]), page["next"]) == (3, 3, None)
    assert page["previous"] == f"http://testserver{URL}?page=2"


@pytest.mark.parametrize("page", ["0", "-1", "4", "two", "1.5", "9" * 5000])
def test_a_page_that_is_not_one_is_400_naming_the_pages_there_are(api, seller, page):
    from metrics.api import INCIDENTS_API_PAGE_SIZE as SIZE

    decided_incidents(seller, 2 * SIZE + 3)
    response = api.get(URL, {"page": page})
    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    message = response.json()["error"]
    shown = page if len(page) <= 40 else page[:40] + "…"  # portal.bounds.excerpt
    assert message == f"page={shown} is not a page of your incidents: use a whole number from 1 to 3."


def test_an_empty_page_is_the_first(api, seller):
    decided_incidents(seller, 3)
    assert api.get(URL, {"page": ""}).json()["page"] == 1


def test_the_page_error_comes_in_the_language_asked_for(api):
    response = api.get(URL, {"page": "0"}, HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 400
    assert response.json()["error"] == (
        "page=0 ist keine Seite Ihrer Störungen: Verwenden Sie eine ganze Zahl von 1 bis 1."
    )


@pytest.fixture
def seller_client_session(seller_user):
    browser = Client()
    browser.force_login(seller_user)
    return browser


# --- 400: each field named as in the body ----------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": "flood"}, "kind"),
        ({"carrier": "DHL Express"}, "carrier"),
        ({"start": "2026-10-01"}, "start"),
        ({"end": "2026-11-30"}, "end"),
        ({"start": "2026-11-10", "end": "2026-11-19"}, "end"),
        ({"description": "Storm."}, "description"),
        ({"order_ids": ["NOT-MINE"]}, "order_ids"),
        ({"order_ids": ["X"] * 501}, "order_ids"),
    ],
)
def test_an_invalid_field_is_named_as_in_the_body(api, changes, field):
    errors = field_errors(post(api, {**REPORT, **changes}))
    assert list(errors) == [field] and errors[field][0]
    assert Incident.objects.count() == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"description": "A flood closed the hub \ud800 for three days."}, "description"),
        ({"carrier": "\udfff"}, "carrier"),
        ({"kind": "carrier\ud800"}, "kind"),
        ({"start": "\ud800"}, "start"),
        ({"order_ids": ["A-\ud800"]}, "order_ids"),
    ],
)
def test_a_lone_surrogate_is_refused_naming_its_field_never_a_500(api, changes, field):
    """JSON may escape half of a UTF-16 pair (``"\\ud800"``): Python reads it into a string
    that PostgreSQL cannot store, so it is refused before it reaches the database."""
    response = post(api, json.dumps({**REPORT, **changes}))
    errors = field_errors(response)
    [message] = errors[field]
    assert list(errors) == [field] and ("surrogate" in message or "item 1 is not an order id" in message)
    assert Incident.objects.count() == 0


def test_a_database_failure_is_503_with_a_sentence_and_reports_nothing(api, monkeypatch):
    def deadlock(**kwargs):
        raise OperationalError("deadlock detected")

    monkeypatch.setattr("metrics.services.audit_entry_create", deadlock)
    response = post(api, REPORT)
    assert response.status_code == 503 and response["Retry-After"] == "60"
    assert response.json() == {
        "error": "The database failed while your incident was being reported, so nothing was reported. Send the "
        "report again in a moment."
    }
    assert Incident.objects.count() == 0


def test_missing_required_fields_are_each_named(api):
    errors = field_errors(post(api, {}))
    assert set(errors) == {"kind", "start", "end", "description"}


def test_another_sellers_order_id_is_not_confirmed(api, other_seller, make_orders):
    make_orders(OrderFactory.build(seller=other_seller, order_id="THEIRS-1"))
    [theirs] = field_errors(post(api, {**REPORT, "order_ids": ["THEIRS-1"]}))["order_ids"]
    [nobodys] = field_errors(post(api, {**REPORT, "order_ids": ["NOBODYS-1"]}))["order_ids"]
    assert theirs == nobodys.replace("NOBODYS-1", "THEIRS-1")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("{not json", "The body is not valid JSON"),
        ("", "The body is not valid JSON"),
        ('["a", "list"]', "The body must be a JSON object"),
        ("42", "The body must be a JSON object"),
        ("[" * 50_000, "The body is not valid JSON"),  # nested beyond the parser's depth
        ('{"kind": 1' + "0" * 5000 + "}", "The body is not valid JSON"),  # a number past int's digits
        (b"\xff\xfe{}", "The body is not valid JSON"),
    ],
    ids=["malformed", "empty", "list", "number", "deeply-nested", "huge-number", "not-utf8"],
)
def test_a_body_that_is_no_json_object_is_the_bodys_error(api, body, expected):
    [message] = field_errors(post(api, body))["body"]
    assert message.startswith(expected)


def test_unknown_keys_are_named(api):
    [message] = field_errors(post(api, {**REPORT, "start_date": "2026-11-16"}))["body"]
    assert message == (
        "Unknown fields: start_date. A report has the fields kind, carrier, start, end, description, order_ids."
    )


def test_the_open_incidents_bound_is_the_bodys_error(api, seller):
    for _ in range(INCIDENT_MAX_OPEN):
        assert post(api, REPORT).status_code == 201
    [message] = field_errors(post(api, REPORT))["body"]
    assert message.startswith("You have 10 incidents waiting for a decision")


def test_errors_come_in_the_language_asked_for(api):
    response = api.post(
        URL, data=json.dumps({**REPORT, "kind": "flood"}), content_type="application/json", HTTP_ACCEPT_LANGUAGE="de"
    )
    [message] = field_errors(response)["kind"]
    assert message.startswith("Art: Wählen Sie eine von carrier (Panne oder Verspätung des Transportdiensts), weather")


# --- 401, 405, 413, 415 ------------------------------------------------------------------


def test_no_session_and_no_token_is_401(late_orders):
    anonymous = Client()
    for response in (anonymous.get(URL), post(anonymous, REPORT)):
        assert response.status_code == 401 and response.json()["error"]
        assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_an_unknown_token_is_401(late_orders):
    assert post(Client(HTTP_AUTHORIZATION="Bearer ppp_not-a-token"), REPORT).status_code == 401


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_other_methods_are_405(api, method):
    response = getattr(api, method)(URL)
    assert response.status_code == 405 and response["Allow"] == "GET, HEAD, POST"
    assert response.json()["error"]


def test_a_body_over_64_kb_is_413(api):
    body = json.dumps({**REPORT, "description": "x" * INCIDENT_BODY_MAX})
    response = post(api, body)
    assert response.status_code == 413 and "64 KB" in response.json()["error"]
    assert Incident.objects.count() == 0


def test_a_body_just_within_64_kb_is_read(api):
    padding = INCIDENT_BODY_MAX - len(json.dumps({**REPORT, "description": ""}))
    errors = field_errors(post(api, {**REPORT, "description": "x" * padding}))
    assert list(errors) == ["description"]  # read and judged: over 4000 characters


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
def test_a_body_that_is_not_json_is_415(api, content_type):
    if content_type == "multipart/form-data":
        response = api.post(URL, data=REPORT)  # the test client's multipart
    else:
        response = post(api, json.dumps(REPORT), content_type=content_type)
    assert response.status_code == 415 and "application/json" in response.json()["error"]


def test_json_with_a_charset_is_json(api):
    assert post(api, json.dumps(REPORT), content_type="application/json; charset=utf-8").status_code == 201


# --- No input gives a 500 ----------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=200),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=20,
)
FIELD_VALUES = st.one_of(
    JSON_VALUES,
    st.sampled_from(
        ["carrier", "weather", FEDEX, "", "2026-11-16", "2026-11-19", "x" * 5000, "\x00", "\ud800", "9999-12-31"]
    ),
    st.lists(st.text(max_size=80), max_size=600),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(
        st.dictionaries(st.sampled_from([*REPORT, "order_ids", "extra"]), FIELD_VALUES, max_size=7),
        st.fixed_dictionaries(dict.fromkeys(REPORT, FIELD_VALUES)),
        JSON_VALUES,
    )
)
@example(body={**REPORT, "order_ids": [["nested"], {"a": 1}]})
@example(body={**REPORT, "start": 20261116, "end": [2026, 11, 19]})
@example(body={**REPORT, "kind": {"$ne": None}, "description": 1e308})
@example(body={**REPORT, "description": "\udc00" * 30, "order_ids": ["\ud800"]})
def test_no_json_body_gives_a_500(api, body):
    response = post(api, body)
    assert response.status_code in (201, 400), response.content
    if response.status_code == 400:
        errors = response.json()["errors"]
        assert errors and all(isinstance(m, str) and m for messages in errors.values() for m in messages)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=300))
def test_no_raw_body_gives_a_500(api, raw):
    assert post(api, raw).status_code in (201, 400)
