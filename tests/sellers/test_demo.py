"""seed_demo (SPEC section 6): the demo sellers tell the stories they claim, and a rerun changes nothing.

Seeding takes a few seconds, so one seeded database serves the whole module: the data is
committed once with the clock fixed, each test reads it inside its own rolled-back
transaction, and the module removes it at the end.
"""

from __future__ import annotations

import datetime as dt
import io
import zoneinfo
from collections import Counter
from types import SimpleNamespace

import pytest
from django.contrib.auth import authenticate
from django.core import mail
from django.core.management import call_command

from metrics.definitions import METRIC_DEFINITIONS, WINDOWS
from metrics.models import MetricSnapshot
from metrics.selectors import metric_counts, thresholds_in_force
from sellers.choices import CancelledBy, ProgrammeStatus, Weekday
from sellers.demo import DEMO_PASSWORD, DEMO_SELLERS, _orders, demo_usernames
from sellers.models import OperatingDay, Order, Seller, SellerEvent, User, VolumeControlChange
from sellers.selectors import requirements_for_sellers
from tests.clock import Clock

# The clock during seeding: the demo's "yesterday" is TODAY - 1 in the portal's time zone.
NOW = dt.datetime(2026, 11, 21, 9, 30, tzinfo=zoneinfo.ZoneInfo("America/Los_Angeles"))
TODAY = dt.date(2026, 11, 21)
YESTERDAY = TODAY - dt.timedelta(days=1)
HEALTHY, LATE_SHIPMENTS, CANCELLATIONS, BROKEN_SETTINGS = (s.merchant_token for s in DEMO_SELLERS)

# Every test here is a database test, so pytest-django keeps them together (it moves
# database-free tests to the end of the run, which would seed a second time).
pytestmark = pytest.mark.django_db


def seed_demo(*args: str) -> str:
    out = io.StringIO()
    with Clock(NOW):
        call_command("seed_demo", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def demo_remove() -> None:
    Seller.objects.all().delete()  # cascades to orders, settings, users, snapshots, events
    User.objects.filter(username__in=demo_usernames()).delete()


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        demo_remove()
        mail.outbox = []
        output = seed_demo()
    yield SimpleNamespace(output=output, emails=list(mail.outbox))
    with django_db_blocker.unblock():
        demo_remove()


@pytest.fixture
def demo(seeded, db):
    return {seller.merchant_token: seller for seller in Seller.objects.all()}


def passing(seller: Seller, day: dt.date = YESTERDAY) -> dict[tuple[str, int], bool]:
    counts = metric_counts(day=day, seller_ids=[seller.pk])
    thresholds = thresholds_in_force(day)
    return {
        (name, window): METRIC_DEFINITIONS[name].passes(
            population=c.population, defects=c.defects, protected=c.protected, threshold=thresholds[name]
        )
        for window in WINDOWS
        for name, c in counts[(seller.pk, window)].items()
    }


def failing(seller: Seller) -> set[str]:
    return {name for (name, _window), ok in passing(seller).items() if not ok}


def test_creates_the_demo_sellers_each_with_a_user_who_can_log_in(demo):
    assert set(demo) == {s.merchant_token for s in DEMO_SELLERS}
    for profile in DEMO_SELLERS:
        user = authenticate(username=profile.username, password=DEMO_PASSWORD)
        assert user is not None and user.seller == demo[profile.merchant_token]
        assert not user.is_staff


def test_creates_a_staff_reviewer_and_a_superuser(demo):
    reviewer = authenticate(username="reviewer", password=DEMO_PASSWORD)
    assert reviewer.is_staff and not reviewer.is_superuser and reviewer.seller is None
    assert reviewer.has_perm("metrics.review_plan")
    admin = authenticate(username="admin", password=DEMO_PASSWORD)
    assert admin.is_staff and admin.is_superuser and admin.seller is None


def test_prints_every_login_with_its_password(seeded, db):
    for username in demo_usernames():
        assert any(username in line and DEMO_PASSWORD in line for line in seeded.output.splitlines()), username


def test_replaying_the_evaluations_mails_nobody(seeded, db):
    assert seeded.emails == []


def test_orders_cover_the_60_days_ending_yesterday(demo):
    for seller in demo.values():
        per_day = Counter(Order.objects.filter(seller=seller).values_list("purchase_date", flat=True))
        assert sorted(per_day) == [YESTERDAY - dt.timedelta(days=n) for n in range(59, -1, -1)]
        assert all(15 <= count <= 70 for count in per_day.values()), per_day


def test_orders_look_like_real_orders(demo):
    orders = Order.objects.filter(seller__in=demo.values())
    assert set(orders.values_list("units", flat=True)) == {1, 2, 3}
    assert orders.values("carrier").exclude(carrier="").distinct().count() >= 5
    assert orders.values("ship_to_state").distinct().count() >= 40
    shipped = orders.filter(first_scan_at__isnull=False)
    assert shipped.filter(buy_shipping=True).count() / shipped.count() > 0.98
    assert shipped.exclude(tracking_id="").count() / shipped.count() > 0.98
    assert orders.filter(ship_confirmed_at__isnull=False).count() / orders.count() > 0.9
    # Nothing has happened after the clock's "now".
    for field in ("purchased_at", "first_scan_at", "ship_confirmed_at", "delivered_at", "cancelled_at"):
        assert not orders.filter(**{f"{field}__gt": NOW}).exists(), field


def test_cancellations_follow_the_import_rules(demo):
    orders = Order.objects.filter(seller__in=demo.values())
    by_customer = orders.filter(cancelled_by=CancelledBy.CUSTOMER)
    assert by_customer.exists()
    assert all(o.cancelled_at - o.purchased_at <= dt.timedelta(minutes=30) for o in by_customer)
    requested = orders.filter(cancelled_by=CancelledBy.SELLER, cancel_requested_at__isnull=False)
    assert requested.exists() and all(o.cancel_requested_at <= o.cancelled_at for o in requested)
    cancelled = orders.exclude(cancelled_by="")
    assert not cancelled.filter(first_scan_at__isnull=False).exists()
    assert not cancelled.filter(cancelled_at__isnull=True).exists()
    assert not orders.filter(delivered_at__isnull=False, first_scan_at__isnull=True).exists()


def test_promises_never_precede_the_purchase_date(demo):
    for order in Order.objects.filter(seller__in=demo.values()).only(
        "purchase_date", "promised_ship_date", "promised_delivery_date"
    ):
        assert order.purchase_date <= order.promised_ship_date < order.promised_delivery_date


def test_healthy_seller_passes_every_metric_and_requirement(demo):
    seller = demo[HEALTHY]
    assert failing(seller) == set()
    assert requirements_for_sellers(seller_ids=[seller.pk])[seller.pk].passing == dict.fromkeys(
        ["nationwide_coverage", "weekday_cutoff", "weekend_cutoff", "weekend_operations", "weekend_delivery",
         "carrier_pickups"], True
    )  # fmt: skip


def test_late_shipment_seller_fails_on_time_shipment_with_late_scans_delivered_late(demo):
    seller = demo[LATE_SHIPMENTS]
    assert failing(seller) == {"on_time_shipment_rate"}
    late_scans = [
        o
        for o in Order.objects.filter(seller=seller, first_scan_date__isnull=False)
        if o.first_scan_date > o.promised_ship_date
    ]
    assert len(late_scans) > 50
    # Most arrive late too; a few make it anyway (shipped on a Sunday, say), and count as on time.
    delivered = [o for o in late_scans if o.delivered_date]
    delivered_late = [o for o in delivered if o.delivered_date > o.promised_delivery_date]
    assert len(delivered_late) > 0.8 * len(delivered)


def test_cancellation_seller_fails_the_cancellation_rate(demo):
    seller = demo[CANCELLATIONS]
    assert failing(seller) == {"cancellation_rate"}
    assert (
        Order.objects.filter(seller=seller, cancelled_by=CancelledBy.SELLER, cancel_requested_at__isnull=True).count()
        > 20
    )


def test_requirement_breaking_seller_has_an_early_weekday_cutoff_and_no_weekend(demo):
    seller = demo[BROKEN_SETTINGS]
    early = OperatingDay.objects.filter(
        seller=seller, operated=True, weekday__lte=Weekday.FRIDAY, cutoff__lt=dt.time(14, 0)
    )
    assert early.exists()
    assert not OperatingDay.objects.filter(seller=seller, operated=True, weekday__gte=Weekday.SATURDAY).exists()
    checks = requirements_for_sellers(seller_ids=[seller.pk])[seller.pk]
    assert set(checks.failing) == {"weekday_cutoff", "weekend_operations"}
    others = requirements_for_sellers(seller_ids=[s.pk for s in demo.values() if s != seller])
    assert all(not checks.failing for checks in others.values())


def test_healthy_seller_has_a_one_day_pause_and_a_daily_cap(demo):
    seller = demo[HEALTHY]
    changes = list(VolumeControlChange.objects.filter(seller=seller).order_by("effective_at"))
    assert [(c.paused, c.daily_cap) for c in changes] == [(True, None), (False, 50)]
    # Made through the settings' own service: the history page lists both, when they were made.
    from sellers.models import AuditEntry

    audited = AuditEntry.objects.filter(seller=seller, action=AuditEntry.Action.VOLUME_CONTROL).order_by("created_at")
    assert [entry.created_at for entry in audited] == [c.effective_at for c in changes]
    pause = changes[0]
    assert pause.paused_until - pause.effective_at in (
        dt.timedelta(hours=23),
        dt.timedelta(hours=24),
        dt.timedelta(hours=25),
    )
    paused_day = seller.local_date(pause.effective_at)
    on_paused_day = Order.objects.filter(seller=seller, purchase_date=paused_day)
    assert on_paused_day.exists() and not on_paused_day.filter(is_prime=True).exists()
    # Past the cap, a day's later orders are not Prime orders; before the cap no order is shielded.
    non_prime = Order.objects.filter(seller=seller, is_prime=False).exclude(purchase_date=paused_day)
    assert non_prime.exists() and all(o.purchased_at >= changes[1].effective_at for o in non_prime)
    # The other sellers' orders are Prime orders until their revocation, and not after it
    # (SPEC section 3: the badge is off while not eligible).
    for other in Seller.objects.exclude(pk=seller.pk):
        revoked_at = SellerEvent.objects.filter(seller=other, kind=SellerEvent.Kind.REVOKED).order_by("created_at")
        revoked_at = revoked_at.values_list("created_at", flat=True).first()
        orders = Order.objects.filter(seller=other)
        if revoked_at is None:
            assert not orders.filter(is_prime=False).exists()
        else:
            assert not orders.filter(is_prime=False, purchased_at__lt=revoked_at).exists()
            assert not orders.filter(is_prime=True, purchased_at__gte=revoked_at).exists()


def test_daily_evaluation_history_revokes_exactly_the_failing_sellers(demo):
    statuses = {token: seller.status for token, seller in demo.items()}
    assert statuses == {
        HEALTHY: ProgrammeStatus.ELIGIBLE,
        LATE_SHIPMENTS: ProgrammeStatus.NOT_ELIGIBLE,
        CANCELLATIONS: ProgrammeStatus.NOT_ELIGIBLE,
        BROKEN_SETTINGS: ProgrammeStatus.NOT_ELIGIBLE,
    }
    assert MetricSnapshot.objects.filter(day=YESTERDAY).count() == len(demo) * 2 * len(METRIC_DEFINITIONS)
    assert SellerEvent.objects.filter(kind=SellerEvent.Kind.REVOKED).count() == 3


def test_replayed_revocations_carry_the_moment_the_scheduled_run_made_them(demo):
    from sellers.models import AuditEntry

    for event in SellerEvent.objects.filter(kind=SellerEvent.Kind.REVOKED).select_related("seller"):
        expected = dt.datetime.combine(event.day + dt.timedelta(days=1), dt.time(2, 30), tzinfo=NOW.tzinfo)
        assert event.created_at == expected < NOW
        assert event.seller.status_changed_at == expected
        audit = AuditEntry.objects.get(seller=event.seller, action=AuditEntry.Action.STATUS_CHANGED)
        assert audit.created_at == expected and audit.after["day"] == event.day.isoformat()


def test_second_run_changes_nothing_and_still_prints_the_logins(demo):
    def state():
        return (
            Seller.objects.count(),
            User.objects.count(),
            Order.objects.count(),
            VolumeControlChange.objects.count(),
            MetricSnapshot.objects.count(),
            SellerEvent.objects.count(),
            sorted(Order.objects.values_list("updated_at", flat=True))[-1],
        )

    before = state()
    output = seed_demo()
    assert state() == before
    assert "already there" in output
    assert all(username in output for username in demo_usernames())


def test_the_same_day_gives_the_same_orders():
    profile = DEMO_SELLERS[1]
    seller = Seller(merchant_token=profile.merchant_token, timezone=profile.timezone)
    days = [YESTERDAY - dt.timedelta(days=n) for n in range(3)]

    def orders():
        return [
            (o.order_id, o.purchased_at, o.units, o.promised_delivery_date, o.first_scan_at, o.tracking_id)
            for o in _orders(profile, seller, days, NOW)
        ]

    assert orders() == orders()


def test_a_demo_seeded_before_the_scheduled_run_dates_its_revocations_now_not_in_the_future(seller):
    """Seeded at 01:00, before the 02:30 the scheduled run would have revoked at: the replayed
    revocation carries the seeding moment, so no audit entry lies in the future (one would stay
    the seller's newest and keep the pages' cache key from moving)."""
    from metrics.management.commands.seed_demo import _date_revocations
    from sellers.models import AuditEntry
    from tests.factories import status_event_create

    early = dt.datetime(2026, 11, 21, 1, 0, tzinfo=zoneinfo.ZoneInfo("America/Los_Angeles"))
    with Clock(early):
        status_event_create(seller, SellerEvent.Kind.REVOKED, early, day=YESTERDAY)
        _date_revocations([seller.pk], YESTERDAY)
    audit = AuditEntry.objects.get(seller=seller, action=AuditEntry.Action.STATUS_CHANGED)
    assert audit.created_at == early
    seller.refresh_from_db()
    assert seller.status_changed_at == early


def test_requirement_breaking_seller_fails_no_metric(demo):
    """Its story is the requirements alone: whatever day the demo is seeded, its metrics pass
    (its weekend orders, promised after the weekend, kept its two-day speed near the threshold)."""
    assert failing(demo[BROKEN_SETTINGS]) == set()
