"""python manage.py seed_demo: demonstration sellers, 60 days of orders, history, a reviewer
and an admin, then the logins (SPEC section 6). The data itself is built in ``sellers.demo``;
the command lives in metrics because it also computes the demo's metrics."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from metrics.services import daily_run, snapshots_compute
from sellers.demo import DEMO_SELLERS, database_empty, demo_create, demo_logins, demo_present
from sellers.models import AuditEntry, Seller, SellerEvent
from sellers.services import orders_classify_prime

# Days of metrics computed after seeding, so the dashboard has a recent history; the last
# of them (yesterday) is evaluated.
EVALUATED_DAYS = 30


def _date_revocations(seller_ids: list[int], day: dt.date) -> None:
    """A replayed revocation carries the moment the scheduled run would have made it (02:30
    the day after D, portal time), not the moment the demo was seeded, so "not eligible
    since" reads true; never a moment still to come (seeded before 02:30), which would read
    false and stay the seller's newest audit entry, so the pages' cache key (the latest entry)
    would not move when the seller reports an incident or a reviewer decides one."""
    if not seller_ids:
        return
    moment = min(timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time(2, 30))), timezone.now())
    Seller.objects.filter(pk__in=seller_ids).update(status_changed_at=moment)
    # The revocations are entries of the audit history (the status history is a view of them).
    AuditEntry.objects.filter(
        seller_id__in=seller_ids,
        action=AuditEntry.Action.STATUS_CHANGED,
        after__kind=SellerEvent.Kind.REVOKED,
        after__day=day.isoformat(),
    ).update(created_at=moment)
    # The badge went off at that moment: the orders placed since are not Prime orders.
    orders_classify_prime(seller_ids=seller_ids, since=day)


class Command(BaseCommand):
    help = (
        "Fill an empty database with demonstration sellers, orders, history, a reviewer and an admin, "
        "and print their logins. Running it again changes nothing. Demo passwords are public: "
        "never run it against a production database."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--skip-if-not-empty",
            action="store_true",
            help="On a database that already holds other sellers, say so and exit successfully instead of refusing.",
        )

    def handle(self, *args, **options):
        if demo_present():
            self.stdout.write("The demo is already there; nothing changed.")
            self._print_logins()
            return
        if not database_empty():
            message = (
                f"This database already holds {Seller.objects.count()} sellers or demo accounts, and seed_demo "
                "only fills an empty one. Point DATABASE_URL at a new database (or, for the project's own PostgreSQL, "
                "delete var/postgres) and run it again."
            )
            if options["skip_if_not_empty"]:
                self.stdout.write(self.style.WARNING(f"Not seeding the demo: {message}"))
                return
            raise CommandError(message)

        today = timezone.localdate()
        # All or nothing: a demo without its evaluations would count as "already there".
        with transaction.atomic():
            self.stdout.write(f"Seeding the demo: {len(DEMO_SELLERS)} sellers, 60 days of orders up to yesterday...")
            result = demo_create(today=today)
            self.stdout.write(f"Created {result.sellers} sellers and {result.orders} orders.")

            # The trend's history, then yesterday's evaluation as this morning's run made it: a
            # failing seller was revoked this morning, so every order of the demo (up to
            # yesterday) was placed with the badge on and counts (SPEC section 3).
            self.stdout.write(f"Computing the metrics of the last {EVALUATED_DAYS} days...")
            for offset in range(EVALUATED_DAYS, 1, -1):
                snapshots_compute(day=today - dt.timedelta(days=offset))
            yesterday = today - dt.timedelta(days=1)
            self.stdout.write(f"Evaluating {yesterday.isoformat()}...")
            run = daily_run(day=yesterday)
            _date_revocations(run.revoked, yesterday)
        for seller in Seller.objects.filter(merchant_token__in=[s.merchant_token for s in DEMO_SELLERS]):
            self.stdout.write(f"  {seller.merchant_token:<12} {seller.name:<26} {seller.get_status_display()}")

        self.stdout.write(self.style.SUCCESS("The demo is ready."))
        self._print_logins()

    def _print_logins(self) -> None:
        self.stdout.write("")
        self.stdout.write(self.style.MIGRATE_HEADING("Demo logins (demo-only passwords) at /accounts/login/:"))
        for login in demo_logins():
            self.stdout.write(f"  {login.username:<10} {login.password:<16} {login.role}")
