"""Random settings of a seller (its Prime template, operating days and cutoffs, carrier
pickups, weekend delivery), for the tests that hold the requirement checks' SQL half against
their Python half; and the facts they give, worked out here from the drawn settings alone."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from hypothesis import strategies as st

from sellers.choices import CONTIGUOUS_REGIONS, STATES, Speed
from sellers.models import CarrierPickup, CarrierService, OperatingDay, PrimeRegion, Seller
from sellers.requirements import cutoff_requirements

MISSING = "missing"  # no template row for the state: not offered
# Times around every minimum cutoff, and others.
TIMES = st.one_of(
    st.sampled_from([dt.time(10, 29), dt.time(10, 30), dt.time(13, 59), dt.time(14, 0), dt.time(17, 0)]),
    st.times().map(lambda t: t.replace(second=0, microsecond=0)),
)


@dataclass(frozen=True)
class Settings:
    weekend_delivery: bool
    speeds: dict[str, str]  # state -> speed or MISSING
    days: dict[int, tuple[bool, dt.time | None]]  # weekday -> (operated, cutoff); absent: no row
    services: list[dict[int, dt.time]]  # each carrier service's pickup per weekday


@st.composite
def seller_settings(draw) -> Settings:
    """Mostly the usual settings with a few changes, so every check both passes and fails."""
    changed = draw(st.lists(st.sampled_from(STATES), max_size=4, unique=True))
    speeds = dict.fromkeys(STATES, Speed.TWO_DAY.value)
    speeds.update(
        {state: draw(st.sampled_from([Speed.ONE_DAY.value, Speed.NOT_OFFERED.value, MISSING])) for state in changed}
    )
    days = {}
    for weekday in range(7):
        if draw(st.integers(0, 9)) == 0:
            continue  # no row
        usual = weekday < 6
        operated = draw(st.booleans()) if draw(st.integers(0, 3)) == 0 else usual
        cutoff = draw(st.one_of(st.none(), TIMES)) if draw(st.booleans()) else dt.time(14, 0)
        days[weekday] = (operated, cutoff)
    services = draw(st.lists(st.dictionaries(st.integers(0, 6), TIMES, max_size=7), min_size=0, max_size=3))
    return Settings(weekend_delivery=draw(st.booleans()), speeds=speeds, days=days, services=services)


def settings_save(seller: Seller, settings: Settings) -> None:
    """The seller's settings replaced by ``settings``."""
    Seller.objects.filter(pk=seller.pk).update(weekend_delivery=settings.weekend_delivery)
    PrimeRegion.objects.filter(seller=seller).delete()
    OperatingDay.objects.filter(seller=seller).delete()
    CarrierService.objects.filter(seller=seller).delete()
    PrimeRegion.objects.bulk_create(
        PrimeRegion(seller=seller, state=state, speed=speed)
        for state, speed in settings.speeds.items()
        if speed != MISSING
    )
    OperatingDay.objects.bulk_create(
        OperatingDay(seller=seller, weekday=weekday, operated=operated, cutoff=cutoff)
        for weekday, (operated, cutoff) in settings.days.items()
    )
    for number, pickups in enumerate(settings.services):
        service = CarrierService.objects.create(seller=seller, name=f"Service {number}")
        CarrierPickup.objects.bulk_create(
            CarrierPickup(carrier_service=service, weekday=weekday, pickup_time=moment)
            for weekday, moment in pickups.items()
        )


def expected_facts(settings: Settings) -> dict:
    """The facts of SPEC section 2 read off the drawn settings, as ``Requirements`` holds them."""
    contiguous = [settings.speeds[state] for state in sorted(CONTIGUOUS_REGIONS)]
    operated = {weekday: cutoff for weekday, (is_operated, cutoff) in settings.days.items() if is_operated}
    return {
        "weekend_delivery": settings.weekend_delivery,
        "covered_regions": sum(speed in (Speed.ONE_DAY, Speed.TWO_DAY) for speed in contiguous),
        "one_day_regions": contiguous.count(Speed.ONE_DAY.value),
        "two_day_regions": contiguous.count(Speed.TWO_DAY.value),
        "days_operated": frozenset(operated),
        "early_cutoffs": {
            r.name: sorted(
                d for d, cutoff in operated.items() if d in r.weekdays and (cutoff is None or cutoff < r.cutoff)
            )
            for r in cutoff_requirements()
        },
        "days_without_pickup": sorted(
            d
            for d, cutoff in operated.items()
            if cutoff is None or not any(p.get(d) is not None and p[d] >= cutoff for p in settings.services)
        ),
    }
