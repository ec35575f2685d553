"""The world the tests act in: a seller and their user, a second seller, a reviewer, an outsider."""

from __future__ import annotations

import datetime as dt

import pytest

from sellers.factories import orders_save
from sellers.services import seller_create, seller_user_create
from tests.clock import NOW, Clock


@pytest.fixture
def seller(db):
    return seller_create(merchant_token="SELLER01", name="First Seller", enrolled_on=dt.date(2026, 1, 1))


@pytest.fixture
def seller_user(seller):
    return seller_user_create(seller=seller, username="seller1", password="correct horse battery 1")


@pytest.fixture
def other_seller(db):
    return seller_create(
        merchant_token="SELLER02", name="Second Seller", timezone_name="Europe/Berlin", enrolled_on=dt.date(2026, 1, 1)
    )


@pytest.fixture
def other_seller_user(other_seller):
    return seller_user_create(seller=other_seller, username="seller2", password="correct horse battery 2")


@pytest.fixture
def reviewer(db, django_user_model):
    """Programme staff with the permission to review plans of action."""
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user(
        username="reviewer", password="reviewer pass 1", is_staff=True, email="reviewer@programme.example"
    )
    user.user_permissions.add(Permission.objects.get(codename="review_plan", content_type__app_label="metrics"))
    return user


@pytest.fixture
def staff_without_review(db, django_user_model):
    """Programme staff who may use the admin but not review plans."""
    return django_user_model.objects.create_user(username="staff", password="staff pass 1", is_staff=True)


@pytest.fixture
def outsider(db, django_user_model):
    return django_user_model.objects.create_user(username="outsider", password="outsider pass 1")


@pytest.fixture
def make_orders(db):
    """Save orders and decide which are Prime, as the import does."""
    return orders_save


@pytest.fixture
def clock():
    """Time stands still at NOW (07:00 on Nov. 21 in Los Angeles, the morning after D) for
    everything that reads it; ``clock.move_to(moment)`` and ``clock.shift(delta)`` move it."""
    with Clock(NOW) as frozen:
        yield frozen


@pytest.fixture(autouse=True)
def english_by_default():
    """Each test starts in the portal's default language: a request made in German by an
    earlier test must not leave German active for the next one in the same process."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture
def locmem_cache(settings):
    """A real (local memory) cache instead of the tests' DummyCache, empty before and after."""
    from django.core.cache import cache

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "tests"}}
    cache.clear()
    yield cache
    cache.clear()
