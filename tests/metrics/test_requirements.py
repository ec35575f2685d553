"""Programme requirements checked from settings (SPEC section 2), one test a check."""

from __future__ import annotations

import datetime as dt

import pytest

from sellers.choices import Speed
from sellers.models import OperatingDay, PrimeRegion
from sellers.selectors import requirements_for_sellers, seller_requirements

pytestmark = pytest.mark.django_db


def test_new_seller_passes_every_requirement(seller):
    checks = seller_requirements(seller=seller)
    assert all(checks.passing.values()), checks.passing
    assert (checks.covered_regions, checks.one_day_regions, checks.two_day_regions) == (49, 0, 49)


def test_nationwide_coverage_fails_without_one_contiguous_state(seller):
    PrimeRegion.objects.filter(seller=seller, state="TX").update(speed=Speed.NOT_OFFERED)
    checks = seller_requirements(seller=seller)
    assert not checks.passing["nationwide_coverage"] and checks.failing == ["nationwide_coverage"]


def test_nationwide_coverage_ignores_alaska_and_hawaii(seller):
    PrimeRegion.objects.filter(seller=seller, state__in=["AK", "HI"]).update(speed=Speed.NOT_OFFERED)
    PrimeRegion.objects.filter(seller=seller, state="DC").update(speed=Speed.ONE_DAY)
    checks = seller_requirements(seller=seller)
    assert checks.passing["nationwide_coverage"] and checks.one_day_regions == 1


def test_weekday_cutoff_before_14_fails_and_at_14_passes(seller):
    OperatingDay.objects.filter(seller=seller, weekday=3).update(cutoff=dt.time(13, 59))
    assert seller_requirements(seller=seller).early_cutoffs["weekday_cutoff"] == [3]
    OperatingDay.objects.filter(seller=seller, weekday=3).update(cutoff=dt.time(14, 0))
    assert seller_requirements(seller=seller).passing["weekday_cutoff"]


def test_weekend_cutoff_before_1030_fails(seller):
    OperatingDay.objects.filter(seller=seller, weekday=5).update(cutoff=dt.time(10, 29))
    checks = seller_requirements(seller=seller)
    assert checks.failing == ["weekend_cutoff"] and checks.early_cutoffs["weekend_cutoff"] == [5]


def test_sunday_instead_of_saturday_is_six_day_operations(seller):
    OperatingDay.objects.filter(seller=seller, weekday=5).update(operated=False, cutoff=None)
    OperatingDay.objects.filter(seller=seller, weekday=6).update(operated=True, cutoff=dt.time(11, 0))
    checks = seller_requirements(seller=seller)
    assert checks.passing["weekend_operations"] and checks.passing["weekend_cutoff"]


def test_no_weekend_day_fails_weekend_operations(seller):
    OperatingDay.objects.filter(seller=seller, weekday=5).update(operated=False)
    assert seller_requirements(seller=seller).failing == ["weekend_operations"]


def test_a_closed_weekday_fails_weekend_operations(seller):
    OperatingDay.objects.filter(seller=seller, weekday=1).update(operated=False)
    assert seller_requirements(seller=seller).failing == ["weekend_operations"]


def test_weekend_delivery_off_fails(seller):
    seller.weekend_delivery = False
    seller.save()
    assert seller_requirements(seller=seller).failing == ["weekend_delivery"]


def test_pickup_before_cutoff_is_a_warning_not_a_failure(seller):
    seller.carrier_services.get().pickups.filter(weekday=4).update(pickup_time=dt.time(13, 0))
    checks = seller_requirements(seller=seller)
    assert checks.failing == [] and checks.warnings == ["carrier_pickups"]
    assert checks.days_without_pickup == [4]


def test_pickup_at_the_cutoff_passes(seller):
    seller.carrier_services.get().pickups.filter(weekday=4).update(pickup_time=dt.time(14, 0))
    assert seller_requirements(seller=seller).passing["carrier_pickups"]


def test_all_sellers_are_checked_in_a_fixed_number_of_queries(seller, other_seller, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        checks = requirements_for_sellers()
    assert set(checks) == {seller.pk, other_seller.pk}
