"""python manage.py run_daily [--date YYYY-MM-DD]: the daily evaluation, synchronously."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from metrics.services import daily_run, portal_yesterday


class Command(BaseCommand):
    help = "Compute metric snapshots for D (default: yesterday) for every seller and evaluate eligibility."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="The evaluation date D, YYYY-MM-DD (default: yesterday).")
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=None,
            help="Sellers per chunk, as the Celery workers split the work (default: all sellers in one chunk).",
        )

    def handle(self, *args, **options):
        day = portal_yesterday()
        if options["date"]:
            try:
                day = dt.date.fromisoformat(options["date"])
            except ValueError:
                raise CommandError(f"--date {options['date']!r} is not a date: write it as YYYY-MM-DD.") from None
        if options["chunk_size"] is not None and options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1.")

        def progress(done: int, total: int) -> None:
            if total > 1:
                self.stderr.write(f"  chunk {done}/{total}")

        result = daily_run(day=day, chunk_size=options["chunk_size"], progress=progress)
        self.stdout.write(
            self.style.SUCCESS(
                f"Evaluated {result.evaluated} sellers for {day.isoformat()}: "
                f"{result.snapshots} snapshots stored, {len(result.revoked)} newly not eligible."
            )
        )
        if result.waiting:
            self.stdout.write(
                self.style.WARNING(
                    f"{len(result.waiting)} sellers not evaluated: {day.isoformat()} has not ended in their time zone "
                    f"yet. Run this again after {result.waiting_until.isoformat()}."
                )
            )
