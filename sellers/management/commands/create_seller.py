"""python manage.py create_seller MERCHANT_TOKEN --name NAME [--timezone TZ] [--enrolled-on DATE]
--username U [--password P]: a seller with the default settings and a user of it (SPEC section 6)."""

from __future__ import annotations

import datetime as dt
import getpass
import zoneinfo

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError, transaction
from django.utils import timezone

from portal.bounds import EARLIEST_DATE, EXCERPT_LENGTH, date_in_range, excerpt
from sellers.models import DEFAULT_SELLER_TIMEZONE, Seller, User, merchant_token_validator
from sellers.services import seller_create, seller_user_create


def _sentences(error: ValidationError) -> str:
    return " ".join(str(message) for message in error.messages)


def _check_text(option: str, value: str, model_field) -> None:
    """Refuse a text option the model field would refuse, naming the option."""
    if "\x00" in value:
        raise CommandError(f"{option} contains a NUL character, which cannot be stored: retype it.")
    try:
        model_field.clean(value, None)
    except ValidationError as error:
        raise CommandError(f"{option} {excerpt(value)!r} cannot be used: {_sentences(error)}") from None


class Command(BaseCommand):
    help = (
        "Create a seller (with settings that meet every programme requirement) and a user account of it. "
        "Without --password the password is asked for twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("merchant_token", metavar="MERCHANT_TOKEN", help="6-20 upper-case letters and digits.")
        parser.add_argument("--name", required=True, help="The seller's name.")
        parser.add_argument(
            "--timezone", default=DEFAULT_SELLER_TIMEZONE, help=f"IANA time zone (default {DEFAULT_SELLER_TIMEZONE})."
        )
        parser.add_argument("--enrolled-on", help="Enrolment date YYYY-MM-DD (default today).")
        parser.add_argument("--username", required=True, help="Login of the seller's user.")
        parser.add_argument("--password", help="The user's password (default: prompt).")

    def handle(self, *args, **options):
        merchant_token = options["merchant_token"].strip()
        name = options["name"].strip()
        timezone_name = options["timezone"].strip()
        username = options["username"].strip()

        try:
            merchant_token_validator(merchant_token)
        except ValidationError as error:
            hint = (
                f" Did you mean {merchant_token.upper()}?"
                if merchant_token.upper() != merchant_token and len(merchant_token) <= EXCERPT_LENGTH
                else ""
            )
            raise CommandError(
                f"{excerpt(merchant_token)!r} is not a merchant token: {_sentences(error)}{hint}"
            ) from None
        if not name:
            raise CommandError("--name is empty: give the seller's name, e.g. --name 'Acme Outdoor'.")
        _check_text("--name", name, Seller._meta.get_field("name"))
        try:
            zoneinfo.ZoneInfo(timezone_name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            raise CommandError(
                f"--timezone {excerpt(timezone_name)!r} is not a known time zone: use an IANA name such as "
                "America/Los_Angeles, America/New_York or Europe/Berlin."
            ) from None
        enrolled_on = None
        if options["enrolled_on"] is not None:
            today = timezone.localdate()
            try:
                enrolled_on = dt.date.fromisoformat(options["enrolled_on"].strip())
            except ValueError:
                raise CommandError(
                    f"--enrolled-on {excerpt(options['enrolled_on'])!r} is not a date: write it as YYYY-MM-DD, "
                    "e.g. 2026-01-31, or leave the option out for today."
                ) from None
            if not date_in_range(enrolled_on, latest=today):
                raise CommandError(
                    f"--enrolled-on {enrolled_on.isoformat()} is out of range: give the day the seller enrolled, "
                    f"from {EARLIEST_DATE} to today, {today.isoformat()}."
                )
        if not username:
            raise CommandError("--username is empty: give the login of the seller's user.")
        _check_text("--username", username, User._meta.get_field("username"))

        existing = Seller.objects.filter(merchant_token=merchant_token).first()
        if existing:
            raise CommandError(
                f"Merchant token {merchant_token} is already taken by {existing.name}: choose another token."
            )
        if User.objects.filter(username__iexact=username).exists():
            raise CommandError(f"Username {username!r} is already taken: choose another --username.")

        password = options["password"] if options["password"] is not None else self._prompt_password()
        try:
            password_validation.validate_password(password, User(username=username))
        except ValidationError as error:
            raise CommandError(f"That password is too weak: {_sentences(error)}") from None

        try:
            with transaction.atomic():
                seller = seller_create(
                    merchant_token=merchant_token, name=name, timezone_name=timezone_name, enrolled_on=enrolled_on
                )
                user = seller_user_create(seller=seller, username=username, password=password)
        except ValidationError as error:
            raise CommandError(f"Nothing was created: {_sentences(error)}") from None
        except IntegrityError:
            # Another process took the token or username between the checks and the insert.
            raise CommandError(
                f"Nothing was created: merchant token {merchant_token} or username {username!r} "
                "was taken meanwhile. Choose another and try again."
            ) from None

        self.stdout.write(
            self.style.SUCCESS(
                f"Created seller {seller.name} ({seller.merchant_token}), time zone {seller.timezone}, "
                f"enrolled on {seller.enrolled_on.isoformat()}, with user {user.username}."
            )
        )

    def _prompt_password(self) -> str:
        try:
            password = getpass.getpass("Password: ")
            again = getpass.getpass("Password (again): ")
        except (EOFError, KeyboardInterrupt):
            raise CommandError("No password given: pass --password, or run the command in a terminal.") from None
        if not password:
            raise CommandError("The password is empty: nothing was created.")
        if password != again:
            raise CommandError("The two passwords differ: nothing was created. Run the command again.")
        return password
