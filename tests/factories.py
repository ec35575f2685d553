"""factory_boy factories for sellers and their history; orders are built by
``sellers.factories`` (``OrderFactory``, ``orders_save``, ``orders_create``).

Times are fixed, never read from the wall clock. A seller is made the way the portal makes
one (``seller_create``: default settings that meet every programme requirement).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import factory
from django.utils import timezone

from sellers.factories import D, local_moment
from sellers.models import Seller, SellerEvent, VolumeControlChange
from sellers.services import seller_create

# A date every factory seller is enrolled by.
ENROLLED_ON = dt.date(2026, 1, 1)


class SellerFactory(factory.django.DjangoModelFactory):
    """A seller with the default settings of ``seller_create``; ``status`` is set afterwards
    when given. ``reinstated_on`` (a local date) records a reinstatement at the start of that
    day in the status history; ``history`` a list of (kind, moment) status changes."""

    class Meta:
        model = Seller

    merchant_token = factory.Sequence(lambda n: f"FS{n:06d}")
    name = factory.Sequence(lambda n: f"Factory Seller {n}")
    timezone = "America/Los_Angeles"
    enrolled_on = ENROLLED_ON
    reinstated_on = None

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        reinstated_on = kwargs.pop("reinstated_on", None)
        history = list(kwargs.pop("history", None) or [])
        status = kwargs.pop("status", None)
        seller = seller_create(
            merchant_token=kwargs.pop("merchant_token"),
            name=kwargs.pop("name"),
            timezone_name=kwargs.pop("timezone"),
            enrolled_on=kwargs.pop("enrolled_on"),
        )
        if reinstated_on is not None:
            history.append((SellerEvent.Kind.REINSTATED, local_moment(seller, reinstated_on, 0)))
        status_history_create(seller, history)
        changed = {"status": status, **kwargs}
        changed = {name: value for name, value in changed.items() if value is not None}
        if changed:
            for name, value in changed.items():
                setattr(seller, name, value)
            seller.save(update_fields=list(changed))
        return seller


def status_event_create(
    seller: Seller,
    kind: str,
    moment: dt.datetime | None = None,
    *,
    day: dt.date | None = None,
    reasons: list[dict] | None = None,
) -> SellerEvent:
    """One status change, written as the evaluation and the review write it (an audit entry
    the status history is a view of). A revocation's ``day`` defaults to the day before its
    moment (the D it judged); a reinstatement's is its local date."""
    moment = moment or timezone.now()
    if kind == SellerEvent.Kind.REVOKED and day is None:
        day = seller.local_date(moment) - dt.timedelta(days=1)
    entry = SellerEvent.entry(seller_id=seller.pk, kind=kind, moment=moment, day=day, reasons=reasons)
    entry.save()
    return SellerEvent.objects.get(pk=entry.pk)


def status_history_create(seller: Seller, history: Iterable[tuple[str, dt.datetime]]) -> list[SellerEvent]:
    """Status changes (kind, moment) in the seller's history as the evaluation and the review
    write them. Create them before the orders they decide, or re-classify afterwards."""
    return [status_event_create(seller, kind, moment) for kind, moment in history]


class VolumeControlChangeFactory(factory.django.DjangoModelFactory):
    """A row of the volume-control history. Create these before the orders they decide, or
    re-classify afterwards (``sellers.services.volume_control_change`` does both)."""

    class Meta:
        model = VolumeControlChange

    seller = factory.SubFactory(SellerFactory)
    effective_at = factory.LazyAttribute(lambda change: local_moment(change.seller, D - dt.timedelta(days=60), 0))
    daily_cap = None
    paused = False
    paused_until = None


# A plan of action's answers that meet every minimum (SPEC section 4), for the tests that submit one.
PLAN_ANSWERS = {
    "root_cause": "Orders bought after 13:00 on Fridays waited for the Monday pickup because our cutoff was too late.",
    "corrective_actions": "We moved the Friday cutoff to 14:00 and added a Saturday pickup with UPS from next week.",
    "preventive_measures": "A daily check of unscanned orders at 16:00 and a weekly review of late shipments.",
    "timeframe": "In effect since 2026-11-23.",
}
