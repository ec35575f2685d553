"""A new seller's settings are exactly the defaults SPEC section 1 names, which meet every
programme requirement of section 2."""

from __future__ import annotations

import datetime as dt

import pytest

from sellers.choices import CONTIGUOUS_REGIONS, STATES, Speed, Weekday

pytestmark = pytest.mark.django_db

MONDAY_TO_SATURDAY = [
    Weekday.MONDAY, Weekday.TUESDAY, Weekday.WEDNESDAY, Weekday.THURSDAY, Weekday.FRIDAY, Weekday.SATURDAY
]  # fmt: skip


def test_prime_template_offers_the_48_contiguous_states_and_dc_at_two_day(seller):
    speeds = dict(seller.prime_regions.values_list("state", "speed"))
    assert sorted(speeds) == sorted(STATES) and len(speeds) == 51
    assert {state for state, speed in speeds.items() if speed == Speed.TWO_DAY} == CONTIGUOUS_REGIONS
    assert len(CONTIGUOUS_REGIONS) == 49 and "DC" in CONTIGUOUS_REGIONS


def test_alaska_and_hawaii_are_not_offered(seller):
    assert dict(seller.prime_regions.filter(state__in=["AK", "HI"]).values_list("state", "speed")) == {
        "AK": Speed.NOT_OFFERED,
        "HI": Speed.NOT_OFFERED,
    }


def test_no_region_is_one_day_and_automation_is_off(seller):
    assert not seller.prime_regions.filter(speed=Speed.ONE_DAY).exists()
    assert seller.region_automation is False


def test_monday_to_saturday_operated_with_14_00_weekday_and_10_30_saturday_cutoffs(seller):
    days = {day.weekday: (day.operated, day.cutoff) for day in seller.operating_days.all()}
    assert days == {
        Weekday.MONDAY: (True, dt.time(14, 0)),
        Weekday.TUESDAY: (True, dt.time(14, 0)),
        Weekday.WEDNESDAY: (True, dt.time(14, 0)),
        Weekday.THURSDAY: (True, dt.time(14, 0)),
        Weekday.FRIDAY: (True, dt.time(14, 0)),
        Weekday.SATURDAY: (True, dt.time(10, 30)),
        Weekday.SUNDAY: (False, None),
    }


def test_six_day_delivery_is_on(seller):
    assert seller.weekend_delivery is True


def test_one_carrier_with_17_00_pickups_on_operated_days(seller):
    carriers = list(seller.carrier_services.all())
    assert len(carriers) == 1
    pickups = dict(carriers[0].pickups.values_list("weekday", "pickup_time"))
    assert pickups == dict.fromkeys(MONDAY_TO_SATURDAY, dt.time(17, 0))


def test_the_carrier_reaches_every_region_of_the_template_in_two_days(seller):
    zones = dict(seller.carrier_services.get().zones.values_list("state", "transit_days"))
    assert zones == dict.fromkeys(CONTIGUOUS_REGIONS, 2)


def test_new_seller_starts_eligible_with_no_volume_control(seller):
    assert seller.is_eligible
    assert not seller.volume_control_changes.exists()
    assert seller.prime_badge_active()
