"""``manage.py create_integration_token NAME``: a token with which a system writes to the
data feed (SPEC section 9), printed once."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from feed.models import IntegrationToken
from feed.services import integration_token_create
from portal.bounds import excerpt

NAME_MAX = IntegrationToken._meta.get_field("name").max_length or 0


class Command(BaseCommand):
    help = (
        "Create an integration token for the data feed (POST /api/v1/orders and /api/v1/tracking-events) and print "
        "it once: only its hash is stored. Revoke it in the admin (Integration tokens)."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="what the token is for, e.g. 'Marketplace orders' or 'EasyPost tracking'")

    def handle(self, *args, name: str, **options):
        name = name.strip()
        if not name:
            raise CommandError("The name is empty; name what the token is for, e.g. 'Marketplace orders'.")
        if len(name) > NAME_MAX:
            raise CommandError(f"The name '{excerpt(name)}' is {len(name)} characters long; use at most {NAME_MAX}.")
        if "\x00" in name:
            raise CommandError("The name contains a NUL character; retype it.")
        token, raw = integration_token_create(name=name)
        self.stdout.write(f"Integration token '{token.name}' created ({token.prefix}…). It is shown only now:")
        self.stdout.write(raw)
        self.stdout.write(
            "Send it as 'Authorization: Bearer <token>'; revoke it in the admin under Integration tokens."
        )
