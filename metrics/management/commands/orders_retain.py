"""python manage.py orders_retain [--days N] [--archive PATH] [--dry-run] [--batch-size N]:
remove the orders no recompute of the last N days can count (``metrics.retention``)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from metrics.retention import (
    BATCH_SIZE,
    BATCH_SIZE_MAX,
    RetentionError,
    RetentionPlan,
    orders_retain,
    orders_retention_plan,
    retention_archive_check,
)
from portal.bounds import ORDER_RETENTION_DAYS_MAX, ORDER_RETENTION_DAYS_MIN, excerpt

# A path is quoted back whole unless it is longer than any real one.
PATH_EXCERPT_LENGTH = 300


def _whole_number(raw: str, *, minimum: int, maximum: int) -> int | None:
    """``raw`` as a whole number from ``minimum`` to ``maximum``, else None."""
    raw = raw.strip()
    value = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else None
    return value if value is not None and minimum <= value <= maximum else None


class Command(BaseCommand):
    help = (
        "Remove the orders that no recompute of the last N days (default ORDER_RETENTION_DAYS) can count, "
        "in short batches, optionally archiving them first; snapshots are kept."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            help=(
                f"The days that stay recomputable, ending yesterday: {ORDER_RETENTION_DAYS_MIN} to "
                f"{ORDER_RETENTION_DAYS_MAX} (default: ORDER_RETENTION_DAYS, now {settings.ORDER_RETENTION_DAYS})."
            ),
        )
        parser.add_argument(
            "--archive",
            help="A new file to write the removed orders to first, gzip'd CSV in the import format (e.g. old.csv.gz).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Count what would be removed; remove nothing.")
        parser.add_argument(
            "--batch-size", default=str(BATCH_SIZE), help=f"Orders per transaction, 1 to {BATCH_SIZE_MAX}."
        )

    def handle(self, *args, **options):
        days = settings.ORDER_RETENTION_DAYS
        if options["days"] is not None:
            parsed = _whole_number(options["days"], minimum=ORDER_RETENTION_DAYS_MIN, maximum=ORDER_RETENTION_DAYS_MAX)
            if parsed is None:
                raise CommandError(
                    f"--days {excerpt(options['days'])!r} is not a number of days from {ORDER_RETENTION_DAYS_MIN} to "
                    f"{ORDER_RETENTION_DAYS_MAX}: give e.g. --days {settings.ORDER_RETENTION_DAYS}, or leave it out "
                    "for ORDER_RETENTION_DAYS."
                )
            days = parsed
        batch_size = _whole_number(options["batch_size"], minimum=1, maximum=BATCH_SIZE_MAX)
        if batch_size is None:
            raise CommandError(
                f"--batch-size {excerpt(options['batch_size'])!r} is not a number of orders from 1 to "
                f"{BATCH_SIZE_MAX}: give e.g. --batch-size {BATCH_SIZE}."
            )
        archive = Path(options["archive"]) if options["archive"] else None
        today = timezone.localdate()

        if options["dry_run"]:
            if archive is not None:
                try:
                    retention_archive_check(archive)
                except RetentionError as error:
                    raise CommandError(str(error)) from None
            plan = orders_retention_plan(days=days, today=today)
            if not plan.orders:
                self.stdout.write(f"Nothing to remove: {self._kept_sentence(plan)}")
                return
            self.stdout.write(f"Dry run, nothing removed. {self._plan_sentence(plan)}")
            if archive is not None:
                self.stdout.write(f"They would be archived to {excerpt(str(archive), PATH_EXCERPT_LENGTH)} first.")
            return

        def progress(removed: int, planned: int) -> None:
            if options["verbosity"] > 0 and planned > batch_size:
                self.stderr.write(f"  removed {removed:,} of {planned:,} orders ({100 * removed // planned}%)")

        try:
            result = orders_retain(days=days, today=today, archive=archive, batch_size=batch_size, progress=progress)
        except RetentionError as error:
            raise CommandError(str(error)) from None
        plan = result.plan
        if result.removed == 0:
            self.stdout.write(f"Nothing to remove: {self._kept_sentence(plan)}")
            if archive is not None:
                self.stdout.write("No archive was written.")
            return
        removed = f"Removed {result.removed:,} orders purchased before {plan.cut.isoformat()};"
        self.stdout.write(self.style.SUCCESS(f"{removed} {self._kept_sentence(plan)}"))
        if result.archive is not None:
            self.stdout.write(f"Archived them to {excerpt(str(result.archive), PATH_EXCERPT_LENGTH)}.")

    @staticmethod
    def _kept_sentence(plan: RetentionPlan) -> str:
        return (
            f"every order purchased from {plan.cut.isoformat()} on is kept, so each of the last {plan.days} days "
            f"(from {plan.oldest_day.isoformat()}) can be recomputed as before; snapshots are kept."
        )

    def _plan_sentence(self, plan: RetentionPlan) -> str:
        return (
            f"Would remove {plan.orders:,} orders of {plan.sellers:,} sellers purchased before "
            f"{plan.cut.isoformat()} (the earliest on {plan.earliest.isoformat() if plan.earliest else '-'}); "
            f"{self._kept_sentence(plan)}"
        )
