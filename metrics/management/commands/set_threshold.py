"""python manage.py set_threshold METRIC VALUE [--from YYYY-MM-DD] [--by USERNAME] (SPEC section 6)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError

from metrics.definitions import METRICS
from metrics.services import ThresholdError, threshold_set
from sellers.models import User


class Command(BaseCommand):
    help = (
        "Change a metric's threshold (a fraction, e.g. 0.99) from a date on (default: today in the portal's "
        "time zone); earlier days keep theirs."
    )

    def add_arguments(self, parser):
        parser.add_argument("metric", help=f"One of: {', '.join(METRICS)}.")
        parser.add_argument("value", help="The threshold as a fraction from 0 to 1, e.g. 0.99 for 99 %%.")
        parser.add_argument(
            "--from", dest="effective_from", help="The first day judged with it, YYYY-MM-DD (default: today)."
        )
        parser.add_argument("--by", help="The username of the staff member making the change, for the history.")

    def handle(self, *args, **options):
        try:
            value = Decimal(options["value"])
        except InvalidOperation:
            raise CommandError(f"{options['value']!r} is not a number: write the threshold as e.g. 0.99.") from None
        if not value.is_finite():
            raise CommandError(f"{options['value']!r} is not a number: write the threshold as e.g. 0.99.")
        effective_from = None
        if options["effective_from"]:
            try:
                effective_from = dt.date.fromisoformat(options["effective_from"])
            except ValueError:
                raise CommandError(
                    f"--from {options['effective_from']!r} is not a date: write it as YYYY-MM-DD."
                ) from None
        changed_by = None
        if options["by"]:
            changed_by = User.objects.filter(username=options["by"]).first()
            if changed_by is None:
                raise CommandError(f"--by {options['by']!r}: there is no user of that name.")
        try:
            change = threshold_set(
                metric=options["metric"], value=value, effective_from=effective_from, changed_by=changed_by
            )
        except ThresholdError as error:
            raise CommandError(str(error)) from None
        if change is None:
            self.stdout.write(f"{options['metric']} is already {value} from that day: nothing changed.")
            return
        old_value = "—" if change.old_value is None else change.old_value.normalize()  # None: none recorded
        self.stdout.write(
            self.style.SUCCESS(
                f"{change.metric}: {old_value} -> {change.new_value.normalize()} "
                f"from {change.effective_from.isoformat()}; earlier days keep theirs."
            )
        )
