"""python manage.py run_daily [--date YYYY-MM-DD]: the daily evaluation, synchronously."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from metrics.services import daily_run, portal_yesterday
from portal.bounds import EARLIEST_DATE, date_in_range, excerpt
from portal.routers import replica_mark_written

# Sellers per chunk: at least one. The upper bound only catches a typo: leaving the option
# out already puts every seller in one chunk.
CHUNK_SIZE_MAX = 1_000_000


class Command(BaseCommand):
    help = "Compute metric snapshots for D (default: yesterday) for every seller and evaluate eligibility."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="The evaluation date D, YYYY-MM-DD (default: yesterday).")
        parser.add_argument(
            "--chunk-size",
            default=None,
            help=(
                f"Sellers per chunk, 1 to {CHUNK_SIZE_MAX}, as the Celery workers split the work "
                "(default: all sellers in one chunk)."
            ),
        )

    def handle(self, *args, **options):
        yesterday = portal_yesterday()
        day = yesterday
        if options["date"] is not None:
            try:
                day = dt.date.fromisoformat(options["date"].strip())
            except ValueError:
                raise CommandError(
                    f"--date {excerpt(options['date'])!r} is not a date: write it as YYYY-MM-DD, "
                    f"e.g. {yesterday.isoformat()}."
                ) from None
            if not date_in_range(day, latest=yesterday):
                raise CommandError(
                    f"--date {day.isoformat()} is out of range: D is a finished day from {EARLIEST_DATE} to "
                    f"yesterday, {yesterday.isoformat()}."
                )
        chunk_size = None
        if options["chunk_size"] is not None:
            raw = str(options["chunk_size"]).strip()
            chunk_size = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else 0
            if not 1 <= chunk_size <= CHUNK_SIZE_MAX:
                raise CommandError(
                    f"--chunk-size {excerpt(raw)!r} is not a number of sellers from 1 to "
                    f"{CHUNK_SIZE_MAX}: give e.g. --chunk-size 1000, or leave it out for one chunk."
                )

        def progress(done: int, total: int) -> None:
            if total > 1:
                self.stderr.write(f"  chunk {done}/{total}")

        result = daily_run(day=day, chunk_size=chunk_size, progress=progress)
        # Every seller's pages read the new figures from the primary until a read replica has them.
        replica_mark_written(seller_ids=None)
        self.stdout.write(
            self.style.SUCCESS(
                f"Evaluated {result.evaluated} sellers for {day.isoformat()}: "
                f"{result.snapshots} snapshots stored, {len(result.revoked)} newly not eligible, "
                f"{len(result.entered_at_risk)} newly at risk."
            )
        )
        if result.waiting_until is not None:  # set exactly when some sellers wait
            self.stdout.write(
                self.style.WARNING(
                    f"{len(result.waiting)} sellers not evaluated: {day.isoformat()} has not ended in their time zone "
                    f"yet. Run this again after {result.waiting_until.isoformat()}."
                )
            )
