"""The seller's settings editors (SPEC sections 1 and 2): who may see them, what each form
refuses, what it warns about, and what it stores."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from sellers.choices import CONTIGUOUS_REGIONS, STATES, Speed, Weekday
from sellers.models import (
    ApiToken,
    AuditEntry,
    CarrierPickup,
    CarrierService,
    CarrierZone,
    OperatingDay,
    PrimeRegion,
    Seller,
    VolumeControlChange,
)
from sellers.selectors import prime_template_derived, seller_late_cutoffs, seller_prime_speeds, seller_requirements
from sellers.services import api_token_create, carrier_service_create, fulfilment_update

pytestmark = pytest.mark.django_db

# A moment every time-dependent test acts at: Friday 2026-11-20, 10:00 in Los Angeles.
NOW = dt.datetime(2026, 11, 20, 18, 0, tzinfo=dt.UTC)

PAGES = ["settings", "shipping_template", "fulfilment", "carriers", "carrier_create", "volume_control", "api_tokens"]
PAGES += ["history"]


# --- form data as a browser posts it -----------------------------------------------------


def template_data(seller: Seller, *, region_automation: bool | None = None, **speeds: str) -> dict:
    data = {f"speed_{state}": speed for state, speed in seller_prime_speeds(seller=seller).items()}
    data.update({f"speed_{state}": speed for state, speed in speeds.items()})
    automation = seller.region_automation if region_automation is None else region_automation
    if automation:
        data["region_automation"] = "on"
    return data


def fulfilment_data(seller: Seller, *, weekend_delivery: bool | None = None, **days: tuple[bool, str]) -> dict:
    """The current fulfilment settings as posted, with some days replaced: ``friday=(True, "12:00")``."""
    current = {
        day.weekday: (day.operated, day.cutoff.strftime("%H:%M") if day.cutoff else "")
        for day in OperatingDay.objects.filter(seller=seller)
    }
    for name, value in days.items():
        current[Weekday[name.upper()].value] = value
    data = {}
    for weekday, (operated, cutoff) in current.items():
        if operated:
            data[f"operated_{weekday}"] = "on"
        data[f"cutoff_{weekday}"] = cutoff
    seller.refresh_from_db()
    if seller.weekend_delivery if weekend_delivery is None else weekend_delivery:
        data["weekend_delivery"] = "on"
    return data


def carrier_data(name: str, *, pickups: dict[int, str] | None = None, one_day=(), two_day=()) -> dict:
    data = {"name": name, "one_day_states": list(one_day), "two_day_states": list(two_day)}
    for weekday in Weekday:
        data[f"pickup_{weekday}"] = (pickups or {}).get(weekday, "")
    return data


def settings_state(seller: Seller) -> tuple:
    """Everything the settings pages can change, to show a refused form changed nothing."""
    seller.refresh_from_db()
    return (
        seller.weekend_delivery,
        seller.region_automation,
        list(PrimeRegion.objects.filter(seller=seller).values_list("state", "speed").order_by("state")),
        list(OperatingDay.objects.filter(seller=seller).values_list("weekday", "operated", "cutoff")),
        list(CarrierService.objects.filter(seller=seller).values_list("pk", "name").order_by("pk")),
        list(
            CarrierPickup.objects.filter(carrier_service__seller=seller)
            .values_list("carrier_service_id", "weekday", "pickup_time")
            .order_by("carrier_service_id", "weekday")
        ),
        list(
            CarrierZone.objects.filter(carrier_service__seller=seller)
            .values_list("carrier_service_id", "state", "transit_days")
            .order_by("carrier_service_id", "state")
        ),
        list(VolumeControlChange.objects.filter(seller=seller).values_list("pk", flat=True)),
        list(ApiToken.objects.filter(seller=seller).values_list("pk", "revoked_at")),
        AuditEntry.objects.filter(seller=seller).count(),
    )


def template_grid(html: str) -> str:
    return html.split("data-template-grid")[1].split("</form>")[0]


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def seller_client(client, seller_user):
    client.force_login(seller_user)
    return client


@pytest.fixture
def fixed_now(clock):
    """The portal's clock stopped at NOW, for the views that read it."""
    clock.move_to(NOW)
    return NOW


def page_url(name: str, seller: Seller) -> str:
    return reverse(f"sellers:{name}")


# --- access ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [*PAGES, "carrier_edit"])
def test_every_settings_page_renders_for_a_seller_user(seller_client, seller, name):
    args = [seller.carrier_services.get().pk] if name == "carrier_edit" else []
    response = seller_client.get(reverse(f"sellers:{name}", args=args))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'href="{reverse("sellers:settings")}"' in html  # the navbar's Settings item
    assert "nav-tabs" in html


@pytest.mark.parametrize("name", [*PAGES, "carrier_edit"])
def test_anonymous_visitor_is_sent_to_login(client, seller, name):
    args = [seller.carrier_services.get().pk] if name == "carrier_edit" else []
    url = reverse(f"sellers:{name}", args=args)
    response = client.get(url)
    assert response.status_code == 302 and response["Location"] == f"/accounts/login/?next={url}"


@pytest.mark.parametrize("account", ["reviewer", "outsider"])
@pytest.mark.parametrize("name", PAGES)
def test_accounts_of_no_seller_get_404(client, request, account, name):
    client.force_login(request.getfixturevalue(account))
    assert client.get(reverse(f"sellers:{name}")).status_code == 404
    assert client.post(reverse(f"sellers:{name}"), {}).status_code == 404


def test_settings_nav_item_shows_for_sellers_only(client, seller_user, reviewer):
    client.force_login(seller_user)
    assert f'href="{reverse("sellers:settings")}"' in client.get(reverse("metrics:dashboard")).content.decode()
    client.force_login(reviewer)
    assert f'href="{reverse("sellers:settings")}"' not in client.get("/accounts/login/").content.decode()


def test_overview_summarises_each_setting_with_its_requirement_checks(seller_client, seller):
    PrimeRegion.objects.filter(seller=seller, state="TX").update(speed=Speed.NOT_OFFERED)
    PrimeRegion.objects.filter(seller=seller, state="CA").update(speed=Speed.ONE_DAY)
    html = seller_client.get(reverse("sellers:settings")).content.decode()
    assert "Prime in 48 of the 49 regions nationwide coverage needs: 1 one-day, 47 two-day." in html
    assert 'data-requirement="nationwide_coverage"' in html
    assert "Offer Prime in all 48 contiguous states" in html  # the failing check's action
    assert "Monday 14:00" in html and "Saturday 10:30" in html and "Six-day delivery on." in html
    assert "1 carrier service:" in html and "UPS Ground" in html
    assert "No daily cap." in html and "0 active tokens" in html
    for name in ["shipping_template", "fulfilment", "carriers", "volume_control", "api_tokens", "history"]:
        assert f'href="{reverse(f"sellers:{name}")}"' in html


# --- Prime shipping template -------------------------------------------------------------


def test_template_page_shows_counts_and_nationwide_coverage(seller_client, seller):
    response = seller_client.get(reverse("sellers:shipping_template"))
    html = response.content.decode()
    grid = template_grid(html)
    assert grid.count("<select") == len(STATES) and "disabled" not in grid
    assert 'data-count="one_day">0<' in html and 'data-count="two_day">49<' in html
    assert 'data-count="covered">49 / 49<' in html


def test_manual_template_edit_saves_each_state(seller_client, seller):
    data = template_data(seller, CA=Speed.ONE_DAY, NV=Speed.ONE_DAY, AK=Speed.TWO_DAY, TX=Speed.NOT_OFFERED)
    response = seller_client.post(reverse("sellers:shipping_template"), data, follow=True)
    speeds = seller_prime_speeds(seller=seller)
    assert (speeds["CA"], speeds["NV"], speeds["AK"], speeds["TX"]) == ("one_day", "one_day", "two_day", "not_offered")
    html = response.content.decode()
    assert "Prime shipping template saved." in messages_of(response)
    assert any("Nationwide coverage requirement is not met" in m for m in messages_of(response))
    assert 'data-count="one_day">2<' in html and 'data-count="covered">48 / 49<' in html


def test_unknown_speed_is_refused_and_nothing_changes(seller_client, seller):
    before = settings_state(seller)
    response = seller_client.post(reverse("sellers:shipping_template"), template_data(seller, CA="same_day"))
    assert response.status_code == 200 and response.context["form"].errors["speed_CA"]
    assert settings_state(seller) == before


def two_carriers(seller, user):
    """UPS Ground (the default) reaches the 48+DC in two days; add Courier reaching CA and NV
    in one day and AK in two, and Air reaching HI and CA in one day."""
    carrier_service_create(
        seller=seller,
        actor=user,
        name="Courier",
        pickups={0: dt.time(18)},
        one_day_states=["CA", "NV"],
        two_day_states=["AK"],
    )
    carrier_service_create(
        seller=seller, actor=user, name="Air", pickups={0: dt.time(18)}, one_day_states=["HI", "CA"], two_day_states=[]
    )


def test_region_automation_gives_each_state_the_fastest_speed_of_any_service(seller_client, seller, seller_user):
    two_carriers(seller, seller_user)
    CarrierZone.objects.filter(carrier_service__name="UPS Ground", state="TX").delete()
    response = seller_client.post(
        reverse("sellers:shipping_template"), template_data(seller, region_automation=True), follow=True
    )
    seller.refresh_from_db()
    assert seller.region_automation is True
    speeds = seller_prime_speeds(seller=seller)
    assert speeds["CA"] == speeds["NV"] == speeds["HI"] == Speed.ONE_DAY
    assert speeds["AK"] == speeds["OR"] == Speed.TWO_DAY
    assert speeds["TX"] == Speed.NOT_OFFERED  # no service reaches it
    assert speeds == {state: region.speed for state, region in prime_template_derived(seller=seller).items()}
    html = response.content.decode()
    # Why each state got its speed: the services that give it, fastest first, ties all named.
    assert '<div class="small text-body-secondary ms-5" data-derived="CA">' in html
    ca_reason = html.split('data-derived="CA">')[1].split("</div>")[0]
    assert "via Air, Courier" in ca_reason
    assert "via UPS Ground" in html.split('data-derived="OR">')[1].split("</div>")[0]
    assert "no carrier service reaches it" in html.split('data-derived="TX">')[1].split("</div>")[0]


def test_manual_form_is_read_only_while_region_automation_is_on(seller_client, seller, seller_user):
    two_carriers(seller, seller_user)
    seller_client.post(reverse("sellers:shipping_template"), template_data(seller, region_automation=True))
    html = seller_client.get(reverse("sellers:shipping_template")).content.decode()
    assert template_grid(html).count(" disabled") == len(STATES)
    assert 'data-automation="on"' in html
    before = settings_state(seller)
    # A hand-made post of a speed is ignored while automation stays on.
    seller_client.post(
        reverse("sellers:shipping_template"), template_data(seller, region_automation=True, CA=Speed.NOT_OFFERED)
    )
    assert seller_prime_speeds(seller=seller)["CA"] == Speed.ONE_DAY
    assert settings_state(seller) == before


def test_turning_automation_off_keeps_the_derived_template_to_edit(seller_client, seller, seller_user):
    two_carriers(seller, seller_user)
    seller_client.post(reverse("sellers:shipping_template"), template_data(seller, region_automation=True))
    derived = seller_prime_speeds(seller=seller)
    seller_client.post(reverse("sellers:shipping_template"), template_data(seller, region_automation=False))
    seller.refresh_from_db()
    assert seller.region_automation is False and seller_prime_speeds(seller=seller) == derived
    seller_client.post(reverse("sellers:shipping_template"), template_data(seller, TX=Speed.ONE_DAY))
    assert seller_prime_speeds(seller=seller)["TX"] == Speed.ONE_DAY


def test_carrier_changes_re_derive_the_template_while_automation_is_on(seller_client, seller, seller_user):
    seller_client.post(reverse("sellers:shipping_template"), template_data(seller, region_automation=True))
    assert seller_prime_speeds(seller=seller)["CA"] == Speed.TWO_DAY
    seller_client.post(reverse("sellers:carrier_create"), carrier_data("Courier", pickups={0: "18:00"}, one_day=["CA"]))
    assert seller_prime_speeds(seller=seller)["CA"] == Speed.ONE_DAY
    courier = CarrierService.objects.get(seller=seller, name="Courier")
    seller_client.post(reverse("sellers:carrier_delete", args=[courier.pk]))
    assert seller_prime_speeds(seller=seller)["CA"] == Speed.TWO_DAY
    ups = CarrierService.objects.get(seller=seller, name="UPS Ground")
    seller_client.post(reverse("sellers:carrier_delete", args=[ups.pk]))
    assert set(seller_prime_speeds(seller=seller).values()) == {Speed.NOT_OFFERED}


def test_carrier_changes_leave_a_hand_made_template_alone(seller_client, seller):
    seller_client.post(reverse("sellers:carrier_create"), carrier_data("Courier", pickups={0: "18:00"}, one_day=["CA"]))
    assert seller_prime_speeds(seller=seller)["CA"] == Speed.TWO_DAY


# --- fulfilment ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "cutoff", "accepted"),
    [
        ("monday", "13:59", False),
        ("monday", "14:00", True),
        ("friday", "13:59", False),
        ("friday", "14:00", True),
        ("saturday", "10:29", False),
        ("saturday", "10:30", True),
        ("sunday", "10:29", False),
        ("sunday", "10:30", True),
    ],
)
def test_cutoff_minimums_are_enforced(seller_client, seller, day, cutoff, accepted):
    before = settings_state(seller)
    response = seller_client.post(reverse("sellers:fulfilment"), fulfilment_data(seller, **{day: (True, cutoff)}))
    weekday = Weekday[day.upper()]
    stored = OperatingDay.objects.get(seller=seller, weekday=weekday)
    if accepted:
        assert response.status_code == 302
        assert stored.operated and stored.cutoff == dt.time.fromisoformat(cutoff)
    else:
        assert response.status_code == 200
        minimum = "14:00" if weekday < 5 else "10:30"
        kind = "weekday" if weekday < 5 else "weekend"
        assert response.context["form"].errors[f"cutoff_{weekday}"] == [
            f"{weekday.label}: the cutoff {cutoff} is before {minimum}; the programme revokes Prime for {kind} "
            f"cutoffs before {minimum}. Set {minimum} or later."
        ]
        assert "Nothing was saved" in response.content.decode()
        assert settings_state(seller) == before


def test_the_refusal_names_the_day_and_the_fix(seller_client, seller):
    response = seller_client.post(reverse("sellers:fulfilment"), fulfilment_data(seller, friday=(True, "12:00")))
    assert (
        "Friday: the cutoff 12:00 is before 14:00; the programme revokes Prime for weekday cutoffs before 14:00. "
        "Set 14:00 or later." in response.content.decode()
    )


def test_operated_day_without_a_cutoff_is_refused(seller_client, seller):
    before = settings_state(seller)
    response = seller_client.post(reverse("sellers:fulfilment"), fulfilment_data(seller, sunday=(True, "")))
    assert response.status_code == 200
    assert "Sunday: an operated day needs an order cutoff" in response.context["form"].errors["cutoff_6"][0]
    assert settings_state(seller) == before


def test_one_refused_day_saves_nothing_of_the_rest(seller_client, seller):
    before = settings_state(seller)
    data = fulfilment_data(seller, weekend_delivery=False, monday=(True, "16:00"), tuesday=(True, "11:00"))
    assert seller_client.post(reverse("sellers:fulfilment"), data).status_code == 200
    assert settings_state(seller) == before


def test_closed_day_may_have_any_cutoff_and_keeps_none(seller_client, seller):
    response = seller_client.post(reverse("sellers:fulfilment"), fulfilment_data(seller, sunday=(False, "08:00")))
    assert response.status_code == 302
    sunday = OperatingDay.objects.get(seller=seller, weekday=Weekday.SUNDAY)
    assert not sunday.operated and sunday.cutoff is None


def test_saving_a_cutoff_after_the_last_pickup_warns_but_saves(seller_client, seller):
    response = seller_client.post(
        reverse("sellers:fulfilment"), fulfilment_data(seller, monday=(True, "18:00")), follow=True
    )
    assert OperatingDay.objects.get(seller=seller, weekday=Weekday.MONDAY).cutoff == dt.time(18)
    assert "Fulfilment settings saved." in messages_of(response)
    assert (
        "Monday: the cutoff 18:00 is after the last carrier pickup at 17:00; orders placed in between wait until "
        "the next pickup. Move the cutoff to 17:00 or earlier, or add a later pickup."
    ) in messages_of(response)
    assert "data-late-cutoffs" in response.content.decode()


def test_an_operated_day_without_any_pickup_warns(seller_client, seller):
    response = seller_client.post(
        reverse("sellers:fulfilment"), fulfilment_data(seller, sunday=(True, "11:00")), follow=True
    )
    assert any(
        m.startswith("Sunday: you operate that day but no carrier service picks up") for m in messages_of(response)
    )


def test_a_later_pickup_of_another_service_silences_the_warning(seller_client, seller, seller_user):
    carrier_service_create(
        seller=seller, actor=seller_user, name="Late", pickups={0: dt.time(19)}, one_day_states=[], two_day_states=[]
    )
    response = seller_client.post(
        reverse("sellers:fulfilment"), fulfilment_data(seller, monday=(True, "18:00")), follow=True
    )
    assert not any("after the last carrier pickup" in m for m in messages_of(response))


def test_saving_shows_the_weekend_requirements_that_would_fail(seller_client, seller):
    response = seller_client.post(
        reverse("sellers:fulfilment"),
        fulfilment_data(seller, weekend_delivery=False, saturday=(False, "")),
        follow=True,
    )
    seller.refresh_from_db()
    assert seller.weekend_delivery is False
    shown = messages_of(response)
    assert any(m.startswith("Weekend operations requirement is not met.") for m in shown)
    assert any(m.startswith("Weekend delivery requirement is not met.") for m in shown)
    assert not any(m.startswith("Weekday cutoff") for m in shown)


def test_a_no_op_save_says_nothing_changed(seller_client, seller):
    response = seller_client.post(reverse("sellers:fulfilment"), fulfilment_data(seller), follow=True)
    assert "Fulfilment settings: nothing changed, so nothing was saved." in messages_of(response)


@pytest.mark.parametrize(
    ("cutoffs", "pickups"),
    [
        ({0: dt.time(18)}, {}),
        ({6: dt.time(11)}, {}),
        ({2: dt.time(16)}, {2: dt.time(16)}),
        ({2: dt.time(16, 1)}, {2: dt.time(16)}),
    ],
)
def test_late_cutoffs_agree_with_the_carrier_pickups_requirement(seller, seller_user, cutoffs, pickups):
    days = {day.weekday: (day.operated, day.cutoff) for day in OperatingDay.objects.filter(seller=seller)}
    days.update({weekday: (True, cutoff) for weekday, cutoff in cutoffs.items()})
    fulfilment_update(seller=seller, actor=seller_user, days=days, weekend_delivery=True)
    for weekday, moment in pickups.items():
        CarrierPickup.objects.filter(carrier_service__seller=seller, weekday=weekday).update(pickup_time=moment)
    late = [entry.weekday for entry in seller_late_cutoffs(seller=seller)]
    assert late == sorted(seller_requirements(seller=seller).days_without_pickup)


# --- carrier services ----------------------------------------------------------------------


def test_create_a_carrier_service_with_pickups_and_zones(seller_client, seller):
    data = carrier_data("FedEx Home", pickups={0: "18:30", 5: "12:00"}, one_day=["CA", "NV"], two_day=["OR", "WA"])
    response = seller_client.post(reverse("sellers:carrier_create"), data, follow=True)
    service = CarrierService.objects.get(seller=seller, name="FedEx Home")
    assert dict(service.pickups.values_list("weekday", "pickup_time")) == {0: dt.time(18, 30), 5: dt.time(12)}
    assert sorted(service.zones.values_list("state", "transit_days")) == [("CA", 1), ("NV", 1), ("OR", 2), ("WA", 2)]
    assert response.redirect_chain[-1][0] == reverse("sellers:carriers")
    assert "Carrier service FedEx Home saved." in messages_of(response)
    assert "FedEx Home" in response.content.decode()


def test_edit_a_carrier_service(seller_client, seller):
    ups = seller.carrier_services.get()
    form = seller_client.get(reverse("sellers:carrier_edit", args=[ups.pk])).context["form"]
    assert form["name"].value() == "UPS Ground" and form["pickup_0"].value() == dt.time(17)
    assert sorted(form["two_day_states"].value()) == sorted(CONTIGUOUS_REGIONS)
    data = carrier_data(
        "UPS Ground Saver",
        pickups=dict.fromkeys(range(6), "17:30"),
        one_day=["CA"],
        two_day=sorted(CONTIGUOUS_REGIONS - {"CA"}),
    )
    assert seller_client.post(reverse("sellers:carrier_edit", args=[ups.pk]), data).status_code == 302
    ups.refresh_from_db()
    assert ups.name == "UPS Ground Saver"
    assert set(ups.pickups.values_list("pickup_time", flat=True)) == {dt.time(17, 30)}
    assert ups.zones.get(state="CA").transit_days == 1


@pytest.mark.parametrize("name", ["UPS Ground", "ups ground", "  UPS Ground "])
def test_duplicate_carrier_name_is_refused(seller_client, seller, name):
    before = settings_state(seller)
    response = seller_client.post(reverse("sellers:carrier_create"), carrier_data(name, pickups={0: "17:00"}))
    assert response.status_code == 200
    assert response.context["form"].errors["name"] == [
        "You already have a carrier service named UPS Ground; choose another name or edit that one."
        if name == "UPS Ground"
        else f"You already have a carrier service named {name.strip()}; choose another name or edit that one."
    ]
    assert settings_state(seller) == before


def test_the_same_carrier_name_may_be_used_by_another_seller_and_kept_on_edit(seller_client, seller, other_seller):
    ups = seller.carrier_services.get()
    data = carrier_data("UPS Ground", pickups={0: "17:00"}, two_day=["CA"])
    assert seller_client.post(reverse("sellers:carrier_edit", args=[ups.pk]), data).status_code == 302
    assert other_seller.carrier_services.get().name == "UPS Ground"


def test_a_state_in_both_one_day_and_two_day_is_refused(seller_client, seller):
    ups = seller.carrier_services.get()
    before = settings_state(seller)
    data = carrier_data("UPS Ground", pickups={0: "17:00"}, one_day=["CA", "NV", "OR"], two_day=["CA", "OR", "TX"])
    response = seller_client.post(reverse("sellers:carrier_edit", args=[ups.pk]), data)
    assert response.status_code == 200
    assert response.context["form"].errors["two_day_states"] == [
        "A state is reached in one day or in two, not both: CA, OR. Untick each of them in one of the two lists."
    ]
    assert settings_state(seller) == before


def test_a_malformed_pickup_time_is_refused(seller_client, seller):
    before = settings_state(seller)
    response = seller_client.post(reverse("sellers:carrier_create"), carrier_data("DHL", pickups={0: "5pm"}))
    assert "Enter the pickup time as hours and minutes, e.g. 17:00." in response.context["form"].errors["pickup_0"]
    assert settings_state(seller) == before


def test_moving_a_pickup_before_the_cutoff_warns(seller_client, seller):
    ups = seller.carrier_services.get()
    data = carrier_data(
        "UPS Ground", pickups=dict.fromkeys(range(6), "17:00") | {4: "13:00"}, two_day=sorted(CONTIGUOUS_REGIONS)
    )
    response = seller_client.post(reverse("sellers:carrier_edit", args=[ups.pk]), data, follow=True)
    assert any(
        m.startswith("Friday: the cutoff 14:00 is after the last carrier pickup at 13:00")
        for m in messages_of(response)
    )
    assert "data-late-cutoffs" in response.content.decode()


def test_deleting_the_last_carrier_warns_about_the_pickup_requirement(seller_client, seller):
    ups = seller.carrier_services.get()
    response = seller_client.post(reverse("sellers:carrier_delete", args=[ups.pk]), follow=True)
    assert not CarrierService.objects.filter(seller=seller).exists()
    shown = messages_of(response)
    assert "Carrier service UPS Ground removed." in shown
    assert any("no carrier service left" in m and "carrier pickups check fails" in m for m in shown)
    assert seller_requirements(seller=seller).passing["carrier_pickups"] is False


def test_carrier_delete_is_post_only(seller_client, seller):
    ups = seller.carrier_services.get()
    assert seller_client.get(reverse("sellers:carrier_delete", args=[ups.pk])).status_code == 405
    assert CarrierService.objects.filter(pk=ups.pk).exists()


def test_another_sellers_carrier_gives_404(seller_client, seller, other_seller):
    theirs = other_seller.carrier_services.get()
    before = settings_state(other_seller)
    edit = reverse("sellers:carrier_edit", args=[theirs.pk])
    assert seller_client.get(edit).status_code == 404
    assert seller_client.post(edit, carrier_data("Mine now", pickups={0: "17:00"})).status_code == 404
    assert seller_client.post(reverse("sellers:carrier_delete", args=[theirs.pk])).status_code == 404
    assert seller_client.get(reverse("sellers:carrier_edit", args=[999_999])).status_code == 404
    assert settings_state(other_seller) == before


# --- Prime order-volume control --------------------------------------------------------------


def test_pause_until_a_local_moment_is_recorded_with_its_moment_and_actor(
    seller_client, seller, seller_user, fixed_now
):
    data = {"paused": "on", "paused_until": "2026-11-21T18:00", "daily_cap": "250"}
    response = seller_client.post(reverse("sellers:volume_control"), data, follow=True)
    change = VolumeControlChange.objects.get(seller=seller)
    assert change.effective_at == NOW and change.changed_by == seller_user
    assert change.paused and change.daily_cap == 250
    # 18:00 in Los Angeles (PST, UTC-8) is 02:00 UTC the next day.
    assert change.paused_until == dt.datetime(2026, 11, 22, 2, 0, tzinfo=dt.UTC)
    assert "Prime order-volume control saved." in messages_of(response)
    html = response.content.decode()
    assert (
        "Prime badge paused" in html
        and "Nov. 21, 2026, 18:00 PST" in html
        and "At most 250 Prime orders a day." in html
    )
    history = html.split("data-volume-history")[1]
    assert "Nov. 20, 2026, 10:00 PST" in history and "seller1" in history


def test_the_form_shows_the_pause_end_in_the_sellers_time_zone(seller_client, seller, seller_user, fixed_now):
    seller_client.post(reverse("sellers:volume_control"), {"paused": "on", "paused_until": "2026-11-21T18:00"})
    form = seller_client.get(reverse("sellers:volume_control")).context["form"]
    # Shown back as a 24-hour time, as every time on the pages (no 12-hour browser picker).
    assert 'value="2026-11-21 18:00"' in str(form["paused_until"]) and 'type="text"' in str(form["paused_until"])


def test_history_keeps_every_change_newest_first(seller_client, seller, other_seller_user, fixed_now, clock):
    seller_client.post(reverse("sellers:volume_control"), {"daily_cap": "100"})
    clock.move_to(NOW + dt.timedelta(hours=2))
    seller_client.post(reverse("sellers:volume_control"), {"paused": "on"})
    clock.move_to(NOW + dt.timedelta(hours=3))
    seller_client.post(reverse("sellers:volume_control"), {})
    rows = list(VolumeControlChange.objects.filter(seller=seller).order_by("effective_at"))
    assert [(r.daily_cap, r.paused, r.effective_at) for r in rows] == [
        (100, False, NOW),
        (None, True, NOW + dt.timedelta(hours=2)),
        (None, False, NOW + dt.timedelta(hours=3)),
    ]
    html = seller_client.get(reverse("sellers:volume_control")).content.decode().split("data-volume-history")[1]
    assert (
        html.index("Nov. 20, 2026, 13:00 PST")
        < html.index("Nov. 20, 2026, 12:00 PST")
        < html.index("Nov. 20, 2026, 10:00 PST")
    )


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"paused": "on", "paused_until": "2026-11-20T09:59"}, "paused_until", "The pause must end in the future"),
        ({"paused": "on", "paused_until": "2026-11-20T10:00"}, "paused_until", "2026-11-20 10:00 has passed"),
        ({"paused_until": "2026-12-01T10:00"}, "paused_until", "An end only applies to a pause."),
        ({"paused": "on", "paused_until": "tomorrow"}, "paused_until", "Enter a date and time"),
        ({"daily_cap": "0"}, "daily_cap", "A daily cap is at least 1 order."),
        ({"daily_cap": "-5"}, "daily_cap", "A daily cap is at least 1 order."),
        ({"daily_cap": "12.5"}, "daily_cap", "Enter the cap as a whole number of orders"),
        ({"daily_cap": "lots"}, "daily_cap", "Enter the cap as a whole number of orders"),
        ({"daily_cap": "10000001"}, "daily_cap", "10000000"),
    ],
)
def test_volume_control_refusals_change_nothing(seller_client, seller, fixed_now, data, field, message):
    before = settings_state(seller)
    response = seller_client.post(reverse("sellers:volume_control"), data)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert settings_state(seller) == before


def test_a_cap_of_one_and_an_empty_cap_are_accepted(seller_client, seller, fixed_now):
    seller_client.post(reverse("sellers:volume_control"), {"daily_cap": "1"})
    assert seller.volume_control_at(NOW).daily_cap == 1
    seller_client.post(reverse("sellers:volume_control"), {"daily_cap": ""})
    assert seller.volume_control_at(NOW).daily_cap is None
    assert VolumeControlChange.objects.filter(seller=seller).count() == 2


def test_a_pause_in_a_nonexistent_local_time_is_refused(seller_client, seller, fixed_now):
    # 2027-03-14 02:30 does not exist in Los Angeles: clocks jump from 02:00 to 03:00.
    response = seller_client.post(
        reverse("sellers:volume_control"), {"paused": "on", "paused_until": "2027-03-14T02:30"}
    )
    assert response.status_code == 200 and response.context["form"].errors["paused_until"]
    assert not VolumeControlChange.objects.filter(seller=seller).exists()


def test_an_unchanged_volume_control_records_nothing(seller_client, seller, fixed_now):
    seller_client.post(reverse("sellers:volume_control"), {"daily_cap": "100"})
    response = seller_client.post(reverse("sellers:volume_control"), {"daily_cap": "100"}, follow=True)
    assert VolumeControlChange.objects.filter(seller=seller).count() == 1
    assert "Prime order-volume control: nothing changed, so nothing was saved." in messages_of(response)


def test_an_unchanged_timed_pause_records_nothing(seller_client, seller, fixed_now):
    """The pause's end comes back from the database in UTC and from the form in the seller's
    zone: the same moment, so posting the form again changes nothing."""
    pause = {"paused": "on", "paused_until": "2026-11-21T18:00"}
    seller_client.post(reverse("sellers:volume_control"), pause)
    response = seller_client.post(reverse("sellers:volume_control"), pause, follow=True)
    assert VolumeControlChange.objects.filter(seller=seller).count() == 1
    assert AuditEntry.objects.filter(seller=seller, action=AuditEntry.Action.VOLUME_CONTROL).count() == 1
    assert "Prime order-volume control: nothing changed, so nothing was saved." in messages_of(response)


# --- CSRF ----------------------------------------------------------------------------------


def test_settings_posts_without_a_csrf_token_are_refused(seller, seller_user):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(seller_user)
    token, _raw = api_token_create(seller=seller, actor=seller_user, name="Existing")
    ups = seller.carrier_services.get()
    before = settings_state(seller)
    posts = [
        (reverse("sellers:shipping_template"), template_data(seller, CA=Speed.ONE_DAY)),
        (reverse("sellers:fulfilment"), fulfilment_data(seller, monday=(True, "15:00"))),
        (reverse("sellers:carrier_create"), carrier_data("New", pickups={0: "17:00"})),
        (reverse("sellers:carrier_edit", args=[ups.pk]), carrier_data("Renamed", pickups={0: "17:00"})),
        (reverse("sellers:carrier_delete", args=[ups.pk]), {}),
        (reverse("sellers:volume_control"), {"paused": "on"}),
        (reverse("sellers:api_tokens"), {"name": "Sneaky"}),
        (reverse("sellers:api_token_revoke", args=[token.pk]), {}),
    ]
    for url, data in posts:
        assert csrf_client.post(url, data).status_code == 403, url
    assert settings_state(seller) == before


def test_settings_forms_carry_a_csrf_token(seller_client, seller):
    for name in ["shipping_template", "fulfilment", "carrier_create", "volume_control", "api_tokens"]:
        html = seller_client.get(reverse(f"sellers:{name}")).content.decode()
        # The page's own forms, not the language and logout forms every page has.
        main = html[html.index('<main class="container"') : html.index("</main>")]
        assert "csrfmiddlewaretoken" in main, name


@pytest.mark.parametrize("language", ["en", "de", "vi"])
def test_the_pause_end_is_typed_as_the_page_shows_it_in_every_language(
    seller_client, seller, seller_user, fixed_now, language
):
    seller_user.language = language
    seller_user.save()
    seller_client.cookies["django_language"] = language
    seller_client.post(reverse("sellers:volume_control"), {"paused": "on", "paused_until": "2026-11-21 18:00"})
    control = seller.volume_control_at(fixed_now + dt.timedelta(seconds=1))
    assert control is not None and control.paused
    assert control.paused_until.astimezone(seller.zone).replace(tzinfo=None) == dt.datetime(2026, 11, 21, 18, 0)
