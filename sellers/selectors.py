"""Reads for sellers. Every seller-scoped lookup in a view goes through ``seller_object_or_404``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from django.db import connection
from django.db.models import Max, Model, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from sellers import sql as statements
from sellers.choices import MANDATORY_EMAILS, STATES, Speed, Weekday
from sellers.models import (
    ApiToken,
    AuditEntry,
    CarrierPickup,
    CarrierService,
    CarrierZone,
    OperatingDay,
    PrimeRegion,
    Seller,
    User,
    VolumeControlChange,
)
from sellers.requirements import REQUIREMENTS, Requirements, cutoff_requirements

M = TypeVar("M", bound=Model)


def seller_for_user(user: User) -> Seller:
    """The seller whose data ``user`` may see; 404 for staff and accounts of no seller."""
    seller = user.seller if user.is_authenticated else None
    if seller is None:
        raise Http404("This account does not belong to a seller.")
    return seller


def seller_object_or_404(user: User, queryset: QuerySet[M], *, seller_field: str = "seller", **lookup) -> M:
    """One object of ``queryset`` owned by the user's seller, or 404.

    Another seller's id gives 404, never 403, so ids of other sellers are not confirmed.
    """
    seller = seller_for_user(user)
    return get_object_or_404(queryset, **{seller_field: seller}, **lookup)


def email_recipients(kind: str) -> QuerySet[User]:
    """The accounts an email of ``kind`` (an ``EmailKind``) goes to: active, with an address,
    and, unless the kind is always sent (revocation, reinstatement), not turned off by the
    user (SPEC section 8). Every sender of the portal's emails to users starts from this;
    narrow it to a seller with ``.filter(seller=...)`` or use ``seller_email_recipients``."""
    users = User.objects.filter(is_active=True).exclude(email="")
    if kind not in MANDATORY_EMAILS:
        users = users.exclude(email_opt_outs__contains=[kind])
    return users


def seller_email_recipients(*, seller: Seller, kind: str) -> QuerySet[User]:
    """The seller's users an email of ``kind`` goes to (``email_recipients``)."""
    return email_recipients(kind).filter(seller=seller)


# ---------------------------------------------------------------------------------------
# Settings, as the settings pages read them (SPEC section 1)
# ---------------------------------------------------------------------------------------

TRANSIT_DAYS_SPEED = {1: Speed.ONE_DAY, 2: Speed.TWO_DAY}


@dataclass(frozen=True)
class DerivedRegion:
    """What region automation chose for one state, and why: the carrier services that
    reach it at that speed (none: no service reaches it, so Prime is not offered)."""

    state: str
    speed: str
    carrier_services: tuple[str, ...] = ()


@dataclass(frozen=True)
class LateCutoff:
    """An operated day whose order cutoff is after the last carrier pickup (None: no pickup)."""

    weekday: int
    cutoff: dt.time
    last_pickup: dt.time | None


def seller_prime_speeds(*, seller: Seller) -> dict[str, str]:
    """Each of the 50 states and DC with its template speed; a missing row is not offered."""
    speeds = dict.fromkeys(STATES, Speed.NOT_OFFERED.value)
    speeds.update(PrimeRegion.objects.filter(seller=seller).values_list("state", "speed"))
    return speeds


def prime_template_derived(*, seller: Seller) -> dict[str, DerivedRegion]:
    """The template region automation derives (SPEC section 1): each state gets the fastest
    speed any of the seller's carrier services offers there, with the services that give it."""
    zones = (
        CarrierZone.objects.filter(carrier_service__seller=seller)
        .values_list("state", "transit_days", "carrier_service__name")
        .order_by("state", "transit_days", "carrier_service__name")
    )
    fastest: dict[str, tuple[int, list[str]]] = {}
    for state, transit_days, service in zones:  # at most 51 rows a carrier service
        days, services = fastest.setdefault(state, (transit_days, []))
        if transit_days == days:
            services.append(service)
    return {
        state: DerivedRegion(state, TRANSIT_DAYS_SPEED[fastest[state][0]], tuple(fastest[state][1]))
        if state in fastest
        else DerivedRegion(state, Speed.NOT_OFFERED.value)
        for state in STATES
    }


def seller_operating_days(*, seller: Seller) -> dict[int, OperatingDay]:
    """Monday to Sunday; a weekday with no row is a closed day (unsaved)."""
    days = {day.weekday: day for day in OperatingDay.objects.filter(seller=seller)}
    return {
        weekday: days.get(weekday) or OperatingDay(seller=seller, weekday=weekday, operated=False)
        for weekday in Weekday.values
    }


def seller_carrier_services(*, seller: Seller) -> QuerySet[CarrierService]:
    return CarrierService.objects.filter(seller=seller).prefetch_related("pickups", "zones").order_by("name")


def seller_last_pickups(*, seller: Seller) -> dict[int, dt.time]:
    """The latest pickup of any of the seller's carrier services, per weekday that has one."""
    rows = (
        CarrierPickup.objects.filter(carrier_service__seller=seller)
        .values("weekday")
        .annotate(last=Max("pickup_time"))
        .values_list("weekday", "last")
        .order_by()
    )
    return dict(rows)


def seller_late_cutoffs(*, seller: Seller) -> list[LateCutoff]:
    """Operated days whose cutoff is after that day's last carrier pickup across services.

    The same rule as the *carrier pickups* check of SPEC section 2 (a pickup at or after the
    cutoff), kept here to name the day and the times; tests hold the two in agreement.
    """
    last_pickups = seller_last_pickups(seller=seller)
    late = []
    for weekday, day in seller_operating_days(seller=seller).items():
        if not day.operated or day.cutoff is None:
            continue
        last = last_pickups.get(weekday)
        if last is None or last < day.cutoff:
            late.append(LateCutoff(weekday, day.cutoff, last))
    return late


def seller_volume_control_history(*, seller: Seller) -> QuerySet[VolumeControlChange]:
    return (
        VolumeControlChange.objects.filter(seller=seller).select_related("changed_by").order_by("-effective_at", "-id")
    )


def seller_audit_entries(*, seller: Seller) -> QuerySet[AuditEntry]:
    """The seller's own audit history, newest first."""
    return AuditEntry.objects.filter(seller=seller).select_related("actor").order_by("-created_at", "-id")


def seller_api_tokens(*, seller: Seller) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(seller=seller).select_related("created_by").order_by("-created_at", "-id")


# ---------------------------------------------------------------------------------------
# Programme requirements checked from settings (SPEC section 2)
# ---------------------------------------------------------------------------------------


def requirements_for_sellers(*, seller_ids: Sequence[int] | None = None) -> dict[int, Requirements]:
    """Every requirement of SPEC section 2 (``sellers.requirements.REQUIREMENTS``) for the
    requested sellers (all when None): the facts each check judges, in one statement
    (``sellers.sql.requirement_facts``, whose facts the daily run judges in SQL), then each
    record's check."""
    params = {"sellers": None if seller_ids is None else list(seller_ids)}
    with connection.cursor() as cursor:
        of_sellers = None if seller_ids is None else statements.sellers_of()
        cursor.execute(statements.requirement_facts(sellers=of_sellers), params)
        names = [column.name for column in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    result = {}
    for row in rows:
        r = Requirements(
            covered_regions=row["covered_regions"],
            one_day_regions=row["one_day_regions"],
            two_day_regions=row["two_day_regions"],
            early_cutoffs={c.name: list(row[statements.early_cutoffs_column(c.name)]) for c in cutoff_requirements()},
            days_without_pickup=list(row["days_without_pickup"]),
            days_operated=frozenset(row["days_operated"]),
            weekend_delivery=row["weekend_delivery"],
        )
        r.passing = {name: requirement.check(r) for name, requirement in REQUIREMENTS.items()}
        result[row["seller_id"]] = r
    return result


def seller_requirements(*, seller: Seller) -> Requirements:
    return requirements_for_sellers(seller_ids=[seller.pk])[seller.pk]
