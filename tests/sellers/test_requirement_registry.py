"""Each programme requirement of SPEC section 2 has one record (``sellers.requirements``):
change a record and every form, check, page and sentence that speaks of it follows."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from django.urls import reverse

from sellers.forms import FulfilmentForm
from sellers.models import OperatingDay
from sellers.presenters import requirement_checks, requirement_unmet_sentence
from sellers.requirements import REQUIREMENTS, requirements_fixed_on
from sellers.selectors import seller_operating_days, seller_requirements
from sellers.services import seller_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def later_weekday_minimum(monkeypatch):
    """The weekday cutoff requirement moved from its minimum to 15:00."""
    record = dataclasses.replace(REQUIREMENTS["weekday_cutoff"], minimum_cutoff=dt.time(15, 0))
    monkeypatch.setitem(REQUIREMENTS, "weekday_cutoff", record)
    return record


def test_the_minimum_of_a_cutoff_requirement_is_read_from_its_record_everywhere(
    client, seller, seller_user, later_weekday_minimum
):
    # The check: the seller's 14:00 weekday cutoffs are now too early.
    checks = seller_requirements(seller=seller)
    assert checks.early_cutoffs["weekday_cutoff"] == [0, 1, 2, 3, 4]
    assert checks.failing == ["weekday_cutoff"]
    # The form: 14:30 on a Monday is refused with the record's minimum.
    data = {f"operated_{day}": "on" for day in range(6)} | {f"cutoff_{day}": "15:00" for day in range(5)}
    form = FulfilmentForm(
        data | {"cutoff_0": "14:30", "cutoff_5": "10:30", "weekend_delivery": "on"},
        days=seller_operating_days(seller=seller),
        weekend_delivery=True,
    )
    assert not form.is_valid()
    assert form.errors["cutoff_0"] == [
        "Monday: the cutoff 14:30 is before 15:00; the programme revokes Prime for weekday cutoffs before 15:00. "
        "Set 15:00 or later."
    ]
    # The sentences: the action, the facts, the warning after a save.
    [check] = requirement_checks(checks, ["weekday_cutoff"])
    assert check.action == "Set every operated weekday's order cutoff to 15:00 or later."
    assert check.detail == "Cutoff before 15:00 on: Monday, Tuesday, Wednesday, Thursday, Friday."
    assert requirement_unmet_sentence("weekday_cutoff") == (
        "Weekday cutoff requirement is not met. Set every operated weekday's order cutoff to 15:00 or later."
    )
    # The pages: the dashboard's check and the fulfilment page's note.
    client.force_login(seller_user)
    dashboard = client.get(reverse("metrics:dashboard")).content.decode().replace("&#x27;", "'")
    assert "Cutoff before 15:00 on: Monday" in dashboard
    assert "Set every operated weekday's order cutoff to 15:00 or later." in dashboard
    fulfilment = client.get(reverse("sellers:fulfilment")).content.decode()
    assert "Weekday cutoffs may not be earlier than 15:00, Saturday and Sunday cutoffs not earlier than 10:30." in (
        " ".join(fulfilment.split())
    )
    # A new seller starts on the record's minimum, so it passes.
    newcomer = seller_create(merchant_token="NEWCOMER1", name="Newcomer")
    assert set(OperatingDay.objects.filter(seller=newcomer, weekday__lt=5).values_list("cutoff", flat=True)) == {
        dt.time(15, 0)
    }
    assert seller_requirements(seller=newcomer).failing == []


def test_a_requirement_is_fixed_on_the_settings_page_its_record_names(seller):
    checks = requirement_checks(seller_requirements(seller=seller))
    assert [check.name for check in checks] == list(REQUIREMENTS)
    for check in checks:
        assert check.settings_url == reverse(REQUIREMENTS[check.name].settings_page)
        assert check.name in requirements_fixed_on(REQUIREMENTS[check.name].settings_page)
    assert requirements_fixed_on("sellers:carriers") == ("carrier_pickups",)


def test_only_a_warning_requirement_fails_without_revoking(seller):
    warnings = {name for name, requirement in REQUIREMENTS.items() if requirement.warning_only}
    assert warnings == {"carrier_pickups"}
    seller.carrier_services.get().pickups.filter(weekday=2).delete()
    checks = seller_requirements(seller=seller)
    assert checks.failing == [] and checks.warnings == ["carrier_pickups"]
    [check] = requirement_checks(checks, ["carrier_pickups"])
    assert check.warning and not check.passing
