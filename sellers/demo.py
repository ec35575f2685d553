"""Demonstration data for ``seed_demo`` (SPEC section 6).

Four sellers, each telling one story a reviewer or a newcomer should see in the portal:

- a healthy seller whose every metric of SPEC section 3 passes comfortably, with some
  order-volume control history (a one-day pause of the Prime badge, then a daily cap);
- a seller failing the on-time shipment rate (many late first scans, delivered late too);
- a seller failing the cancellation rate (cancellations without a customer request);
- a seller whose settings break programme requirements (a 12:00 Friday cutoff and no
  weekend operations), set directly on its rows as data from elsewhere would be.

Orders cover the 60 days ending yesterday in the portal's time zone. Everything comes from
one seeded ``random.Random`` per seller, so the same day gives the same demo. Events that
would lie after ``now`` are left out (they have not happened yet).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Permission
from django.db import transaction
from django.utils import timezone

from sellers.choices import CONTIGUOUS_REGIONS, CancelledBy, Speed, Weekday
from sellers.factories import OrderFactory
from sellers.models import (
    CarrierPickup,
    CarrierService,
    CarrierZone,
    OperatingDay,
    Order,
    PrimeRegion,
    Seller,
    User,
)
from sellers.services import orders_classify_prime, seller_create, volume_control_update

DEMO_DAYS = 60
DEMO_SEED = 20261122
# Demo-only: printed by seed_demo for anyone to use. Never seed a production database.
DEMO_PASSWORD = "prime-demo-2026"
REVIEWER_USERNAME = "reviewer"
ADMIN_USERNAME = "admin"
UTC = dt.UTC

# Where orders go: roughly each region's share of US households (48 states and DC).
STATE_WEIGHTS: dict[str, int] = {
    "CA": 395, "TX": 291, "FL": 215, "NY": 202, "PA": 130, "IL": 128, "OH": 118, "GA": 107,
    "NC": 104, "MI": 101, "NJ": 93, "VA": 86, "WA": 77, "AZ": 72, "MA": 70, "TN": 69,
    "IN": 68, "MD": 62, "MO": 62, "WI": 59, "CO": 58, "MN": 57, "SC": 51, "AL": 50,
    "LA": 47, "KY": 45, "OR": 42, "OK": 40, "CT": 36, "UT": 33, "IA": 32, "NV": 31,
    "AR": 30, "MS": 30, "KS": 29, "NM": 21, "NE": 20, "ID": 18, "WV": 18, "NH": 14,
    "ME": 14, "RI": 11, "MT": 11, "DE": 10, "SD": 9, "ND": 8, "DC": 7, "VT": 6, "WY": 6,
}  # fmt: skip
assert set(STATE_WEIGHTS) == CONTIGUOUS_REGIONS

# Orders per local hour of the day: quiet at night, busy late morning and evening.
HOUR_WEIGHTS = (10, 6, 4, 3, 3, 5, 10, 20, 32, 42, 48, 52, 52, 50, 47, 45, 45, 46, 48, 52, 54, 48, 36, 22)
# Monday to Sunday: a little busier on weekdays.
WEEKDAY_WEIGHTS = (1.1, 1.05, 1.0, 1.0, 0.95, 0.8, 0.85)
UNITS_WEIGHTS = {1: 70, 2: 22, 3: 8}


@dataclass(frozen=True)
class DemoSeller:
    """One demonstration seller: who it is, how it fulfils and how often things go wrong."""

    merchant_token: str
    name: str
    username: str
    timezone: str
    story: str
    one_day_service: str
    one_day_states: frozenset[str]
    ground_services: tuple[str, ...]
    # Monday..Sunday: the order cutoff, or None when the day is not operated.
    cutoffs: tuple[dt.time | None, ...]
    # Monday..Sunday carrier pickup times (on operated days).
    pickups: tuple[dt.time | None, ...]
    orders_per_day: tuple[int, int] = (20, 60)
    # Monday..Sunday: how busy each day is against the others (``WEEKDAY_WEIGHTS`` unless given).
    weekday_weights: tuple[float, ...] | None = None
    late_scan_share: float = 0.0015  # first scanned after the promised ship date
    late_delivery_share: float = 0.02  # scanned on time, delivered late anyway (carrier delay)
    seller_cancel_share: float = 0.0  # cancelled by the seller without a customer request
    requested_cancel_share: float = 0.004  # cancelled by the seller at the customer's request
    customer_cancel_share: float = 0.01  # cancelled by the customer within 30 minutes
    outside_buy_shipping_share: float = 0.001
    missing_tracking_share: float = 0.001
    volume_control_history: bool = False


def _t(hour: int, minute: int = 0) -> dt.time:
    return dt.time(hour, minute)


_EAST = frozenset(
    {"NC", "SC", "VA", "WV", "GA", "TN", "KY", "MD", "DC", "DE", "PA", "NJ", "NY", "OH", "FL", "AL", "CT"}
    | {"MA", "RI", "NH", "VT", "ME", "IN", "MI", "IL", "MS", "TX", "MO", "AR", "LA", "OK", "KS", "IA"}
    | {"WI", "MN", "NE"}
)
_CENTRAL = frozenset(
    {"TN", "AR", "MS", "AL", "KY", "MO", "IL", "IN", "OH", "GA", "LA", "TX", "OK", "KS", "IA", "WI"}
    | {"MI", "NC", "SC", "VA", "WV", "FL", "PA", "NY", "NJ", "MD", "DE", "DC", "MN", "NE", "CO"}
)
_WEST_AND_AIR = frozenset(
    {"CA", "NV", "OR", "WA", "AZ", "UT", "ID", "NM", "CO", "TX", "IL", "NY", "NJ", "FL"}
    | {"PA", "OH", "GA", "MA", "MI", "NC", "VA", "MN", "WI", "IN", "MO", "TN", "KY"}
)
_MOUNTAIN = frozenset(CONTIGUOUS_REGIONS) - {"ME", "VT", "NH"}

DEMO_SELLERS: tuple[DemoSeller, ...] = (
    DemoSeller(
        merchant_token="NWHOME01",
        name="Northwind Home Goods",
        username="northwind",
        timezone="America/Chicago",
        story="healthy: every metric passes; paused the Prime badge for a day, now caps Prime orders per day",
        one_day_service="UPS Next Day Air Saver",
        one_day_states=_CENTRAL,
        ground_services=("UPS Ground", "USPS Priority Mail", "FedEx Home Delivery"),
        cutoffs=(_t(18), _t(18), _t(18), _t(18), _t(18), _t(12), _t(12)),
        pickups=(_t(19), _t(19), _t(19), _t(19), _t(19), _t(13), _t(13)),
        orders_per_day=(35, 60),
        volume_control_history=True,
    ),
    DemoSeller(
        merchant_token="BLUERIDGE02",
        name="Blue Ridge Kitchenware",
        username="blueridge",
        timezone="America/New_York",
        story="fails the on-time shipment rate: many orders first scanned late and delivered late",
        one_day_service="FedEx Priority Overnight",
        one_day_states=_EAST,
        ground_services=("FedEx Ground", "UPS Ground"),
        cutoffs=(_t(17), _t(17), _t(17), _t(17), _t(17), _t(11), _t(11)),
        pickups=(_t(18), _t(18), _t(18), _t(18), _t(18), _t(12), _t(12)),
        late_scan_share=0.07,
    ),
    DemoSeller(
        merchant_token="SUNSETPET03",
        name="Sunset Pet Supplies",
        username="sunsetpet",
        timezone="America/Los_Angeles",
        story="fails the cancellation rate: cancels orders out of stock without a customer request",
        one_day_service="UPS Next Day Air Saver",
        one_day_states=_WEST_AND_AIR,
        ground_services=("UPS Ground", "USPS Priority Mail"),
        cutoffs=(_t(17), _t(17), _t(17), _t(17), _t(17), _t(11), _t(11)),
        pickups=(_t(18), _t(18), _t(18), _t(18), _t(18), _t(12), _t(12)),
        seller_cancel_share=0.025,
    ),
    DemoSeller(
        merchant_token="LAKESIDE04",
        name="Lakeside Toys & Games",
        username="lakeside",
        timezone="America/Denver",
        story="breaks requirements: a 12:00 Friday cutoff and no weekend operations",
        one_day_service="UPS Next Day Air Saver",
        one_day_states=_MOUNTAIN,
        ground_services=("UPS Ground",),
        cutoffs=(_t(18), _t(18), _t(18), _t(18), _t(12), None, None),
        pickups=(_t(19), _t(19), _t(19), _t(19), _t(17), None, None),
        # Its customers buy little at the weekend, when it does not ship: with the usual weekend
        # share its Saturday orders, promised for Tuesday, put its two-day delivery speed near
        # 74 % and some days' demos failed it too, where its story is the requirements alone.
        weekday_weights=(1.1, 1.05, 1.0, 1.0, 0.95, 0.4, 0.5),
        orders_per_day=(40, 60),
        # It ships on time: a unit or three scanned late could fail a 7-day window on some days.
        late_scan_share=0.0,
    ),
)


@dataclass(frozen=True)
class Login:
    username: str
    password: str
    role: str


@dataclass
class DemoResult:
    created: bool
    sellers: int = 0
    orders: int = 0
    logins: list[Login] = field(default_factory=list)


def demo_logins() -> list[Login]:
    """Every demo account with its password, as seed_demo prints them."""
    logins = [Login(s.username, DEMO_PASSWORD, f"seller {s.merchant_token} ({s.story})") for s in DEMO_SELLERS]
    logins.append(Login(REVIEWER_USERNAME, DEMO_PASSWORD, "programme staff (reviews plans of action)"))
    logins.append(Login(ADMIN_USERNAME, DEMO_PASSWORD, "superuser (Django admin)"))
    return logins


def demo_usernames() -> list[str]:
    return [login.username for login in demo_logins()]


def demo_present() -> bool:
    """The whole demo is already in the database (every demo seller and account)."""
    tokens = [s.merchant_token for s in DEMO_SELLERS]
    return Seller.objects.filter(merchant_token__in=tokens).count() == len(tokens) and User.objects.filter(
        username__in=demo_usernames()
    ).count() == len(demo_usernames())


def database_empty() -> bool:
    """No sellers and none of the demo accounts: the demo may be added without clashing."""
    return not Seller.objects.exists() and not User.objects.filter(username__in=demo_usernames()).exists()


@transaction.atomic
def demo_create(*, today: dt.date | None = None, now: dt.datetime | None = None) -> DemoResult:
    """Create the demo sellers, their users, orders and history, a reviewer and an admin.

    ``today`` is the portal's local date (default ``timezone.localdate()``): orders cover
    the 60 days before it. Callers check ``database_empty()`` first.
    """
    today = today or timezone.localdate()
    now = now or timezone.now()
    days = [today - dt.timedelta(days=offset) for offset in range(DEMO_DAYS, 0, -1)]
    result = DemoResult(created=True, logins=demo_logins())
    # Hashed once: each PBKDF2 hash costs about half a second, and every demo login shares it.
    password_hash = make_password(DEMO_PASSWORD)
    seller_ids = []
    for profile in DEMO_SELLERS:
        seller = _seller_create(profile, enrolled_on=today - dt.timedelta(days=400))
        # No email address: replaying the evaluations must not mail anyone.
        user = User.objects.create(username=profile.username, password=password_hash, seller=seller)
        if profile.volume_control_history:
            _volume_control_history(seller, user, days)
        orders = list(_orders(profile, seller, days, now))
        Order.objects.bulk_create(orders, batch_size=2000)
        seller_ids.append(seller.pk)
        result.sellers += 1
        result.orders += len(orders)
    orders_classify_prime(seller_ids=seller_ids, since=None)
    reviewer = User.objects.create(username=REVIEWER_USERNAME, password=password_hash, is_staff=True)
    reviewer.user_permissions.add(Permission.objects.get(codename="review_plan", content_type__app_label="metrics"))
    User.objects.create(username=ADMIN_USERNAME, password=password_hash, is_staff=True, is_superuser=True)
    return result


def _seller_create(profile: DemoSeller, *, enrolled_on: dt.date) -> Seller:
    """The seller with the defaults of ``seller_create``, then its own carriers and days.

    The settings are written to the rows directly, as an import or the admin would: the
    settings forms refuse the requirement-breaking cutoffs this demo needs.
    """
    seller = seller_create(
        merchant_token=profile.merchant_token,
        name=profile.name,
        timezone_name=profile.timezone,
        enrolled_on=enrolled_on,
    )
    for day in OperatingDay.objects.filter(seller=seller):
        cutoff = profile.cutoffs[day.weekday]
        day.operated = cutoff is not None
        day.cutoff = cutoff
        day.save(update_fields=["operated", "cutoff"])

    CarrierService.objects.filter(seller=seller).delete()
    services = [
        CarrierService(seller=seller, name=name) for name in (profile.one_day_service, *profile.ground_services)
    ]
    CarrierService.objects.bulk_create(services)
    CarrierPickup.objects.bulk_create(
        CarrierPickup(carrier_service=service, weekday=weekday, pickup_time=pickup)
        for service in services
        for weekday, pickup in enumerate(profile.pickups)
        if pickup is not None
    )
    one_day, *ground = services
    CarrierZone.objects.bulk_create(
        [CarrierZone(carrier_service=one_day, state=state, transit_days=1) for state in sorted(profile.one_day_states)]
        + [
            CarrierZone(carrier_service=service, state=state, transit_days=2)
            for service in ground
            for state in sorted(CONTIGUOUS_REGIONS)
        ]
    )
    # The template offers the fastest speed a carrier reaches: what region automation would pick.
    for region in PrimeRegion.objects.filter(seller=seller):
        if region.state in profile.one_day_states:
            region.speed = Speed.ONE_DAY
        elif region.state in CONTIGUOUS_REGIONS:
            region.speed = Speed.TWO_DAY
        else:
            region.speed = Speed.NOT_OFFERED
        region.save(update_fields=["speed"])
    return seller


def _volume_control_history(seller: Seller, user: User, days: list[dt.date]) -> None:
    """The Prime badge paused for one whole local day three weeks ago, then a daily cap of
    50 Prime orders from twelve days ago: orders past it are not Prime orders."""
    paused_day = days[-21]
    pause_start = _local(seller, paused_day, dt.time(0))
    pause_end = _local(seller, paused_day + dt.timedelta(days=1), dt.time(0))
    # Through the settings page's own service, as of each moment, so the history page lists
    # both changes as the volume-control page does.
    volume_control_update(
        seller=seller, actor=user, daily_cap=None, paused=True, paused_until=pause_end, now=pause_start
    )
    capped_at = _local(seller, days[-12], dt.time(8, 15))
    volume_control_update(seller=seller, actor=user, daily_cap=50, paused=False, now=capped_at)


def _local(seller: Seller, day: dt.date, at: dt.time) -> dt.datetime:
    """An exact moment (UTC) for a wall-clock time of the seller, so later arithmetic on it
    never adds hours across a DST change."""
    return dt.datetime.combine(day, at, tzinfo=seller.zone).astimezone(UTC)


def _next_operated(day: dt.date, cutoffs: tuple[dt.time | None, ...]) -> dt.date:
    day += dt.timedelta(days=1)
    while cutoffs[day.weekday()] is None:
        day += dt.timedelta(days=1)
    return day


def _add_delivery_days(day: dt.date, transit_days: int) -> dt.date:
    """Six-day delivery: carriers deliver Monday to Saturday."""
    while transit_days:
        day += dt.timedelta(days=1)
        if day.weekday() != Weekday.SUNDAY:
            transit_days -= 1
    return day


def _tracking_id(rng: random.Random, carrier: str) -> str:
    if carrier.startswith("UPS"):
        return "1Z" + "".join(rng.choices("0123456789ABCDEFGHJKLMNPRSTUVWXYZ", k=6)) + f"03{rng.randrange(10**8):08d}"
    if carrier.startswith("USPS"):
        return f"9400{rng.randrange(10**18):018d}"
    return f"{rng.randrange(10**11, 10**12)}"


def _orders(profile: DemoSeller, seller: Seller, days: list[dt.date], now: dt.datetime) -> Iterator[Order]:
    rng = random.Random(f"{DEMO_SEED}:{profile.merchant_token}")
    states, state_weights = zip(*STATE_WEIGHTS.items(), strict=True)
    units_values, units_weights = zip(*UNITS_WEIGHTS.items(), strict=True)
    order_ids: set[str] = set()
    for day in days:
        count = round(
            rng.randint(*profile.orders_per_day) * (profile.weekday_weights or WEEKDAY_WEIGHTS)[day.weekday()]
        )
        hours = rng.choices(range(24), weights=HOUR_WEIGHTS, k=count)
        for hour in sorted(hours):
            purchased_local = dt.time(hour, rng.randrange(60), rng.randrange(60))
            purchased_at = _local(seller, day, purchased_local)
            if purchased_at > now:
                continue
            order_id = _order_id(rng, order_ids)
            state = rng.choices(states, weights=state_weights)[0]
            yield _order(
                profile,
                seller,
                rng,
                order_id=order_id,
                purchased_at=purchased_at,
                purchased_local=purchased_local,
                day=day,
                state=state,
                units=rng.choices(units_values, weights=units_weights)[0],
                now=now,
            )


def _order_id(rng: random.Random, taken: set[str]) -> str:
    while True:
        order_id = f"11{rng.randrange(10)}-{rng.randrange(10**7):07d}-{rng.randrange(10**7):07d}"
        if order_id not in taken:
            taken.add(order_id)
            return order_id


def _order(
    profile: DemoSeller,
    seller: Seller,
    rng: random.Random,
    *,
    order_id: str,
    purchased_at: dt.datetime,
    purchased_local: dt.time,
    day: dt.date,
    state: str,
    units: int,
    now: dt.datetime,
) -> Order:
    """One order: promised dates from the seller's cutoffs and carriers, then what happened
    by ``now``, built as every order is (``sellers.factories``)."""
    cutoff = profile.cutoffs[day.weekday()]
    promised_ship_date = (
        day if cutoff is not None and purchased_local < cutoff else _next_operated(day, profile.cutoffs)
    )
    one_day = state in profile.one_day_states
    transit_days = 1 if one_day else 2
    promised_delivery_date = _add_delivery_days(promised_ship_date, transit_days)
    fields = {
        "seller": seller,
        "order_id": order_id,
        "purchased_at": purchased_at,
        "units": units,
        "promised_ship_date": promised_ship_date,
        "promised_delivery_date": promised_delivery_date,
        "ship_to_state": state,
    }

    roll = rng.random()
    cancel_shares = (profile.customer_cancel_share, profile.requested_cancel_share, profile.seller_cancel_share)
    if roll < sum(cancel_shares):
        requested_before = None
        if roll < cancel_shares[0]:
            # Customers may cancel by themselves within 30 minutes of purchase only.
            cancelled_after, by = dt.timedelta(minutes=rng.randint(2, 29)), CancelledBy.CUSTOMER
        elif roll < cancel_shares[0] + cancel_shares[1]:
            requested_after = dt.timedelta(minutes=rng.randint(35, 300))
            requested_before = dt.timedelta(minutes=rng.randint(5, 90))
            cancelled_after, by = requested_after + requested_before, CancelledBy.SELLER
        else:
            cancelled_after, by = dt.timedelta(minutes=rng.randint(60, 1200)), CancelledBy.SELLER
        if purchased_at + cancelled_after <= now:  # the request, before it, has happened too
            return OrderFactory.build(
                **fields, cancelled=by, cancelled_after=cancelled_after, requested_before=requested_before
            )

    carrier = profile.one_day_service if one_day else rng.choice(profile.ground_services)
    outside_buy_shipping = rng.random() < profile.outside_buy_shipping_share
    no_tracking = rng.random() < profile.missing_tracking_share
    tracking_id = "" if no_tracking else _tracking_id(rng, carrier)

    ship_date = promised_ship_date
    if rng.random() < profile.late_scan_share:
        for _ in range(rng.choice((1, 1, 2))):
            ship_date = _next_operated(ship_date, profile.cutoffs)
    pickup = profile.pickups[ship_date.weekday()] or dt.time(17)
    pickup_at = _local(seller, ship_date, pickup)
    confirmed_at = pickup_at - dt.timedelta(minutes=rng.randint(20, 120))
    first_scan_at = pickup_at + dt.timedelta(minutes=rng.randint(5, 75))
    delivered_on = _add_delivery_days(ship_date, transit_days)
    delivery_delayed = rng.random() < profile.late_delivery_share
    if delivery_delayed:
        delivered_on = _add_delivery_days(delivered_on, rng.choice((1, 1, 2)))
    delivered_at: dt.datetime | None = _local(seller, delivered_on, dt.time(rng.randint(9, 19), rng.randrange(60)))
    if delivery_delayed and rng.random() < 0.1:
        delivered_at = None  # lost in transit

    # What has not happened by now is left out.
    return OrderFactory.build(
        **fields,
        carrier=carrier,
        tracking_id=tracking_id,
        no_tracking=no_tracking,
        outside_buy_shipping=outside_buy_shipping,
        ship_confirmed_at=confirmed_at if confirmed_at <= now else None,
        first_scan_at=first_scan_at if first_scan_at <= now else None,
        delivered_at=delivered_at
        if first_scan_at <= now and delivered_at is not None and delivered_at <= now
        else None,
    )
