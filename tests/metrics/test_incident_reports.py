"""A seller reports an incident (SPEC section 7, issue 16 item 1): the one validation of the
page and the API (``IncidentForm``), the page's preview of the defects it would cover and
of what an approval would change, the report itself (audit entry, reviewers' email), the
seller's incident pages and the links from the dashboard.

The world: the morning after D (Nov. 21, 07:00 in Los Angeles, the seller's zone, so the
seller's today is Nov. 21). Nine good orders on UPS Ground and three late ones on FedEx
Home, promised to ship on D-3 and to arrive on D-2, revoke the seller on D."""

from __future__ import annotations

import datetime as dt
import re
from html import escape

import pytest
from django.core import mail
from django.db import OperationalError
from django.test import Client

from metrics.forms import IncidentForm
from metrics.incidents import (
    INCIDENT_DESCRIPTION_MAX,
    INCIDENT_DESCRIPTION_MIN,
    INCIDENT_MAX_AGE_DAYS,
    INCIDENT_MAX_DAYS,
    INCIDENT_MAX_OPEN,
    INCIDENT_MAX_ORDERS,
    KIND_METRICS,
)
from metrics.models import Incident
from metrics.services import IncidentError, daily_run, incident_submit
from sellers.choices import ProgrammeStatus
from sellers.factories import D, OrderFactory
from sellers.models import AuditEntry

pytestmark = pytest.mark.django_db

TODAY = D + dt.timedelta(days=1)  # the seller's local today at the clock's NOW
FEDEX = "FedEx Home"
UPS = "UPS Ground"  # the seller's default carrier service (seller_create)
DESCRIPTION = "FedEx Home's Reno hub was closed by a storm; parcels sat there for two days."
# The report that covers the late FedEx Home orders: their promised dates are D-3 and D-2.
REPORT = {
    "kind": "carrier",
    "carrier": FEDEX,
    "start_date": (D - dt.timedelta(days=4)).isoformat(),
    "end_date": (D - dt.timedelta(days=1)).isoformat(),
    "description": DESCRIPTION,
}
NEW = "/performance/incidents/new/"


@pytest.fixture
def world(clock, seller, make_orders):
    """The seller revoked on D for its late FedEx Home orders; the latest computed D is D."""
    good = [OrderFactory.build(seller=seller, purchased_on=D - dt.timedelta(days=3)) for _ in range(9)]
    late = [
        OrderFactory.build(
            seller=seller, late=True, buy_shipping=False, carrier=FEDEX, purchased_on=D - dt.timedelta(days=3)
        )
        for _ in range(3)
    ]
    orders = make_orders(*good, *late)
    daily_run(day=D)
    seller.refresh_from_db()
    assert seller.status == ProgrammeStatus.NOT_ELIGIBLE
    return {"good": [o for o in orders if o.carrier == UPS], "late": [o for o in orders if o.carrier == FEDEX]}


@pytest.fixture
def seller_client(seller_user):
    browser = Client()
    browser.force_login(seller_user)
    return browser


def form(seller, **changes) -> IncidentForm:
    data = {**REPORT, **changes}
    return IncidentForm({k: v for k, v in data.items() if v is not None}, seller=seller, today=TODAY)


def errors(seller, **changes) -> dict[str, list[str]]:
    bound = form(seller, **changes)
    assert not bound.is_valid()
    return bound.errors


def day(offset: int) -> str:
    """TODAY shifted by ``offset`` days, as the form takes it."""
    return (TODAY + dt.timedelta(days=offset)).isoformat()


def preview(seller_client, url=NEW, **changes):
    return seller_client.post(url, {**REPORT, "action": "preview", **changes})


def report(seller_client, **changes):
    return seller_client.post(NEW, {**REPORT, "action": "report", **changes})


# --- The validation (one form for the page and the API) --------------------------------


@pytest.mark.parametrize("kind", Incident.Kind.values)
def test_each_kind_is_reported_as_itself(world, seller, seller_user, kind):
    bound = form(seller, kind=kind)
    assert bound.is_valid(), bound.errors
    incident = incident_submit(seller=seller, user=seller_user, **_reported(bound))
    assert incident.kind == kind and incident.status == Incident.Status.SUBMITTED


def _reported(bound: IncidentForm) -> dict:
    return {name: bound.cleaned_data[name] for name in ("kind", "carrier", "start_date", "end_date",
                                                         "description", "order_ids")}  # fmt: skip


def test_an_unknown_kind_is_refused_with_the_kinds_listed(world, seller):
    [message] = errors(seller, kind="flood")["kind"]
    assert message == (
        "Kind: choose one of carrier (Carrier breakdown or delay), weather (Severe weather), power (Power outage), "
        "technical (Technical failure), other (Other)."
    )


def test_all_carrier_services_is_the_empty_carrier(world, seller):
    bound = form(seller, carrier="")
    assert bound.is_valid(), bound.errors
    assert bound.cleaned_data["carrier"] == "" and bound.scope().carrier == ""


@pytest.mark.parametrize(("given", "stored"), [(FEDEX, FEDEX), (UPS, UPS), ("  fedex home ", FEDEX)])
def test_a_carrier_service_of_the_seller_or_of_its_orders_is_matched(world, seller, given, stored):
    bound = form(seller, carrier=given)
    assert bound.is_valid(), bound.errors
    assert bound.cleaned_data["carrier"] == stored


def test_an_unknown_carrier_is_refused_with_the_sellers_carriers_listed(world, seller):
    [message] = errors(seller, carrier="DHL Express")["carrier"]
    assert message == (
        "Carrier service: “DHL Express” is not one of yours. Choose one of FedEx Home, UPS Ground, or leave it "
        "empty for all carrier services."
    )


def test_another_sellers_carrier_is_not_one_of_yours(world, seller, other_seller, make_orders):
    make_orders(OrderFactory.build(seller=other_seller, carrier="Other Freight"))
    assert "carrier" in errors(seller, carrier="Other Freight")


def test_a_carrier_longer_than_the_field_is_refused(world, seller):
    [message] = errors(seller, carrier="X" * 101)["carrier"]
    assert message.startswith("Carrier service: at most 100 characters, this has 101.")


def test_picked_orders_of_the_seller_are_kept_in_order(world, seller):
    picked = [world["late"][1].order_id, world["late"][0].order_id]
    bound = form(seller, order_ids=picked)
    assert bound.is_valid(), bound.errors
    assert bound.cleaned_data["order_ids"] == picked and bound.scope().order_ids == tuple(picked)


def test_unknown_order_ids_are_named(world, seller):
    [message] = errors(seller, order_ids=[world["late"][0].order_id, "NO-SUCH-1", "NO-SUCH-2"])["order_ids"]
    assert message == "Orders: NO-SUCH-1, NO-SUCH-2 are not orders of yours. Check them against your defect report."


def test_another_sellers_order_id_reads_as_any_unknown_id(world, seller, other_seller, make_orders):
    [theirs] = make_orders(OrderFactory.build(seller=other_seller, order_id="THEIRS-1"))
    [about_theirs] = errors(seller, order_ids=["THEIRS-1"])["order_ids"]
    [about_nothing] = errors(seller, order_ids=["NOBODYS-1"])["order_ids"]
    assert about_theirs == about_nothing.replace("NOBODYS-1", "THEIRS-1")
    assert theirs.seller_id == other_seller.pk


def test_more_orders_than_the_bound_are_refused(world, seller):
    too_many = [f"ORD-{n}" for n in range(INCIDENT_MAX_ORDERS + 1)]
    [message] = errors(seller, order_ids=too_many)["order_ids"]
    assert message.startswith(f"Orders: at most {INCIDENT_MAX_ORDERS} orders, this lists {INCIDENT_MAX_ORDERS + 1}.")


@pytest.mark.parametrize(
    ("order_ids", "expected"),
    [
        (["A-1", "A-1"], "Orders: A-1 listed more than once; list each order once."),
        (["  "], "Orders: item 1 is empty."),
        (["A-1", "X" * 65], "Orders: item 2 has more than 64 characters, which no order id has."),
    ],
)
def test_odd_order_lists_are_refused_item_by_item(world, seller, order_ids, expected):
    assert errors(seller, order_ids=order_ids)["order_ids"] == [expected]


@pytest.mark.parametrize(
    ("changes", "field", "expected"),
    [
        (
            {"end_date": day(1)},
            "end_date",
            "Last day: 2026-11-22 is in the future; report an incident once it has happened, up to today (2026-11-21).",
        ),
        (
            {"start_date": day(-7), "end_date": day(0)},
            "end_date",
            "Last day: from 2026-11-14 to 2026-11-21 is 8 days; an incident covers at most 7. Choose 2026-11-20 or "
            "an earlier last day.",
        ),
        (
            {"start_date": day(-31), "end_date": day(-30)},
            "start_date",
            "First day: 2026-10-21 is more than 30 days ago; an incident is reported within 30 days. Choose "
            "2026-10-22 or later.",
        ),
        (
            {"start_date": day(-2), "end_date": day(-3)},
            "end_date",
            "Last day: 2026-11-18 is before the first day, 2026-11-19. Choose 2026-11-19 or a later day.",
        ),
        ({"start_date": "21.11.2026"}, "start_date", "First day: write the date as YYYY-MM-DD, e.g. 2026-11-14."),
        ({"start_date": None}, "start_date", "First day: enter a date as YYYY-MM-DD."),
    ],
    ids=["future", "eight-days", "thirty-one-days-ago", "end-before-start", "not-iso", "missing"],
)
def test_date_bounds_are_refused_naming_the_bound_and_the_fix(world, seller, changes, field, expected):
    assert errors(seller, **changes)[field] == [expected]


@pytest.mark.parametrize(
    "changes",
    [
        {"start_date": day(-(INCIDENT_MAX_DAYS - 1)), "end_date": day(0)},  # exactly 7 days, ending today
        {"start_date": day(-INCIDENT_MAX_AGE_DAYS), "end_date": day(-INCIDENT_MAX_AGE_DAYS)},  # exactly 30 days ago
        {"start_date": day(0), "end_date": day(0)},  # one day: today
    ],
    ids=["exactly-seven-days", "exactly-thirty-days-ago", "today"],
)
def test_dates_on_the_bounds_pass(world, seller, changes):
    bound = form(seller, **changes)
    assert bound.is_valid(), bound.errors


def test_the_description_is_stripped_and_bounded(world, seller):
    short = " " * 5 + "x" * (INCIDENT_DESCRIPTION_MIN - 1) + " " * 5
    [message] = errors(seller, description=short)["description"]
    assert message == "What happened: at least 20 characters, this has 19. Say what happened, and when."
    [message] = errors(seller, description="x" * (INCIDENT_DESCRIPTION_MAX + 1))["description"]
    assert message.startswith("What happened: at most 4000 characters")
    assert errors(seller, description="   ")["description"] == [
        "What happened: describe the incident in at least 20 characters."
    ]
    bound = form(seller, description=f"  {DESCRIPTION}  ")
    assert bound.is_valid() and bound.cleaned_data["description"] == DESCRIPTION


@pytest.mark.parametrize("value", [5, 1.5, True, ["carrier"], {"kind": "carrier"}])
def test_values_that_are_not_text_are_refused_not_turned_into_text(world, seller, value):
    for field in ("kind", "carrier", "start_date", "end_date", "description"):
        [message] = errors(seller, **{field: value})[field]
        assert message.endswith(": write it as text (a JSON string), not a number, list or object."), field
    assert errors(seller, order_ids=[1, None])["order_ids"] == [
        "Orders: item 1 is not an order id (text).",
        "Orders: item 2 is not an order id (text).",
    ]
    assert errors(seller, order_ids="ORD-1")["order_ids"][0].startswith("Orders: give a list of order ids")


# --- The bound on incidents waiting for a decision --------------------------------------


def _open_incidents(seller, count: int) -> None:
    for _ in range(count):
        Incident.objects.create(
            seller=seller, kind="other", start_date=D, end_date=D, description=DESCRIPTION, submitted_at=D_MOMENT
        )


D_MOMENT = dt.datetime(2026, 11, 20, 20, 0, tzinfo=dt.UTC)


def test_at_most_ten_incidents_wait_for_a_decision(world, seller, seller_user):
    _open_incidents(seller, INCIDENT_MAX_OPEN - 1)
    assert form(seller).is_valid()
    _open_incidents(seller, 1)
    bound = form(seller)
    assert not bound.is_valid()
    assert bound.non_field_errors() == [
        "You have 10 incidents waiting for a decision, the most at once. Wait until programme staff have decided "
        "one, then report this one."
    ]
    # The service holds the bound too, under the seller's lock (a report validated just before).
    with pytest.raises(IncidentError):
        incident_submit(
            seller=seller,
            user=seller_user,
            kind="other",
            carrier="",
            start_date=D,
            end_date=D,
            description=DESCRIPTION,
            order_ids=[],
        )
    assert Incident.objects.filter(seller=seller).count() == INCIDENT_MAX_OPEN


def test_decided_incidents_do_not_count_against_the_bound(world, seller):
    _open_incidents(seller, INCIDENT_MAX_OPEN)
    Incident.objects.filter(seller=seller).update(status=Incident.Status.REJECTED, decided_at=D_MOMENT)
    assert form(seller).is_valid()


def test_the_page_says_when_the_bound_is_reached(world, seller, seller_client):
    _open_incidents(seller, INCIDENT_MAX_OPEN)
    html = seller_client.get(NEW).content.decode()
    assert "You have 10 incidents waiting for a decision." in html
    html = preview(seller_client).content.decode()
    assert "You have 10 incidents waiting for a decision, the most at once." in html


# --- The page: preview, then report ------------------------------------------------------


def test_the_form_works_without_javascript_and_starts_with_preview_only(world, seller_client):
    response = seller_client.get(NEW)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="action" value="preview"' in html and 'value="report"' not in html
    assert '<option value="" selected>All carrier services</option>' in html
    assert f'<option value="{FEDEX}">{FEDEX}</option>' in html and "<script" not in html.split("</main>")[0]


def test_the_preview_lists_the_covered_defect_orders_to_pick_from(world, seller_client):
    response = preview(seller_client)
    assert response.status_code == 200
    html = response.content.decode()
    listed = re.findall(r'name="order_ids" value="([^"]+)"', html)
    late = sorted((o for o in world["late"]), key=lambda o: (o.purchased_at, o.order_id), reverse=True)
    assert listed == [o.order_id for o in late]  # newest first; none of the good UPS orders
    assert 'value="report"' in html
    assert Incident.objects.count() == 0  # nothing is sent by a preview


def test_a_late_delivery_buy_shipping_protects_is_not_offered(world, seller, make_orders, seller_client):
    protected, late_pair = make_orders(
        OrderFactory.build(seller=seller, late_delivery=2, carrier=FEDEX, purchased_on=D - dt.timedelta(days=3)),
        OrderFactory.build(seller=seller, late=True, carrier=FEDEX, purchased_on=D - dt.timedelta(days=3)),
    )
    assert protected.buy_shipping and late_pair.buy_shipping
    daily_run(day=D)
    listed = re.findall(r'name="order_ids" value="([^"]+)"', preview(seller_client).content.decode())
    # Protected already, never excused too; shipped late as well, it is an on-time shipment defect.
    assert protected.order_id not in listed and late_pair.order_id in listed


def test_all_carrier_services_preview_covers_every_carrier(world, seller, make_orders, seller_client):
    [ups_late] = make_orders(
        OrderFactory.build(seller=seller, late=True, buy_shipping=False, purchased_on=D - dt.timedelta(days=3))
    )
    daily_run(day=D)
    html = preview(seller_client, carrier="").content.decode()
    listed = re.findall(r'name="order_ids" value="([^"]+)"', html)
    assert ups_late.order_id in listed and {o.order_id for o in world["late"]} <= set(listed)
    html = preview(seller_client, carrier=FEDEX).content.decode()
    assert ups_late.order_id not in re.findall(r'name="order_ids" value="([^"]+)"', html)


def test_the_preview_shows_what_an_approval_would_make_of_each_metric(world, seller_client):
    html = preview(seller_client).content.decode()
    rows = re.findall(
        r'<tr class="portal-effect-row" data-metric="(\w+)" data-window="(\d+)">.*?'
        r'portal-effect-units">(\d+)</td>.*?portal-effect-rate">([^<]+)</td>.*?portal-effect-status[^"]*">(.*?)</td>',
        html,
        flags=re.S,
    )
    by_key = {(metric, int(window)): (int(units), rate, re.findall(r">(Passing|Failing)<", status))
              for metric, window, units, rate, status in rows}  # fmt: skip
    # The kind "carrier" preselects these metrics; each in both windows.
    assert {metric for metric, _w in by_key} == set(KIND_METRICS["carrier"])
    # Three late deliveries on FedEx Home: all three excused, the 12 units' rate back to 100 %.
    assert by_key[("on_time_delivery_rate", 30)] == (3, "100.00 %", ["Failing", "Passing"])
    assert by_key[("on_time_shipment_rate", 7)] == (3, "100.00 %", ["Failing", "Passing"])
    # Nothing untracked: nothing to excuse, passing either way.
    assert by_key[("valid_tracking_rate", 30)][0] == 0


def test_the_preview_with_picked_orders_excuses_only_those(world, seller_client):
    picked = world["late"][0].order_id
    html = preview(seller_client, order_ids=[picked]).content.decode()
    assert re.search(rf'value="{picked}"[^>]*checked', html)
    units = re.search(
        r'data-metric="on_time_delivery_rate" data-window="30">.*?portal-effect-units">(\d+)<', html, flags=re.S
    )
    assert units and units.group(1) == "1"


def test_reporting_creates_the_incident_and_lands_on_its_page(world, seller, seller_user, seller_client):
    picked = [o.order_id for o in world["late"][:2]]
    response = report(seller_client, order_ids=picked)
    incident = Incident.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/performance/incidents/{incident.pk}/"
    assert (incident.seller, incident.kind, incident.carrier) == (seller, "carrier", FEDEX)
    assert (incident.start_date, incident.end_date) == (D - dt.timedelta(days=4), D - dt.timedelta(days=1))
    assert incident.order_ids == picked and incident.submitted_by == seller_user
    assert incident.status == Incident.Status.SUBMITTED and incident.excused_metrics == []
    page = seller_client.get(response["Location"]).content.decode()
    assert f"Incident #{incident.pk} reported." in page and "Waiting for review by programme staff." in page
    assert all(f'data-order="{order_id}"' in page for order_id in picked)


def test_a_reload_of_the_report_adds_no_second_incident(world, seller_client):
    key = re.search(r'name="once" value="([^"]+)"', seller_client.get(NEW).content.decode()).group(1)
    assert report(seller_client, once=key).status_code == 302
    again = report(seller_client, once=key)
    assert again.status_code == 302 and again["Location"] == "/performance/incidents/"
    assert Incident.objects.count() == 1


def test_a_picked_order_the_dates_no_longer_cover_is_not_reported(world, seller, make_orders, seller_client):
    [elsewhere] = make_orders(OrderFactory.build(seller=seller, late=True, purchased_on=D - dt.timedelta(days=20)))
    response = report(seller_client, order_ids=[elsewhere.order_id])
    assert response.status_code == 200 and Incident.objects.count() == 0
    assert (
        f"Orders: {elsewhere.order_id} are not among the defect orders of this carrier service and these dates."
        in response.content.decode()
    )


def test_a_refused_report_changes_nothing_and_keeps_what_was_typed(world, seller_client):
    response = report(seller_client, end_date=day(3), order_ids=[world["late"][0].order_id])
    html = response.content.decode()
    assert response.status_code == 200 and Incident.objects.count() == 0
    assert "Last day: 2026-11-24 is in the future" in html and escape(DESCRIPTION) in html
    assert f'type="hidden" name="order_ids" value="{world["late"][0].order_id}"' in html
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.INCIDENT_SUBMITTED).exists()


def test_a_database_failure_during_the_report_says_so_and_reports_nothing(
    world, seller_client, reviewer, monkeypatch, django_capture_on_commit_callbacks
):
    """The incident row is written before the audit entry fails: the transaction takes both
    back, the page says what happened in a sentence, and no reviewer is emailed."""

    def lost_connection(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr("metrics.services.audit_entry_create", lost_connection)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = report(seller_client)
    html = response.content.decode()
    assert response.status_code == 200 and Incident.objects.count() == 0 and callbacks == [] and mail.outbox == []
    assert "The database failed while your incident was being reported, so nothing was reported." in html
    assert escape(DESCRIPTION) in html  # what was typed is kept for the next try


@pytest.mark.parametrize(
    "changes",
    [
        {"kind": "x" * 100_000},
        {"description": "a\x00" * 30},
        {"order_ids": ["\x00"]},
        {"start_date": "9999-12-31", "end_date": "0001-01-01"},
        {"carrier": "é" * 5000},
        {"once": "x" * 1000},
    ],
)
def test_odd_posts_are_answered_never_a_500(world, seller_client, changes):
    for action in ("preview", "report"):
        response = seller_client.post(NEW, {**REPORT, "action": action, **changes})
        assert response.status_code in (200, 302)
    assert not any("\x00" in incident.description for incident in Incident.objects.all())


def test_the_metric_a_report_starts_from_preselects_its_kind_and_is_named(world, seller_client):
    html = seller_client.get(f"{NEW}?metric=on_time_delivery_rate&window=7").content.decode()
    assert "You came from On-time delivery rate over 7 days: an approved incident can excuse its defects." in html
    assert re.search(r'value="carrier"[^>]*checked', html)
    html = seller_client.get(f"{NEW}?metric=buy_shipping_rate&window=30").content.decode()
    assert "An incident cannot excuse it" in html and not re.search(r'name="kind"[^>]*checked', html)
    # Anything else is ignored, never an error.
    assert seller_client.get(f"{NEW}?metric=nonsense&window=12").status_code == 200


def test_the_metric_a_report_starts_from_joins_the_preview(world, seller_client):
    html = preview(seller_client, f"{NEW}?metric=cancellation_rate&window=30").content.decode()
    assert 'data-metric="cancellation_rate"' in html  # not among the carrier kind's metrics


# --- The audit entry and the reviewers' email --------------------------------------------


def test_the_report_is_audited_with_its_facts(world, seller, seller_user, seller_client):
    report(seller_client, order_ids=[world["late"][0].order_id])
    incident = Incident.objects.get()
    entry = AuditEntry.objects.get(action=AuditEntry.Action.INCIDENT_SUBMITTED)
    assert (entry.seller, entry.actor, entry.before) == (seller, seller_user, None)
    assert entry.after == {
        "incident": incident.pk,
        "status": "submitted",
        "incident_kind": "carrier",
        "carrier": FEDEX,
        "start_date": REPORT["start_date"],
        "end_date": REPORT["end_date"],
        "description": DESCRIPTION,
        "order_ids": [world["late"][0].order_id],
    }
    history = seller_client.get("/settings/history/").content.decode()
    assert "Incident reported" in history and "Carrier breakdown or delay" in history and "First day" in history


def test_the_reviewers_are_emailed_in_their_language(
    world, reviewer, seller_client, django_capture_on_commit_callbacks, settings
):
    settings.PORTAL_URL = "https://portal.example.com/"  # a trailing slash too
    reviewer.language = "de"
    reviewer.save(update_fields=["language"])
    mail.outbox = []
    with django_capture_on_commit_callbacks(execute=True):
        report(seller_client)
    incident = Incident.objects.get()
    [message] = mail.outbox
    assert message.to == ["reviewer@programme.example"]
    assert message.subject == "Störung zu prüfen: SELLER01"
    assert f" https://portal.example.com/review/incidents/{incident.pk}/\n" in message.body
    assert DESCRIPTION in message.body
    assert "Panne oder Verspätung des Transportdiensts" in message.body and FEDEX in message.body


def test_no_email_when_the_report_is_refused(world, reviewer, seller_client, django_capture_on_commit_callbacks):
    mail.outbox = []
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        report(seller_client, carrier="Nobody")
    assert callbacks == [] and mail.outbox == []


# --- The seller's incident pages ---------------------------------------------------------


def _incident(seller, **values) -> Incident:
    return Incident.objects.create(
        seller=seller,
        kind=values.pop("kind", "weather"),
        start_date=D - dt.timedelta(days=4),
        end_date=D - dt.timedelta(days=1),
        description=DESCRIPTION,
        submitted_at=D_MOMENT,
        **values,
    )


def test_the_list_shows_each_incident_with_its_decision(world, seller, seller_client, reviewer):
    waiting = _incident(seller)
    approved = _incident(
        seller,
        carrier=FEDEX,
        status=Incident.Status.APPROVED,
        decided_at=D_MOMENT,
        decided_by=reviewer,
        excused_metrics=["on_time_delivery_rate", "on_time_shipment_rate"],
        note="The hub closure is confirmed by the carrier.",
    )
    html = seller_client.get("/performance/incidents/").content.decode()
    assert f'data-incident="{waiting.pk}" data-status="submitted"' in html
    assert f'data-incident="{approved.pk}" data-status="approved"' in html
    assert "All carrier services" in html and "Severe weather" in html
    assert "On-time shipment rate, On-time delivery rate" in html  # the dashboard's order
    assert "The hub closure is confirmed by the carrier." in html


def test_the_list_is_paginated_and_only_the_sellers_own(world, seller, other_seller, seller_client):
    for _ in range(21):
        _incident(seller)
    theirs = _incident(other_seller)
    first = seller_client.get("/performance/incidents/").content.decode()
    second = seller_client.get("/performance/incidents/?page=2").content.decode()
    assert first.count('class="card mb-3 portal-incident"') == 20 and "Page 1 of 2" in first
    assert second.count('class="card mb-3 portal-incident"') == 1
    assert f'data-incident="{theirs.pk}"' not in first + second


def test_an_incident_page_lists_the_defect_orders_it_covers(world, seller, seller_client):
    incident = _incident(seller, carrier=FEDEX)
    html = seller_client.get(f"/performance/incidents/{incident.pk}/").content.decode()
    assert all(f'data-order="{o.order_id}"' in html for o in world["late"])
    assert not any(f'data-order="{o.order_id}"' in html for o in world["good"])
    assert 'type="checkbox"' not in html


def test_another_sellers_incident_is_a_404(world, seller_client, other_seller):
    theirs = _incident(other_seller)
    assert seller_client.get(f"/performance/incidents/{theirs.pk}/").status_code == 404
    assert seller_client.get("/performance/incidents/999999/").status_code == 404


def test_the_pages_need_a_login_and_a_seller(world, reviewer):
    anonymous = Client()
    for url in ("/performance/incidents/", NEW, "/performance/incidents/1/"):
        assert anonymous.get(url).status_code == 302
    staff = Client()
    staff.force_login(reviewer)
    assert staff.get("/performance/incidents/").status_code == 404


# --- From the dashboard ------------------------------------------------------------------


def test_the_dashboard_offers_a_report_beside_failing_metrics_and_in_the_banner(world, seller_client):
    html = seller_client.get("/performance/?window=30").content.decode()
    links = re.findall(r'href="(/performance/incidents/new/[^"]*)"', html)
    # Beside the failing on-time cards (and their rows of the table), and in the banner.
    assert f"{NEW}?metric=on_time_delivery_rate&amp;window=30" in links
    assert f"{NEW}?metric=on_time_shipment_rate&amp;window=30" in links
    assert f"{NEW}?metric=on_time_delivery_rate&amp;window=7" in links  # the glance table's worse window
    assert "Not your fault? Report an incident" in html
    # Not beside a metric no incident excuses, nor a passing one.
    # Not beside a metric no incident excuses (a label bought elsewhere, a slow promise).
    excusable = ("on_time_shipment_rate", "on_time_delivery_rate", "valid_tracking_rate", "cancellation_rate")
    assert all(re.search(rf"metric=({'|'.join(excusable)})&", link) for link in links), links


def test_a_passing_metric_far_from_its_threshold_has_no_report_link(clock, seller, make_orders, seller_client):
    make_orders(*(OrderFactory.build(seller=seller, purchased_on=D - dt.timedelta(days=3)) for _ in range(400)))
    daily_run(day=D)
    html = seller_client.get("/performance/").content.decode()
    assert "Eligible for Prime" in html and "/performance/incidents/new/" not in html


def test_the_menu_leads_to_the_incidents(world, seller_client):
    html = seller_client.get("/performance/incidents/").content.decode()
    assert '<a class="nav-link active" aria-current="page" href="/performance/incidents/">Incidents</a>' in html


def test_an_incident_id_beyond_any_integer_is_a_404(world, seller_client):
    assert seller_client.get(f"/performance/incidents/{'9' * 30}/").status_code == 404
    assert seller_client.get("/performance/incidents/?page=abc").status_code == 200
