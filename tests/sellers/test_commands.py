"""create_seller and seed_demo's refusals (SPEC section 6): each bad input is one clear sentence."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from sellers.models import Seller, User

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def create_seller(*args: str) -> str:
    out = io.StringIO()
    call_command("create_seller", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def valid_args(**overrides: str) -> list[str]:
    options = {"--name": "Acme Outdoor", "--username": "acme", "--password": PASSWORD, **overrides}
    token = options.pop("token", "ACME0001")
    return [token, *(part for option, value in options.items() for part in (option, value))]


def test_creates_a_seller_with_default_settings_and_a_user_who_can_log_in():
    output = create_seller(*valid_args(**{"--timezone": "Europe/Berlin", "--enrolled-on": "2026-03-01"}))

    seller = Seller.objects.get(merchant_token="ACME0001")
    assert (seller.name, seller.timezone, seller.enrolled_on) == ("Acme Outdoor", "Europe/Berlin", dt.date(2026, 3, 1))
    assert seller.operating_days.count() == 7 and seller.prime_regions.count() == 51
    user = authenticate(username="acme", password=PASSWORD)
    assert user is not None and user.seller == seller and not user.is_staff
    assert "Created seller Acme Outdoor (ACME0001)" in output and "acme" in output


def test_time_zone_defaults_to_los_angeles():
    create_seller(*valid_args())
    assert Seller.objects.get().timezone == "America/Los_Angeles"


def test_prompts_twice_for_the_password_when_not_given(monkeypatch):
    answers = iter([PASSWORD, PASSWORD])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    create_seller("ACME0001", "--name", "Acme Outdoor", "--username", "acme")
    assert authenticate(username="acme", password=PASSWORD) is not None


def test_refuses_two_different_prompted_passwords(monkeypatch):
    answers = iter([PASSWORD, PASSWORD + "x"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    with pytest.raises(CommandError, match="passwords differ"):
        create_seller("ACME0001", "--name", "Acme Outdoor", "--username", "acme")
    assert not Seller.objects.exists()


def test_refuses_when_no_password_can_be_prompted(monkeypatch):
    def no_terminal(prompt=""):
        raise EOFError

    monkeypatch.setattr("getpass.getpass", no_terminal)
    with pytest.raises(CommandError, match="pass --password"):
        create_seller("ACME0001", "--name", "Acme Outdoor", "--username", "acme")


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("acme0001", r"not a merchant token.*Did you mean ACME0001\?"),
        ("ACME", "not a merchant token.*6 to 20"),
        ("ACME-0001", "not a merchant token"),
        ("A" * 21, "not a merchant token"),
    ],
)
def test_refuses_a_bad_merchant_token(token, message):
    with pytest.raises(CommandError, match=message):
        create_seller(*valid_args(token=token))
    assert not Seller.objects.exists() and not User.objects.exists()


def test_refuses_an_unknown_time_zone():
    with pytest.raises(CommandError, match=r"'Mars/Olympus' is not a known time zone.*IANA"):
        create_seller(*valid_args(**{"--timezone": "Mars/Olympus"}))
    assert not Seller.objects.exists()


@pytest.mark.parametrize("date", ["2026-13-01", "01/03/2026", "yesterday"])
def test_refuses_a_bad_enrolment_date(date):
    with pytest.raises(CommandError, match="is not a date: write it as YYYY-MM-DD"):
        create_seller(*valid_args(**{"--enrolled-on": date}))
    assert not Seller.objects.exists()


def test_refuses_a_taken_merchant_token(seller):
    with pytest.raises(CommandError, match=f"{seller.merchant_token} is already taken by {seller.name}"):
        create_seller(*valid_args(token=seller.merchant_token, **{"--username": "someone"}))
    assert Seller.objects.count() == 1 and not User.objects.filter(username="someone").exists()


def test_refuses_a_taken_username_in_any_case(seller_user):
    with pytest.raises(CommandError, match="Username 'SELLER1' is already taken"):
        create_seller(*valid_args(**{"--username": "SELLER1"}))
    assert not Seller.objects.filter(merchant_token="ACME0001").exists()


def test_a_user_that_cannot_be_saved_leaves_no_seller_behind(monkeypatch):
    def refuse(**kwargs):
        raise ValidationError("This user cannot be saved.")

    monkeypatch.setattr("sellers.management.commands.create_seller.seller_user_create", refuse)
    with pytest.raises(CommandError, match=r"Nothing was created: This user cannot be saved\."):
        create_seller(*valid_args())
    assert not Seller.objects.exists()


def test_refuses_a_weak_password():
    with pytest.raises(CommandError, match="too weak"):
        create_seller(*valid_args(**{"--password": "12345678"}))
    assert not Seller.objects.exists()


def test_refuses_an_empty_name():
    with pytest.raises(CommandError, match="--name is empty"):
        create_seller(*valid_args(**{"--name": "  "}))


def test_seed_demo_refuses_a_database_that_already_holds_sellers(seller):
    with pytest.raises(CommandError, match="only fills an empty one"):
        call_command("seed_demo", stdout=io.StringIO())
    assert list(Seller.objects.all()) == [seller]


def test_seed_demo_can_skip_a_database_that_is_not_empty(seller):
    out = io.StringIO()
    call_command("seed_demo", "--skip-if-not-empty", stdout=out)
    assert "Not seeding the demo" in out.getvalue()
    assert list(Seller.objects.all()) == [seller]


def test_seed_demo_that_fails_halfway_leaves_the_database_empty(monkeypatch):
    def evaluation_fails(*args, **kwargs):
        raise RuntimeError("the daily evaluation broke")

    monkeypatch.setattr("metrics.management.commands.seed_demo.daily_run", evaluation_fails)
    with pytest.raises(RuntimeError):
        call_command("seed_demo", stdout=io.StringIO())
    assert not Seller.objects.exists() and not User.objects.exists()
