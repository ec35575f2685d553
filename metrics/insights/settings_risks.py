"""Settings that predict defects (SPEC section 2's warnings, with their cost): each with the
orders it already cost in the window ending on D."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from django.db.models import Aggregate, Count, Q, Sum

from metrics.definitions import q_delivered_late, q_shipped_late
from metrics.insights.purchase_time import at_or_after, before, with_local_purchase_time
from metrics.selectors import window_orders
from sellers.choices import WEEKEND_DAYS, Speed
from sellers.models import CarrierZone, PrimeRegion, Seller
from sellers.selectors import seller_late_cutoffs


class SettingsRiskKind(StrEnum):
    """What in the settings predicts defects (``metrics.presenters.insights`` words each)."""

    CUTOFF_AFTER_PICKUP = "cutoff_after_pickup"
    ONE_DAY_UNREACHABLE = "one_day_unreachable"
    WEEKEND_WITHOUT_PICKUP = "weekend_without_pickup"


@dataclass(frozen=True)
class SettingsRisk:
    """One setting that predicts defects, and the orders (and units) it already cost."""

    kind: str
    orders: int
    units: int
    weekday: int | None = None  # the operated day (0 = Monday) of a cutoff or pickup risk
    cutoff: dt.time | None = None
    last_pickup: dt.time | None = None  # None: no carrier picks up that day
    states: tuple[str, ...] = ()  # the one-day regions no carrier reaches in one day


def settings_risks(*, seller: Seller, day: dt.date, window_days: int) -> list[SettingsRisk]:
    """Settings that predict defects, each with the orders it already cost in the window
    ending on D (as of D, SPEC section 3):

    - an operated day whose cutoff is after its last carrier pickup (``seller_late_cutoffs``):
      orders bought between the pickup and the cutoff are promised to ship that day and miss
      the carrier; cost: the late shipments of orders bought on that weekday in that span
      (before the cutoff when no carrier picks up at all that day);
    - Prime regions promised one-day that none of the seller's carrier services reaches in
      one day: cost: the late deliveries of orders shipped to those states;
    - a weekend day operated with no carrier pickup: cost: the late shipments of orders
      bought on that day.

    Settings in three small queries, the costs in one aggregate over the window's orders.
    """
    found: list[tuple[SettingsRisk, Q]] = []
    for late in seller_late_cutoffs(seller=seller):
        on_that_day = q_shipped_late(day) & Q(local_weekday=late.weekday + 1)
        if late.last_pickup is None and late.weekday in WEEKEND_DAYS:
            kind, cost = SettingsRiskKind.WEEKEND_WITHOUT_PICKUP, on_that_day
        elif late.last_pickup is None:
            kind, cost = SettingsRiskKind.CUTOFF_AFTER_PICKUP, on_that_day & before(late.cutoff)
        else:
            kind = SettingsRiskKind.CUTOFF_AFTER_PICKUP
            cost = on_that_day & at_or_after(late.last_pickup) & before(late.cutoff)
        risk = SettingsRisk(
            kind=kind, orders=0, units=0, weekday=late.weekday, cutoff=late.cutoff, last_pickup=late.last_pickup
        )
        found.append((risk, cost))
    one_day_by_carrier = CarrierZone.objects.filter(carrier_service__seller=seller, transit_days=1).values("state")
    unreachable = tuple(
        PrimeRegion.objects.filter(seller=seller, speed=Speed.ONE_DAY)
        .exclude(state__in=one_day_by_carrier)
        .order_by("state")
        .values_list("state", flat=True)
    )
    if unreachable:
        risk = SettingsRisk(kind=SettingsRiskKind.ONE_DAY_UNREACHABLE, orders=0, units=0, states=unreachable)
        found.append((risk, q_delivered_late(day) & Q(ship_to_state__in=unreachable)))
    if not found:
        return []
    sums: dict[str, Aggregate] = {}
    for index, (_risk, condition) in enumerate(found):
        sums[f"r{index}_orders"] = Count("pk", filter=condition)
        sums[f"r{index}_units"] = Sum("units", filter=condition, default=0)
    costs = with_local_purchase_time(
        window_orders(day=day, window_days=window_days, seller_ids=[seller.pk]), seller.zone
    ).aggregate(**sums)
    return [
        SettingsRisk(
            kind=str(risk.kind),
            orders=costs[f"r{index}_orders"],
            units=costs[f"r{index}_units"],
            weekday=risk.weekday,
            cutoff=risk.cutoff,
            last_pickup=risk.last_pickup,
            states=risk.states,
        )
        for index, (risk, _condition) in enumerate(found)
    ]
