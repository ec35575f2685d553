"""The audit of settings changes: each change from the settings pages writes one entry in
the same transaction (who, what, before and after), a no-op writes none, and the seller
sees only their own history."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from sellers import services
from sellers.choices import CONTIGUOUS_REGIONS, Speed
from sellers.models import ApiToken, AuditEntry, OperatingDay, PrimeRegion
from sellers.services import (
    api_token_create,
    api_token_revoke,
    audit_entry_create,
    carrier_service_create,
    fulfilment_update,
    shipping_template_update,
    volume_control_update,
)
from sellers.templatetags.seller_settings import audit_change_rows
from tests.sellers.test_settings_pages import carrier_data, fulfilment_data, template_data

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 20, 18, 0, tzinfo=dt.UTC)


@pytest.fixture
def seller_client(client, seller_user):
    client.force_login(seller_user)
    return client


def only_entry(seller, action) -> AuditEntry:
    entries = list(AuditEntry.objects.filter(seller=seller))
    assert [entry.action for entry in entries] == [action]
    return entries[0]


# --- one entry per change, with both sides -----------------------------------------------------


def test_template_edit_is_audited_with_the_changed_states(seller_client, seller, seller_user):
    seller_client.post(reverse("sellers:shipping_template"), template_data(seller, CA=Speed.ONE_DAY, AK=Speed.TWO_DAY))
    entry = only_entry(seller, AuditEntry.Action.SHIPPING_TEMPLATE)
    assert entry.actor == seller_user and entry.reason == ""
    assert entry.before == {"CA": "two_day", "AK": "not_offered"}
    assert entry.after == {"CA": "one_day", "AK": "two_day"}
    assert "2 states changed" in entry.summary


def test_switching_automation_is_audited_with_the_switch_and_the_derived_states(seller_client, seller, seller_user):
    carrier_service_create(
        seller=seller, actor=seller_user, name="Courier", pickups={}, one_day_states=["CA"], two_day_states=[]
    )
    AuditEntry.objects.all().delete()
    seller_client.post(reverse("sellers:shipping_template"), template_data(seller, region_automation=True))
    entry = only_entry(seller, AuditEntry.Action.SHIPPING_TEMPLATE)
    assert entry.before == {"region_automation": False, "CA": "two_day"}
    assert entry.after == {"region_automation": True, "CA": "one_day"}
    assert entry.summary.startswith("Region automation turned on")


def test_a_carrier_change_under_automation_audits_the_carrier_and_the_template(seller_client, seller, seller_user):
    shipping_template_update(seller=seller, actor=seller_user, region_automation=True)
    AuditEntry.objects.all().delete()
    seller_client.post(reverse("sellers:carrier_create"), carrier_data("Courier", one_day=["NV"]))
    created, template = AuditEntry.objects.filter(seller=seller).order_by("id")
    assert created.action == AuditEntry.Action.CARRIER_CREATED
    assert template.action == AuditEntry.Action.SHIPPING_TEMPLATE and template.actor == seller_user
    assert template.before == {"NV": "two_day"} and template.after == {"NV": "one_day"}
    assert template.summary.startswith("Region automation followed a carrier service change")


def test_fulfilment_change_is_audited(seller_client, seller, seller_user):
    data = fulfilment_data(seller, weekend_delivery=False, monday=(True, "15:30"), sunday=(True, "11:00"))
    seller_client.post(reverse("sellers:fulfilment"), data)
    entry = only_entry(seller, AuditEntry.Action.FULFILMENT)
    assert entry.actor == seller_user
    assert entry.before == {
        "monday_cutoff": "14:00",
        "sunday_operated": False,
        "sunday_cutoff": None,
        "weekend_delivery": True,
    }
    assert entry.after == {
        "monday_cutoff": "15:30",
        "sunday_operated": True,
        "sunday_cutoff": "11:00",
        "weekend_delivery": False,
    }
    assert "Monday" in entry.summary and "Sunday" in entry.summary and "six-day delivery off" in entry.summary


def test_fulfilment_summary_names_the_days_in_week_order(seller_client, seller):
    data = fulfilment_data(seller, wednesday=(True, "15:30"), thursday=(True, "16:00"))
    seller_client.post(reverse("sellers:fulfilment"), data)
    assert "Wednesday, Thursday" in only_entry(seller, AuditEntry.Action.FULFILMENT).summary


def test_carrier_create_change_and_delete_are_audited(seller_client, seller, seller_user):
    seller_client.post(reverse("sellers:carrier_create"), carrier_data("Courier", pickups={0: "18:00"}, one_day=["CA"]))
    created = only_entry(seller, AuditEntry.Action.CARRIER_CREATED)
    assert created.before == {}
    assert created.after["name"] == "Courier" and created.after["monday_pickup"] == "18:00"
    assert created.after["tuesday_pickup"] is None and created.after["one_day_states"] == ["CA"]
    courier = seller.carrier_services.get(name="Courier")

    seller_client.post(
        reverse("sellers:carrier_edit", args=[courier.pk]),
        carrier_data("Courier Express", pickups={0: "18:00", 1: "18:00"}, one_day=["CA", "NV"]),
    )
    changed = AuditEntry.objects.get(seller=seller, action=AuditEntry.Action.CARRIER_CHANGED)
    assert changed.actor == seller_user
    assert changed.before == {"name": "Courier", "tuesday_pickup": None, "one_day_states": ["CA"]}
    assert changed.after == {"name": "Courier Express", "tuesday_pickup": "18:00", "one_day_states": ["CA", "NV"]}

    seller_client.post(reverse("sellers:carrier_delete", args=[courier.pk]))
    deleted = AuditEntry.objects.get(seller=seller, action=AuditEntry.Action.CARRIER_DELETED)
    assert deleted.before["name"] == "Courier Express" and deleted.before["one_day_states"] == ["CA", "NV"]
    assert deleted.after == {}


def test_volume_control_change_is_audited_with_its_moment(seller, seller_user):
    change = volume_control_update(seller=seller, actor=seller_user, daily_cap=50, paused=False, now=NOW)
    entry = only_entry(seller, AuditEntry.Action.VOLUME_CONTROL)
    assert entry.actor == seller_user and entry.created_at == NOW
    assert entry.before == {"daily_cap": None, "effective_at": None}
    assert entry.after == {"daily_cap": 50, "effective_at": change.effective_at.isoformat()}
    assert change.effective_at == NOW
    until = NOW + dt.timedelta(days=2)
    volume_control_update(
        seller=seller, actor=seller_user, daily_cap=50, paused=True, paused_until=until, now=NOW + dt.timedelta(hours=1)
    )
    latest = AuditEntry.objects.filter(seller=seller).first()
    assert latest.before == {"paused": False, "paused_until": None, "effective_at": NOW.isoformat()}
    assert latest.after["paused"] is True and latest.after["paused_until"] == until.isoformat()


def test_token_create_and_revoke_are_audited_without_the_token(seller, seller_user):
    token, raw = api_token_create(seller=seller, actor=seller_user, name="Warehouse", now=NOW)
    created = only_entry(seller, AuditEntry.Action.API_TOKEN_CREATED)
    assert created.before == {} and created.after == {"name": "Warehouse", "prefix": token.prefix}
    assert raw not in str(created.after) and raw not in created.summary
    api_token_revoke(api_token=token, actor=seller_user, now=NOW)
    revoked = AuditEntry.objects.get(seller=seller, action=AuditEntry.Action.API_TOKEN_REVOKED)
    assert revoked.before["revoked_at"] is None and revoked.after["revoked_at"] == NOW.isoformat()


# --- no-ops and transactions ---------------------------------------------------------------------


def test_no_op_saves_write_no_entry(seller_client, seller, seller_user):
    seller_client.post(reverse("sellers:shipping_template"), template_data(seller))
    seller_client.post(reverse("sellers:fulfilment"), fulfilment_data(seller))
    ups = seller.carrier_services.get()
    seller_client.post(
        reverse("sellers:carrier_edit", args=[ups.pk]),
        carrier_data("UPS Ground", pickups=dict.fromkeys(range(6), "17:00"), two_day=sorted(CONTIGUOUS_REGIONS)),
    )
    volume_control_update(seller=seller, actor=seller_user, daily_cap=None, paused=False, now=NOW)
    assert not AuditEntry.objects.exists()


def test_an_ended_pause_switched_off_is_a_no_op(seller, seller_user):
    volume_control_update(
        seller=seller, actor=seller_user, daily_cap=None, paused=True, paused_until=NOW + dt.timedelta(hours=1), now=NOW
    )
    later = NOW + dt.timedelta(hours=2)
    assert volume_control_update(seller=seller, actor=seller_user, daily_cap=None, paused=False, now=later) is None
    assert AuditEntry.objects.filter(seller=seller).count() == 1


def test_change_and_entry_are_one_transaction(seller, seller_user, monkeypatch):
    def fail(**kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(services, "audit_entry_create", fail)
    days = {day.weekday: (day.operated, day.cutoff) for day in OperatingDay.objects.filter(seller=seller)}
    days[0] = (True, dt.time(16))
    with pytest.raises(RuntimeError):
        fulfilment_update(seller=seller, actor=seller_user, days=days, weekend_delivery=False)
    seller.refresh_from_db()
    assert OperatingDay.objects.get(seller=seller, weekday=0).cutoff == dt.time(14)
    assert seller.weekend_delivery is True
    with pytest.raises(RuntimeError):
        api_token_create(seller=seller, actor=seller_user, name="Half-made")
    assert not ApiToken.objects.exists()


def test_a_refused_form_writes_no_entry(seller_client, seller):
    seller_client.post(reverse("sellers:fulfilment"), fulfilment_data(seller, friday=(True, "12:00")))
    seller_client.post(reverse("sellers:carrier_create"), carrier_data("UPS Ground"))
    seller_client.post(reverse("sellers:volume_control"), {"daily_cap": "0"})
    assert not AuditEntry.objects.exists()


# --- the history page -------------------------------------------------------------------------


def test_history_lists_only_the_sellers_own_entries_newest_first(
    seller_client, seller, seller_user, other_seller, other_seller_user
):
    for hour, cap in [(1, 10), (2, 20), (3, 30)]:
        volume_control_update(
            seller=seller, actor=seller_user, daily_cap=cap, paused=False, now=NOW + dt.timedelta(hours=hour)
        )
    volume_control_update(seller=other_seller, actor=other_seller_user, daily_cap=999, paused=False, now=NOW)
    response = seller_client.get(reverse("sellers:history"))
    entries = list(response.context["page"].object_list)
    assert [entry.after["daily_cap"] for entry in entries] == [30, 20, 10]
    html = response.content.decode()
    assert "999" not in html and "seller2" not in html
    # Times in the seller's zone, with who and the before/after table.
    assert "Nov. 20, 2026, 13:00 PST · seller1" in html
    assert "<td>Maximum Prime orders per day</td><td>20</td><td>30</td>" in html


def test_history_is_paginated(seller_client, seller, seller_user):
    for minute in range(30):
        audit_entry_create(
            seller=seller,
            actor=seller_user,
            action=AuditEntry.Action.FULFILMENT,
            summary=f"change {minute}",
            before={},
            after={},
            now=NOW + dt.timedelta(minutes=minute),
        )
    first = seller_client.get(reverse("sellers:history"))
    assert [e.summary for e in first.context["page"].object_list][:2] == ["change 29", "change 28"]
    assert len(first.context["page"].object_list) == 25 and "?page=2" in first.content.decode()
    second = seller_client.get(reverse("sellers:history"), {"page": 2})
    assert [e.summary for e in second.context["page"].object_list] == [f"change {m}" for m in range(4, -1, -1)]
    assert seller_client.get(reverse("sellers:history"), {"page": "x"}).status_code == 200


def test_change_rows_read_like_the_settings_pages():
    rows = audit_change_rows(
        {"CA": "two_day", "friday_cutoff": "14:00", "weekend_delivery": True, "one_day_states": ["CA", "NV"]},
        {"CA": "one_day", "friday_cutoff": "15:00", "weekend_delivery": False, "one_day_states": ["NV", "OR"]},
    )
    assert rows == [
        ("California (CA)", "Two-day", "One-day"),
        ("Friday: order cutoff", "14:00", "15:00"),
        ("Six-day delivery", "yes", "no"),
        ("States reached in one day", "removed: CA", "added: OR"),
    ]


def test_change_rows_of_a_created_thing_show_its_whole_after_side():
    rows = audit_change_rows({}, {"name": "Courier", "monday_pickup": "18:00", "one_day_states": []})
    assert rows == [("Name", "—", "Courier"), ("Monday: pickup", "—", "18:00"), ("States reached in one day", "—", "—")]


def test_status_and_threshold_entries_read_in_words_and_keep_their_code_keys_to_themselves(seller):
    """The status history and the threshold changes are views of audit entries; the entries
    read as the settings do, the metrics app wording its own keys (``sellers.audit``)."""
    from sellers.models import SellerEvent

    revocation = SellerEvent.entry(
        seller_id=seller.pk,
        kind=SellerEvent.Kind.REVOKED,
        moment=NOW,
        day=dt.date(2026, 11, 19),
        reasons=[{"kind": "requirement", "requirement": "weekend_delivery"}],
    )
    rows = audit_change_rows(revocation.before, revocation.after)
    assert [label for label, _old, _new in rows] == ["Status", "Evaluation date", "Why"]
    assert rows[0][1:] == ("Eligible", "Not eligible")
    assert rows[2][2].startswith("Weekend delivery requirement is not met.")
    reinstatement = SellerEvent.entry(
        seller_id=seller.pk, kind=SellerEvent.Kind.REINSTATED, moment=NOW, reasons=[{"kind": "plan", "plan": 7}]
    )
    rows = audit_change_rows(reinstatement.before, reinstatement.after)
    assert rows[-1] == ("Why", "—", "Plan of action #7 approved.")
    from decimal import Decimal

    from metrics.models import ThresholdChange

    change = ThresholdChange.entry(
        metric="cancellation_rate",
        old_value=Decimal("0.025"),
        new_value=Decimal("0.02"),
        effective_from=dt.date(2026, 12, 1),
        changed_by=None,
    )
    assert audit_change_rows(change.before, change.after) == [
        ("Metric", "Cancellation rate", "Cancellation rate"),
        ("Threshold", "0.025", "0.02"),
        ("In force from", "—", "2026-12-01"),
    ]


def test_the_sellers_app_never_imports_the_apps_built_on_it():
    """Sellers words its own pages and history: the metrics app registers its words with it."""
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[2] / "sellers"
    importing = [
        str(path.relative_to(root.parent))
        for path in root.rglob("*.py")
        if re.search(r"^\s*(from|import) metrics\b", path.read_text(), re.MULTILINE)
    ]
    assert importing == []


# --- admin ----------------------------------------------------------------------------------------


@pytest.fixture
def admin_client_logged_in(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("boss", "boss@example.com", "boss pass 1"))
    return client


def test_admin_shows_audit_entries_read_only(admin_client_logged_in, seller, seller_user):
    volume_control_update(seller=seller, actor=seller_user, daily_cap=5, paused=False, now=NOW)
    entry = AuditEntry.objects.get()
    assert admin_client_logged_in.get(reverse("admin:sellers_auditentry_changelist")).status_code == 200
    page = admin_client_logged_in.get(reverse("admin:sellers_auditentry_change", args=[entry.pk]))
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert admin_client_logged_in.get(reverse("admin:sellers_auditentry_add")).status_code == 403
    assert admin_client_logged_in.post(reverse("admin:sellers_auditentry_delete", args=[entry.pk])).status_code == 403
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_admin_shows_tokens_without_their_hash_and_revokes_them(admin_client_logged_in, seller, seller_user):
    token, _raw = api_token_create(seller=seller, actor=seller_user, name="Warehouse")
    page = admin_client_logged_in.get(reverse("admin:sellers_apitoken_change", args=[token.pk])).content.decode()
    assert token.prefix in page and token.key_hash not in page
    listing = admin_client_logged_in.get(reverse("admin:sellers_apitoken_changelist")).content.decode()
    assert token.key_hash not in listing
    admin_client_logged_in.post(
        reverse("admin:sellers_apitoken_changelist"), {"action": "revoke", "_selected_action": [token.pk]}
    )
    token.refresh_from_db()
    assert token.revoked_at is not None
    entry = AuditEntry.objects.get(action=AuditEntry.Action.API_TOKEN_REVOKED)
    assert entry.actor.username == "boss" and entry.seller == seller


def test_admin_carrier_edits_keep_an_automated_template_in_step(admin_client_logged_in, seller, seller_user):
    shipping_template_update(seller=seller, actor=seller_user, region_automation=True)
    ups = seller.carrier_services.get()
    admin_client_logged_in.post(reverse("admin:sellers_carrierservice_delete", args=[ups.pk]), {"post": "yes"})
    assert not seller.carrier_services.exists()
    assert set(PrimeRegion.objects.filter(seller=seller).values_list("speed", flat=True)) == {Speed.NOT_OFFERED}
    entry = AuditEntry.objects.filter(seller=seller).first()
    assert entry.action == AuditEntry.Action.SHIPPING_TEMPLATE and entry.actor.username == "boss"
