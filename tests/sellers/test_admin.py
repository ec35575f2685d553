"""The admin goes through the services or is read-only (SPEC section 4): staff cannot edit a
seller's status there, and every admin change to volume controls, orders, a time zone or
the settings is the pages' change (audited, Prime orders decided again).

Each test posts the admin's own forms as a superuser, starting from what the page shows."""

from __future__ import annotations

import datetime as dt

import pytest
from django import forms
from django.urls import reverse
from django.utils import timezone

from metrics.models import PlanOfAction
from sellers.choices import Speed, Weekday
from sellers.factories import D, OrderFactory, local_moment
from sellers.models import AuditEntry, CarrierService, Order, Seller, SellerEvent, VolumeControlChange
from sellers.services import volume_control_change
from tests.factories import status_event_create

pytestmark = pytest.mark.django_db

# 10:00 in Los Angeles, the seller's and the portal's time zone.
NOW = dt.datetime(2026, 11, 20, 18, 0, tzinfo=dt.UTC)
DAY_1, DAY_2 = D - dt.timedelta(days=5), D - dt.timedelta(days=4)


@pytest.fixture(autouse=True)
def fixed_now(clock):
    clock.move_to(NOW)
    return NOW


def _field_values(form: forms.BaseForm) -> dict[str, str]:
    """What a browser posts for a form as rendered: checked boxes only, both halves of a split moment."""
    data: dict[str, str] = {}
    for bound in form:
        value, widget = bound.value(), bound.field.widget
        if isinstance(widget, forms.CheckboxInput):
            if value:
                data[bound.html_name] = "on"
        elif isinstance(widget, forms.MultiWidget):
            for index, part in enumerate(widget.decompress(value)):
                data[f"{bound.html_name}_{index}"] = "" if part is None else str(part)
        else:
            data[bound.html_name] = "" if value is None else str(value)
    return data


def page_data(response) -> dict[str, str]:
    """The admin change form's data as the page would post it back unchanged, inlines included."""
    assert response.status_code == 200
    data = _field_values(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        data.update(_field_values(inline.formset.management_form))
        for form in inline.formset.forms:
            data.update(_field_values(form))
    return data


def inline_prefix(response, **match) -> str:
    """The form prefix of the inline row whose instance has the given field values."""
    for inline in response.context["inline_admin_formsets"]:
        for form in inline.formset.forms:
            if all(getattr(form.instance, field, None) == value for field, value in match.items()):
                return form.prefix
    raise AssertionError(f"no inline row with {match}")


def split(moment: dt.datetime) -> tuple[str, str]:
    """A moment as the admin's date and time inputs take it, in the portal's time zone."""
    shown = timezone.localtime(moment)
    return shown.date().isoformat(), shown.strftime("%H:%M:%S")


def entries(seller, action) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(seller=seller, action=action))


def prime(*orders: Order) -> list[bool]:
    return [Order.objects.get(pk=order.pk).is_prime for order in orders]


def unshipped(seller, purchased_at: dt.datetime) -> Order:
    return OrderFactory.build(seller=seller, purchased_at=purchased_at, not_shipped=True)


# --- the seller: status read-only, time zone and settings through the services ----------------


def test_status_is_not_editable_and_posting_it_changes_nothing(admin_client, seller):
    url = reverse("admin:sellers_seller_change", args=[seller.pk])
    page = admin_client.get(url)
    assert 'name="status"' not in page.content.decode()
    data = page_data(page)
    data.update(
        name="Renamed Seller",
        status="not_eligible",
        status_changed_at_0="2026-11-19",
        status_changed_at_1="08:00:00",
        reinstated_on="2026-11-19",
    )

    response = admin_client.post(url, data)

    assert response.status_code == 302
    seller.refresh_from_db()
    assert seller.name == "Renamed Seller"
    assert (seller.status, seller.status_changed_at) == ("eligible", None)
    assert not seller.events.exists()


def test_a_seller_added_in_the_admin_starts_eligible_with_the_default_settings(admin_client):
    url = reverse("admin:sellers_seller_add")
    page = admin_client.get(url).content.decode()
    assert 'name="status"' not in page and 'name="reinstated_on"' not in page

    response = admin_client.post(
        url,
        {
            "name": "New Seller",
            "merchant_token": "NEWSELL1",
            "timezone": "America/Chicago",
            "enrolled_on": "2026-11-01",
            "status": "not_eligible",
        },
    )

    assert response.status_code == 302
    seller = Seller.objects.get(merchant_token="NEWSELL1")
    assert (seller.status, seller.timezone, seller.enrolled_on) == ("eligible", "America/Chicago", dt.date(2026, 11, 1))
    assert seller.operating_days.count() == 7 and seller.carrier_services.count() == 1
    assert admin_client.get(reverse("admin:sellers_seller_change", args=[seller.pk])).status_code == 200


def test_time_zone_change_from_the_admin_redates_orders_and_is_audited(admin_client, admin_user, seller, make_orders):
    # The evening of 9 November in Los Angeles, the small hours of the 10th in New York.
    [order] = make_orders(
        OrderFactory.build(seller=seller, purchased_at=dt.datetime(2026, 11, 10, 6, 30, tzinfo=dt.UTC))
    )
    assert order.purchase_date == dt.date(2026, 11, 9)
    url = reverse("admin:sellers_seller_change", args=[seller.pk])
    data = page_data(admin_client.get(url))
    data["timezone"] = "America/New_York"

    assert admin_client.post(url, data).status_code == 302

    order.refresh_from_db()
    assert (order.purchase_date, order.first_scan_date) == (dt.date(2026, 11, 10), dt.date(2026, 11, 10))
    [entry] = entries(seller, AuditEntry.Action.TIMEZONE_CHANGED)
    assert entry.actor == admin_user and entry.after == {"timezone": "America/New_York"}


def test_settings_edited_in_the_admin_are_the_services_changes(admin_client, admin_user, seller):
    url = reverse("admin:sellers_seller_change", args=[seller.pk])
    page = admin_client.get(url)
    data = page_data(page)
    del data["weekend_delivery"]  # unchecked
    data[f"{inline_prefix(page, weekday=Weekday.MONDAY)}-cutoff"] = "15:30:00"
    data[f"{inline_prefix(page, state='AK')}-speed"] = Speed.TWO_DAY

    assert admin_client.post(url, data).status_code == 302

    [fulfilment] = entries(seller, AuditEntry.Action.FULFILMENT)
    assert fulfilment.actor == admin_user
    assert fulfilment.after == {"monday_cutoff": "15:30", "weekend_delivery": False}
    [template] = entries(seller, AuditEntry.Action.SHIPPING_TEMPLATE)
    assert template.actor == admin_user and template.after == {"AK": Speed.TWO_DAY}
    assert seller.operating_days.get(weekday=Weekday.MONDAY).cutoff == dt.time(15, 30)


# --- volume controls: added through the service from now on; history read-only -------------


def test_adding_a_pause_makes_orders_after_it_non_prime_and_is_audited(admin_client, admin_user, seller, make_orders):
    before, after = make_orders(
        OrderFactory.build(seller=seller, purchased_at=NOW - dt.timedelta(hours=1)),
        OrderFactory.build(seller=seller, purchased_at=NOW + dt.timedelta(minutes=1)),
    )
    response = admin_client.post(
        reverse("admin:sellers_volumecontrolchange_add"),
        {"seller": seller.pk, "effective_at_0": "", "effective_at_1": "", "daily_cap": "", "paused": "on"},
    )

    assert response.status_code == 302
    assert prime(before, after) == [True, False]
    change = VolumeControlChange.objects.get(seller=seller)
    assert change.effective_at == NOW and change.paused and change.changed_by == admin_user
    [entry] = entries(seller, AuditEntry.Action.VOLUME_CONTROL)
    assert entry.actor == admin_user and entry.created_at == NOW
    assert entry.before == {"paused": False, "effective_at": None}
    assert entry.after == {"paused": True, "effective_at": NOW.isoformat()}


def test_adding_the_control_already_in_force_adds_nothing(admin_client, seller):
    response = admin_client.post(
        reverse("admin:sellers_volumecontrolchange_add"),
        {"seller": seller.pk, "effective_at_0": "", "effective_at_1": "", "daily_cap": ""},
        follow=True,
    )

    assert response.status_code == 200
    assert "Nothing was added" in response.content.decode()
    assert not VolumeControlChange.objects.exists() and not AuditEntry.objects.exists()


def test_a_control_cannot_take_effect_in_the_past(admin_client, seller, make_orders):
    [order] = make_orders(OrderFactory.build(seller=seller, purchased_at=NOW - dt.timedelta(hours=1)))
    day, clock = split(NOW - dt.timedelta(hours=2))
    response = admin_client.post(
        reverse("admin:sellers_volumecontrolchange_add"),
        {"seller": seller.pk, "effective_at_0": day, "effective_at_1": clock, "daily_cap": "0"},
    )

    assert response.status_code == 200
    assert "cannot take effect in the past" in response.content.decode()
    assert not VolumeControlChange.objects.exists() and not AuditEntry.objects.exists()
    assert prime(order) == [True]


@pytest.mark.parametrize(
    ("until", "message"),
    [(("9999-12-31", "23:59:00"), "at most a year ahead"), (("2000-01-01", "00:00:00"), "must end in the future")],
)
def test_a_pause_in_the_admin_ends_within_a_year_as_on_the_settings_page(admin_client, seller, until, message):
    response = admin_client.post(
        reverse("admin:sellers_volumecontrolchange_add"),
        {
            "seller": seller.pk,
            "effective_at_0": "",
            "effective_at_1": "",
            "daily_cap": "",
            "paused": "on",
            "paused_until_0": until[0],
            "paused_until_1": until[1],
        },
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not VolumeControlChange.objects.exists() and not AuditEntry.objects.exists()


def test_moving_a_future_control_redecides_the_orders_of_both_moments_and_is_audited(
    admin_client, admin_user, seller, make_orders
):
    starts = NOW + dt.timedelta(days=1)
    control = volume_control_change(seller=seller, daily_cap=None, paused=True, effective_at=starts)
    [order] = make_orders(OrderFactory.build(seller=seller, purchased_at=starts + dt.timedelta(hours=1)))
    assert prime(order) == [False]
    url = reverse("admin:sellers_volumecontrolchange_change", args=[control.pk])
    data = page_data(admin_client.get(url))
    data["effective_at_0"], data["effective_at_1"] = split(starts + dt.timedelta(days=2))

    assert admin_client.post(url, data).status_code == 302

    assert prime(order) == [True]
    control.refresh_from_db()
    assert control.effective_at == starts + dt.timedelta(days=2)
    [entry] = entries(seller, AuditEntry.Action.VOLUME_CONTROL)
    assert entry.actor == admin_user and entry.created_at == NOW
    assert entry.before == {"effective_at": starts.isoformat()}
    assert entry.after == {"effective_at": (starts + dt.timedelta(days=2)).isoformat()}


def test_deleting_a_future_control_redecides_and_is_audited(admin_client, admin_user, seller, make_orders):
    starts = NOW + dt.timedelta(days=1)
    control = volume_control_change(seller=seller, daily_cap=0, paused=False, effective_at=starts)
    [order] = make_orders(OrderFactory.build(seller=seller, purchased_at=starts + dt.timedelta(hours=1)))
    assert prime(order) == [False]

    response = admin_client.post(
        reverse("admin:sellers_volumecontrolchange_delete", args=[control.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert not VolumeControlChange.objects.exists()
    assert prime(order) == [True]
    [entry] = entries(seller, AuditEntry.Action.VOLUME_CONTROL)
    assert entry.actor == admin_user
    assert entry.before == {"daily_cap": 0, "effective_at": starts.isoformat()}
    assert entry.after == {"daily_cap": None, "effective_at": None}


def test_a_control_in_effect_cannot_be_changed_or_deleted(admin_client, seller):
    control = volume_control_change(seller=seller, daily_cap=5, paused=False, effective_at=NOW - dt.timedelta(days=1))
    url = reverse("admin:sellers_volumecontrolchange_change", args=[control.pk])
    page = admin_client.get(url)
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()

    edited = admin_client.post(
        url, {"seller": seller.pk, "effective_at_0": "", "effective_at_1": "", "daily_cap": "50"}
    )
    deleted = admin_client.post(reverse("admin:sellers_volumecontrolchange_delete", args=[control.pk]), {"post": "yes"})
    admin_client.post(
        reverse("admin:sellers_volumecontrolchange_changelist"),
        {"action": "delete_selected", "_selected_action": [control.pk], "post": "yes"},
    )

    assert (edited.status_code, deleted.status_code) == (403, 403)
    control.refresh_from_db()
    assert control.daily_cap == 5
    assert not AuditEntry.objects.exists()


# --- orders: edits and deletions re-date, re-decide and are audited ---------------------------


@pytest.fixture
def capped_orders(seller, make_orders):
    """A cap of one Prime order a day: on DAY_1 the 10:00 order is Prime and the 12:00 one is
    not; on DAY_2 the 09:00 order is Prime."""
    volume_control_change(
        seller=seller, daily_cap=1, paused=False, effective_at=local_moment(seller, D - dt.timedelta(days=30), 0)
    )
    return make_orders(
        unshipped(seller, local_moment(seller, DAY_1, 10)),
        unshipped(seller, local_moment(seller, DAY_1, 12)),
        unshipped(seller, local_moment(seller, DAY_2, 9)),
    )


def test_an_order_edit_moving_its_purchase_time_redecides_both_days_and_is_audited(
    admin_client, admin_user, seller, capped_orders
):
    moved, second_of_day_1, first_of_day_2 = capped_orders
    assert prime(moved, second_of_day_1, first_of_day_2) == [True, False, True]
    url = reverse("admin:sellers_order_change", args=[moved.pk])
    data = page_data(admin_client.get(url))
    data["purchased_at_0"], data["purchased_at_1"] = split(local_moment(seller, DAY_2, 8))
    data["promised_ship_date"], data["promised_delivery_date"] = str(DAY_2), str(DAY_2 + dt.timedelta(days=1))

    assert admin_client.post(url, data).status_code == 302

    # DAY_1 keeps one order, now Prime; on DAY_2 the moved order comes first and takes the cap.
    assert prime(moved, second_of_day_1, first_of_day_2) == [True, True, False]
    moved.refresh_from_db()
    assert moved.purchase_date == DAY_2
    [entry] = entries(seller, AuditEntry.Action.ORDER_CHANGED)
    assert entry.actor == admin_user and moved.order_id in entry.summary
    assert entry.before["purchased_at"] == local_moment(seller, DAY_1, 10).astimezone(dt.UTC).isoformat()
    assert entry.after["purchased_at"] == local_moment(seller, DAY_2, 8).astimezone(dt.UTC).isoformat()
    assert entry.after["promised_ship_date"] == str(DAY_2)


def test_the_seller_reads_an_order_edit_and_a_time_zone_change_in_their_history(
    admin_client, client, seller, seller_user, capped_orders
):
    client.force_login(seller_user)
    moved = capped_orders[0]
    url = reverse("admin:sellers_order_change", args=[moved.pk])
    data = page_data(admin_client.get(url))
    data["purchased_at_0"], data["purchased_at_1"] = split(local_moment(seller, DAY_1, 11))
    admin_client.post(url, data)

    html = client.get(reverse("sellers:history")).content.decode()
    assert f"Order {moved.order_id} changed: purchased at" in html
    assert "<td>Purchased at</td><td>2026-11-15 10:00 PST</td><td>2026-11-15 11:00 PST</td>" in html

    url = reverse("admin:sellers_seller_change", args=[seller.pk])
    data = page_data(admin_client.get(url))
    data["timezone"] = "Asia/Ho_Chi_Minh"  # 15 hours later: every order moves to the next day
    admin_client.post(url, data)

    html = client.get(reverse("sellers:history")).content.decode()
    assert "Time zone changed from America/Los_Angeles to Asia/Ho_Chi_Minh: 3 orders re-dated" in html
    assert "<td>Time zone</td><td>America/Los_Angeles</td><td>Asia/Ho_Chi_Minh</td>" in html


def test_an_order_delete_redecides_its_day_and_is_audited(admin_client, admin_user, seller, capped_orders):
    first, second, _other_day = capped_orders

    response = admin_client.post(reverse("admin:sellers_order_delete", args=[first.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert not Order.objects.filter(pk=first.pk).exists()
    assert prime(second) == [True]
    [entry] = entries(seller, AuditEntry.Action.ORDER_DELETED)
    assert entry.actor == admin_user and entry.before["order_id"] == first.order_id and entry.after == {}


def test_an_order_edit_refuses_units_the_import_refuses(admin_client, seller, capped_orders):
    order = capped_orders[0]
    url = reverse("admin:sellers_order_change", args=[order.pk])
    data = page_data(admin_client.get(url))
    for units in ("0", "10001"):
        data["units"] = units
        response = admin_client.post(url, data)
        assert response.status_code == 200 and response.context["adminform"].form.errors["units"], units
    assert Order.objects.get(pk=order.pk).units == 1
    assert not AuditEntry.objects.exists()


def test_an_order_edit_refuses_what_the_import_refuses(admin_client, seller, capped_orders):
    order = capped_orders[0]
    url = reverse("admin:sellers_order_change", args=[order.pk])
    data = page_data(admin_client.get(url))
    day, clock = split(order.purchased_at - dt.timedelta(days=3))
    data.update(delivered_at_0=day, delivered_at_1=clock)  # delivered before it was bought and scanned
    response = admin_client.post(url, data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "delivered_at" in errors, errors
    assert Order.objects.get(pk=order.pk).delivered_at == order.delivered_at
    assert not AuditEntry.objects.exists()


def test_orders_are_not_added_in_the_admin(admin_client):
    assert admin_client.get(reverse("admin:sellers_order_add")).status_code == 403


# --- carriers, programme history and plans -----------------------------------------------------


def test_carrier_services_are_read_only_and_removed_through_the_service(admin_client, admin_user, seller):
    ups = seller.carrier_services.get()
    url = reverse("admin:sellers_carrierservice_change", args=[ups.pk])
    page = admin_client.get(url).content.decode()
    assert 'name="_save"' not in page and "Carrier services settings page" in page
    assert admin_client.post(url, {"seller": seller.pk, "name": "Renamed"}).status_code == 403

    admin_client.post(reverse("admin:sellers_carrierservice_delete", args=[ups.pk]), {"post": "yes"})

    assert not CarrierService.objects.exists()
    [entry] = entries(seller, AuditEntry.Action.CARRIER_DELETED)
    assert entry.actor == admin_user and entry.before["name"] == "UPS Ground"


def test_programme_history_and_plans_are_read_only(admin_client, seller):
    event = status_event_create(seller, SellerEvent.Kind.REVOKED, day=D)
    plan = PlanOfAction.objects.create(
        seller=seller, root_cause="r", corrective_actions="c", preventive_measures="p", timeframe="t", submitted_at=NOW
    )
    assert admin_client.get(reverse("admin:sellers_sellerevent_add")).status_code == 403
    assert (
        admin_client.post(reverse("admin:sellers_sellerevent_delete", args=[event.pk]), {"post": "yes"}).status_code
        == 403
    )
    plan_page = admin_client.get(reverse("admin:metrics_planofaction_change", args=[plan.pk]))
    assert plan_page.status_code == 200 and 'name="_save"' not in plan_page.content.decode()
    assert admin_client.post(reverse("admin:metrics_planofaction_change", args=[plan.pk]), {}).status_code == 403


def test_a_control_takes_effect_at_most_a_year_ahead(admin_client, seller):
    day, clock_time = split(NOW + dt.timedelta(days=400))
    response = admin_client.post(
        reverse("admin:sellers_volumecontrolchange_add"),
        {"seller": seller.pk, "effective_at_0": day, "effective_at_1": clock_time, "daily_cap": "5"},
    )

    assert response.status_code == 200
    assert "at most a year ahead" in response.content.decode()
    assert not VolumeControlChange.objects.exists()
