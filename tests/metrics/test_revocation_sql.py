"""The daily run revokes in one statement (``metrics.sql.sellers_revoke``): the reasons it
writes in the status history's entry, built in SQL from D's snapshot row and the failing
requirements, are exactly (as parsed JSON) those the Python records give,
``reasons_to_json`` of ``revocation_reason`` per failing (window, metric) in REASON_ORDER
then the failing requirements, and the entry is the one ``SellerEvent.entry`` shapes."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics.definitions import (
    METRIC_DEFINITIONS,
    METRICS,
    REASON_ORDER,
    SNAPSHOT_KEYS,
    SNAPSHOT_KINDS,
    snapshot_column,
    threshold_column,
)
from metrics.models import DailySnapshot
from metrics.reasons import MetricReason, RequirementReason, reasons_to_json
from metrics.services import sellers_evaluate
from sellers.choices import ProgrammeStatus
from sellers.models import AuditEntry, Seller, SellerEvent
from sellers.selectors import requirements_for_sellers
from tests.metrics.requirement_settings import seller_settings, settings_save

pytestmark = pytest.mark.django_db

D = dt.date(2026, 11, 20)
# Figures up to 2**40: doubles hold them exactly, and their ratios round in every way.
UNITS = st.one_of(st.integers(0, 12), st.integers(0, 2**40))


def revocation_reason(snapshot: DailySnapshot, *, window_days: int, metric: str) -> MetricReason:
    """A failing metric of the day's snapshot as recorded on the revocation event: which,
    window, value, threshold, and the units protected (Buy Shipping) and excused (approved
    incidents, SPEC section 7) that were not counted: what the revocation's statement
    (``metrics.sql.sellers_revoke``) must write for it, from the metric definitions' own
    ``rate`` and ``eligibility_rate``."""
    population_units, defect_units, protected_units, excused_units = (
        getattr(snapshot, snapshot_column(metric, window_days, kind)) for kind in SNAPSHOT_KINDS
    )
    threshold = getattr(snapshot, threshold_column(metric))
    definition = METRIC_DEFINITIONS[metric]
    rate = definition.rate(population=population_units, defects=defect_units)
    eligibility_rate = None
    if definition.buy_shipping_protection or excused_units:
        # None without a population, like the rate shown.
        judged = definition.eligibility_rate(
            population=population_units, defects=defect_units, protected=protected_units, excused=excused_units
        )
        eligibility_rate = None if judged is None else float(judged)
    return MetricReason(
        metric=metric,
        window_days=window_days,
        rate=None if rate is None else float(rate),
        eligibility_rate=eligibility_rate,
        threshold=str(threshold),
        population_units=population_units,
        defect_units=defect_units,
        protected_units=protected_units,
        excused_units=excused_units,
    )


@st.composite
def figures(draw) -> dict:
    """One (window, metric) of a snapshot row: any units (protected and excused within the
    defects, the population 0 at times, so no rate) and a verdict drawn apart from them, so
    every shape of reason is written, a population of 0 failing included."""
    population = draw(st.one_of(st.just(0), UNITS))
    defects = draw(st.integers(0, population))
    protected = draw(st.one_of(st.just(0), st.integers(0, defects)))
    excused = draw(st.one_of(st.just(0), st.integers(0, defects - protected)))
    return {
        "population": population,
        "defects": defects,
        "protected": protected,
        "excused": excused,
        "passing": draw(st.booleans()),
    }


@st.composite
def snapshot_rows(draw) -> dict:
    row = {threshold_column(name): Decimal(draw(st.integers(0, 100_000))) / 100_000 for name in METRICS}
    for window_days, name in SNAPSHOT_KEYS:
        for kind, value in draw(figures()).items():
            row[snapshot_column(name, window_days, kind)] = value
    return row


def snapshot_save(seller: Seller, columns: dict) -> DailySnapshot:
    DailySnapshot.objects.filter(seller=seller).delete()
    DailySnapshot.objects.create(seller=seller, day=D, computed_at=dt.datetime(2026, 11, 21, 8, tzinfo=dt.UTC),
                                 timezone=seller.timezone, **columns)  # fmt: skip
    return DailySnapshot.objects.get(seller=seller, day=D)  # as stored: the thresholds with five decimals


def eligible_again(*sellers: Seller) -> None:
    AuditEntry.objects.filter(seller__in=sellers).delete()
    Seller.objects.filter(pk__in=[s.pk for s in sellers]).update(
        status=ProgrammeStatus.ELIGIBLE, status_changed_at=None
    )


def python_reasons(snapshot: DailySnapshot | None, seller: Seller) -> list[dict]:
    """What the evaluation recorded before the database wrote the reasons."""
    reasons = []
    if snapshot is not None:
        reasons = [
            revocation_reason(snapshot, window_days=window_days, metric=name)
            for window_days, name in REASON_ORDER
            if not getattr(snapshot, snapshot_column(name, window_days, "passing"))
        ]
    failing = requirements_for_sellers(seller_ids=[seller.pk])[seller.pk].failing
    return reasons_to_json([*reasons, *(RequirementReason(requirement=name) for name in failing)])


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=snapshot_rows(), second=snapshot_rows(), first_settings=seller_settings(), some=st.booleans())
def test_reasons_written_in_sql_equal_the_python_records(seller, other_seller, first, second, first_settings, some):
    eligible_again(seller, other_seller)
    settings_save(seller, first_settings)
    snapshots = {seller.pk: snapshot_save(seller, first), other_seller.pk: snapshot_save(other_seller, second)}
    expected = {
        pk: python_reasons(snapshots[pk], s) for pk, s in ((seller.pk, seller), (other_seller.pk, other_seller))
    }

    result = sellers_evaluate(day=D, seller_ids=[seller.pk, other_seller.pk] if some else None)

    assert result.revoked == sorted(pk for pk, reasons in expected.items() if reasons)
    for pk, reasons in expected.items():
        entries = list(SellerEvent.objects.filter(seller_id=pk))
        if not reasons:
            assert entries == [] and Seller.objects.get(pk=pk).status == ProgrammeStatus.ELIGIBLE
            continue
        (event,) = entries
        assert event.reasons == reasons
        # Exactly: a float stays a float (1.0, not 1), with the same shortest digits, and
        # the database holds the very JSON the Python records would have been stored as.
        assert json.dumps(event.reasons, sort_keys=True) == json.dumps(reasons, sort_keys=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT reasons::text, %s::jsonb::text FROM sellers_sellerevent WHERE id = %s",
                           [json.dumps(reasons), event.pk])  # fmt: skip
            stored, as_python_stores = cursor.fetchone()
        assert stored == as_python_stores
        assert event.kind == SellerEvent.Kind.REVOKED and event.day == D


def test_the_entry_is_the_one_seller_event_entry_shapes(seller, make_orders):
    seller.weekend_delivery = False
    seller.save()
    snapshot_save(
        seller,
        {
            **{threshold_column(name): Decimal("0.99") for name in METRICS},
            **{snapshot_column(name, w, kind): 0 for w, name in SNAPSHOT_KEYS for kind in ("population", "defects",
                                                                                           "protected", "excused")},
            **{snapshot_column(name, w, "passing"): True for w, name in SNAPSHOT_KEYS},
            # 1 of 1 cancelled: the rate 1.0, written as a float, and 0.0 for the rate judged.
            snapshot_column("cancellation_rate", 7, "population"): 1,
            snapshot_column("cancellation_rate", 7, "defects"): 1,
            snapshot_column("cancellation_rate", 7, "excused"): 1,
            snapshot_column("cancellation_rate", 7, "passing"): False,
        },
    )  # fmt: skip

    (revoked,) = sellers_evaluate(day=D, seller_ids=[seller.pk]).revoked

    entry = AuditEntry.objects.get(seller=seller)
    seller.refresh_from_db()
    assert revoked == seller.pk and seller.status == ProgrammeStatus.NOT_ELIGIBLE
    assert seller.status_changed_at == entry.created_at
    reasons = entry.after["reasons"]
    shaped = SellerEvent.entry(
        seller_id=seller.pk, kind=SellerEvent.Kind.REVOKED, moment=entry.created_at, day=D, reasons=reasons
    )
    assert (entry.action, entry.summary, entry.before, entry.after, entry.reason, entry.actor_id) == (
        shaped.action, shaped.summary, shaped.before, shaped.after, shaped.reason, None,
    )  # fmt: skip
    metric = reasons[0]
    assert metric["rate"] == 1.0 and isinstance(metric["rate"], float)
    assert metric["eligibility_rate"] == 0.0 and isinstance(metric["eligibility_rate"], float)
    assert metric["excused_units"] == 1 and metric["threshold"] == "0.99000"
    assert reasons[1:] == [{"kind": "requirement", "requirement": "weekend_delivery"}]
