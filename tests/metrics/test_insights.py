"""Root causes: defects broken down by carrier, weekday, state, and hour against the cutoff."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation

from metrics.definitions import METRIC_DEFINITIONS
from metrics.insights.root_causes import late_shipments_by_hour, root_causes
from metrics.models import MetricSnapshot
from metrics.services import daily_run
from sellers.choices import CancelledBy
from sellers.factories import D, OrderFactory, local_moment

pytestmark = pytest.mark.django_db

FRIDAY = D  # 2026-11-20 is a Friday
THURSDAY = D - dt.timedelta(days=1)


def delivered_late(seller, purchased_at, **fields):
    """Scanned on the promised ship date but delivered three days after the promise."""
    return OrderFactory.build(seller=seller, purchased_at=purchased_at, late_delivery=3, **fields)


def test_breakdowns_add_up_to_the_defect_units_and_name_the_largest(seller, make_orders):
    make_orders(
        delivered_late(seller, local_moment(seller, THURSDAY - dt.timedelta(days=7), 9), carrier="FedEx Home", units=2,
                       ship_to_state="TX"),
        delivered_late(seller, local_moment(seller, THURSDAY - dt.timedelta(days=7), 10), carrier="FedEx Home",
                       ship_to_state="TX"),
        delivered_late(seller, local_moment(seller, THURSDAY - dt.timedelta(days=8), 10), carrier="UPS Ground",
                       ship_to_state="CA"),
        *(OrderFactory.build(seller=seller, purchased_on=THURSDAY - dt.timedelta(days=7)) for _ in range(6)),
    )  # fmt: skip
    daily_run(day=D)
    causes = root_causes(seller=seller, day=D, window_days=30, metric="on_time_delivery_rate")

    snapshot = MetricSnapshot.objects.get(seller=seller, day=D, window_days=30, metric="on_time_delivery_rate")
    assert causes.total_units == snapshot.defect_units == 4
    assert [(s.label, s.units, s.orders) for s in causes.by_carrier] == [("FedEx Home", 3, 2), ("UPS Ground", 1, 1)]
    assert causes.by_carrier[0].percent == 75.0
    assert [(s.key, s.units) for s in causes.by_state] == [("TX", 3), ("CA", 1)]
    assert causes.by_state[0].label == "Texas"
    assert [(s.label, s.units) for s in causes.by_weekday] == [("Thursday", 3), ("Wednesday", 1)]
    for breakdown in (causes.by_carrier, causes.by_state, causes.by_weekday):
        assert sum(share.units for share in breakdown) == causes.total_units
    assert causes.largest.units == 3


def test_the_weekday_is_the_local_one(seller, make_orders):
    # 23:30 on a Thursday in Los Angeles is already Friday in UTC.
    make_orders(delivered_late(seller, local_moment(seller, THURSDAY - dt.timedelta(days=7), 23, 30)))
    daily_run(day=D)
    causes = root_causes(seller=seller, day=D, window_days=30, metric="on_time_delivery_rate")
    assert [s.label for s in causes.by_weekday] == ["Thursday"]


def test_no_defects_gives_empty_breakdowns(seller, make_orders):
    make_orders(OrderFactory.build(seller=seller))
    causes = root_causes(seller=seller, day=D, window_days=30, metric="on_time_delivery_rate")
    assert (causes.total_units, causes.by_carrier, causes.largest) == (0, [], None)


def test_cancellations_have_no_carrier_so_the_largest_contributor_is_a_weekday_or_a_state(seller, make_orders):
    """Every seller cancellation is carrier-less: "(no carrier)" heads the carrier breakdown,
    in the reader's language, but names no cause, so the largest contributor is the
    weekday or the state with the most units."""
    cancelled = [
        OrderFactory.build(seller=seller, purchased_on=THURSDAY - dt.timedelta(days=7), cancelled=CancelledBy.SELLER,
                           ship_to_state=state, units=units)
        for state, units in (("TX", 1), ("TX", 1), ("CA", 1))
    ]  # fmt: skip
    make_orders(*cancelled, *(OrderFactory.build(seller=seller) for _ in range(20)))
    daily_run(day=D)
    causes = root_causes(seller=seller, day=D, window_days=30, metric="cancellation_rate")
    assert [(s.key, s.label, s.units) for s in causes.by_carrier] == [("", "(no carrier)", 3)]
    assert (causes.largest.dimension, causes.largest.label, causes.largest.units) == ("local_weekday", "Thursday", 3)
    with translation.override("de"):
        german = root_causes(seller=seller, day=D, window_days=30, metric="cancellation_rate")
    assert german.by_carrier[0].label == "(kein Transportdienst)"


def test_late_shipments_by_hour_of_purchase_against_the_weekday_cutoff(seller, make_orders):
    # The default settings: 14:00 cutoff Monday to Friday, 10:30 Saturday, Sunday closed.
    last_friday = FRIDAY - dt.timedelta(days=7)
    saturday = FRIDAY - dt.timedelta(days=6)
    sunday = FRIDAY - dt.timedelta(days=5)
    make_orders(
        OrderFactory.build(
            seller=seller, late=True, purchased_at=local_moment(seller, last_friday, 9)
        ),  # before the cutoff
        OrderFactory.build(
            seller=seller, late=True, purchased_at=local_moment(seller, last_friday, 14, 0), units=2
        ),  # at the cutoff: after it
        OrderFactory.build(seller=seller, late=True, purchased_at=local_moment(seller, last_friday, 15)),
        OrderFactory.build(
            seller=seller, late=True, purchased_at=local_moment(seller, saturday, 10, 29)
        ),  # before Saturday's 10:30
        OrderFactory.build(
            seller=seller, late=True, purchased_at=local_moment(seller, sunday, 9)
        ),  # a day not operated
        OrderFactory.build(seller=seller, purchased_at=local_moment(seller, last_friday, 16)),  # on time: not counted
    )
    hours = late_shipments_by_hour(seller=seller, day=D, window_days=30)
    assert [(h.label, h.units, h.after_cutoff_units) for h in hours.hours] == [
        ("09:00", 2, 1),
        ("10:00", 1, 0),
        ("14:00", 2, 2),
        ("15:00", 1, 1),
    ]
    assert (hours.total_units, hours.after_cutoff_units) == (6, 4)
    assert round(hours.after_cutoff_percent, 1) == 66.7


def test_a_weekday_without_a_settings_row_counts_as_not_operated(seller, make_orders):
    from sellers.models import OperatingDay

    last_friday = FRIDAY - dt.timedelta(days=7)
    make_orders(
        OrderFactory.build(seller=seller, late=True, purchased_at=local_moment(seller, last_friday, 9))
    )  # before Friday's 14:00 cutoff
    assert late_shipments_by_hour(seller=seller, day=D, window_days=30).after_cutoff_units == 0
    OperatingDay.objects.filter(seller=seller, weekday=4).delete()  # data from elsewhere: no Friday row
    assert late_shipments_by_hour(seller=seller, day=D, window_days=30).after_cutoff_units == 1


def test_on_time_shipment_defects_are_named_as_the_metric_counts_them():
    """A late shipment that arrived on time is no defect: the insights say what is counted."""
    on_time_shipment = METRIC_DEFINITIONS["on_time_shipment_rate"]
    assert on_time_shipment.defects_noun(1) == "unit shipped late and delivered late"
    assert str(on_time_shipment.defects_phrase) == "units shipped late and delivered late"
    with translation.override("de"):
        assert on_time_shipment.defects_noun(3) == "verspätet versendete und verspätet gelieferte Einheiten"
        phrase = str(on_time_shipment.defects_phrase)
        assert phrase == "verspätet versendeten und verspätet gelieferten Einheiten"
    with translation.override("vi"):
        assert on_time_shipment.defects_noun(3) == "đơn vị gửi hàng trễ và giao hàng trễ"
