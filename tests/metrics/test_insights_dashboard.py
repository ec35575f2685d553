"""Beyond the programme's own dashboard (metrics.insights): headroom, orders at risk with
their deadlines and projected rates, root causes in sentences, settings that predict
defects, and the orders behind every population figure. Hand-built worlds, time fixed."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from fractions import Fraction

import pytest
from django.urls import reverse
from hypothesis import example, given
from hypothesis import strategies as st

from metrics.definitions import METRIC_DEFINITIONS, METRICS
from metrics.insights.at_risk import RiskKind, orders_at_risk
from metrics.insights.headroom import Headroom, headroom_units, weakest_metric
from metrics.insights.root_causes import root_cause_summary
from metrics.insights.settings_risks import settings_risks
from metrics.models import MetricSnapshot
from metrics.presenters.insights import root_cause_card, settings_risk_card
from metrics.services import daily_run
from sellers.choices import CancelledBy, Speed, Weekday
from sellers.factories import D, OrderFactory, local_moment
from sellers.models import CarrierPickup, CarrierZone, OperatingDay, PrimeRegion

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

DASHBOARD = reverse("metrics:dashboard")
POPULATION = reverse("metrics:population")
# 07:00 on Saturday, Nov. 21 in Los Angeles: the morning after D (Friday, Nov. 20).
TODAY = dt.date(2026, 11, 21)


def snapshots_of(seller, window_days=30, day=D):
    return {s.metric: s for s in MetricSnapshot.objects.filter(seller=seller, day=day, window_days=window_days)}


def adjusted(seller, order, **moments):
    """``order`` with timestamps replaced (None: not happened) and local dates recomputed."""
    for name, value in moments.items():
        setattr(order, name, value)
    order.set_local_dates(seller.zone)
    return order


# --- Headroom ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metric", "population", "defects", "protected", "threshold", "expected"),
    [
        # floor(0.01 * 100) = 1 late shipment allowed.
        ("on_time_shipment_rate", 100, 0, 0, "0.99", 1),
        ("on_time_shipment_rate", 100, 1, 0, "0.99", 0),  # exactly at the threshold: passes, no room
        ("on_time_shipment_rate", 100, 3, 0, "0.99", -2),
        # floor(0.065 * 200) = 13 allowed; 20 late, 10 protected: 10 counted.
        ("on_time_delivery_rate", 200, 20, 10, "0.935", 3),
        ("on_time_delivery_rate", 200, 20, 0, "0.935", -7),
        ("buy_shipping_rate", 250, 2, 0, "0.99", 0),  # floor(2.5) = 2
        # The cancellation rate must stay low: floor(0.005 * 400) = 2 allowed.
        ("cancellation_rate", 400, 1, 0, "0.005", 1),
        ("cancellation_rate", 400, 2, 0, "0.005", 0),
        ("cancellation_rate", 400, 6, 0, "0.005", -4),
        ("valid_tracking_rate", 250, 3, 0, "0.99", -1),
        ("one_day_delivery_speed", 10, 7, 0, "0.30", 0),  # floor(0.7 * 10) = 7
        ("two_day_delivery_speed", 50, 10, 0, "0.74", 3),  # floor(0.26 * 50) = 13
        ("on_time_shipment_rate", 0, 0, 0, "0.99", None),
        ("cancellation_rate", 0, 0, 0, "0.005", None),
    ],
)
def test_headroom_is_exact_for_each_metric(metric, population, defects, protected, threshold, expected):
    definition = METRIC_DEFINITIONS[metric]
    units = headroom_units(
        definition=definition, population=population, defects=defects, protected=protected, threshold=Decimal(threshold)
    )
    assert units == expected
    assert (units is None or units >= 0) == definition.passes(
        population=population, defects=defects, protected=protected, threshold=Decimal(threshold)
    )


@st.composite
def metric_worlds(draw):
    population = draw(st.integers(min_value=0, max_value=10**7))
    defects = draw(st.integers(min_value=0, max_value=population))
    protected = draw(st.integers(min_value=0, max_value=defects))
    # Thresholds are stored with five decimals between 0 and 1.
    threshold = Decimal(draw(st.integers(min_value=0, max_value=100_000))) / 100_000
    return draw(st.sampled_from(METRICS)), population, defects, protected, threshold


@given(metric_worlds())
@example(("on_time_delivery_rate", 1000, 65, 0, Decimal("0.935")))
@example(("cancellation_rate", 200, 1, 0, Decimal("0.005")))
@example(("on_time_shipment_rate", 3, 0, 0, Decimal("0.99999")))
def test_headroom_is_non_negative_exactly_when_the_metric_passes(world):
    metric, population, defects, protected, threshold = world
    definition = METRIC_DEFINITIONS[metric]
    units = headroom_units(
        definition=definition, population=population, defects=defects, protected=protected, threshold=threshold
    )
    passes = definition.passes(population=population, defects=defects, protected=protected, threshold=threshold)
    if population == 0:
        assert units is None and passes
        return
    assert (units >= 0) == passes
    # And it is tight: ``units`` more counted defects still pass, one more fails.
    assert definition.passes(population=population, defects=defects + units, protected=protected, threshold=threshold)
    assert not definition.passes(
        population=population, defects=defects + units + 1, protected=protected, threshold=threshold
    )


def test_weakest_metric_is_the_failing_one_else_the_closest_to_its_threshold():
    def headrooms(**units):
        return {name: Headroom(name, 30, u, p) for name, (u, p) in units.items()}

    assert weakest_metric(headrooms(on_time_shipment_rate=(5, 100), cancellation_rate=(1, 400))) == "cancellation_rate"
    assert (
        weakest_metric(headrooms(on_time_shipment_rate=(-1, 100), buy_shipping_rate=(-3, 1000)))
        == "on_time_shipment_rate"
    )
    assert weakest_metric(headrooms(on_time_shipment_rate=(None, 0))) is None


def test_headroom_on_the_dashboard_reads_the_snapshots_in_words(client, seller_user, seller, make_orders):
    # 30-day window: 20 due units, 2 delivered late on labels outside Buy Shipping.
    late = [
        adjusted(seller, OrderFactory.build(seller=seller, buy_shipping=False), delivered_at=None),
        adjusted(seller, OrderFactory.build(seller=seller, buy_shipping=False), delivered_at=None),
    ]
    make_orders(*(OrderFactory.build(seller=seller) for _ in range(18)), *late)
    daily_run(day=D)
    client.force_login(seller_user)
    response = client.get(DASHBOARD, {"window": 30})
    headroom = response.context["insights"].headroom
    # On-time delivery: floor(0.065 * 20) = 1 allowed, 2 counted: failing by 1.
    assert headroom["on_time_delivery_rate"].units == -1
    # Buy Shipping: 20 shipped, floor(0.01 * 20) = 0 allowed, 2 outside: failing by 2.
    assert headroom["buy_shipping_rate"].units == -2
    # Two-day speed: every promise is one day: floor(0.26 * 20) = 5 more slow promises allowed.
    assert headroom["two_day_delivery_speed"].units == 5
    html = response.content.decode()
    assert "Failing by 1 unit: 1 unprotected late delivery too many in the 30-day window." in html
    assert "Failing by 2 units: 2 shipments outside Buy Shipping too many in the 30-day window." in html
    assert (
        "You can afford 5 more units promised slower than two days in the 30-day window; "
        "one more than that and you lose Prime." in html
    )
    assert "No room left: one more seller cancellation in the 30-day window and you lose Prime." in html


# --- Orders at risk ---------------------------------------------------------------------


@pytest.fixture
def at_risk_world(seller, other_seller, make_orders):
    """As of Saturday, Nov. 21, 07:00 in Los Angeles (D = Nov. 20):

    - A, 2 units: shipped late on Nov. 20, in transit, promised for Nov. 22;
    - B, 1 unit: not scanned, promised to ship today;
    - C, 3 units: shipped on time, promised for today, not delivered;
    - E, 1 unit: not scanned, promised to ship Nov. 20 (passed), promised for Nov. 22;
    and decided orders, none listed: ten on time, one shipped and delivered late, one due
    Nov. 20 and undelivered (late already), one cancelled that was to ship today, one
    delivered early. The other seller has an order at risk of the same shape."""
    z = seller.zone
    a = OrderFactory.build(
        seller=seller, order_id="A", units=2, purchased_at=local_moment(seller, dt.date(2026, 11, 18), 9)
    )
    a.promised_delivery_date = dt.date(2026, 11, 22)
    adjusted(seller, a, first_scan_at=dt.datetime(2026, 11, 20, 10, tzinfo=z), delivered_at=None)
    b = OrderFactory.build(seller=seller, order_id="B", purchased_at=local_moment(seller, TODAY, 6))
    b.promised_delivery_date = dt.date(2026, 11, 23)
    adjusted(seller, b, first_scan_at=None, ship_confirmed_at=None, delivered_at=None)
    c = OrderFactory.build(
        seller=seller, order_id="C", units=3, purchased_at=local_moment(seller, dt.date(2026, 11, 19), 9)
    )
    c.promised_delivery_date = TODAY
    adjusted(seller, c, delivered_at=None)
    e = OrderFactory.build(seller=seller, order_id="E", purchased_at=local_moment(seller, dt.date(2026, 11, 20), 9))
    e.promised_delivery_date = dt.date(2026, 11, 22)
    adjusted(seller, e, first_scan_at=None, ship_confirmed_at=None, delivered_at=None)
    shipped_and_delivered_late = adjusted(
        seller,
        OrderFactory.build(seller=seller, order_id="LATE", purchased_at=local_moment(seller, dt.date(2026, 11, 14), 9)),
        first_scan_at=dt.datetime(2026, 11, 16, 10, tzinfo=z),
        delivered_at=dt.datetime(2026, 11, 17, 10, tzinfo=z),
    )
    due_yesterday = OrderFactory.build(
        seller=seller, order_id="DUEYESTERDAY", purchased_at=local_moment(seller, dt.date(2026, 11, 18), 9)
    )
    due_yesterday.promised_delivery_date = dt.date(2026, 11, 20)
    adjusted(seller, due_yesterday, delivered_at=None)
    cancelled = OrderFactory.build(seller=seller, order_id="CANCELLED", purchased_at=local_moment(seller, TODAY, 5))
    cancelled.cancelled_by = CancelledBy.SELLER
    adjusted(
        seller,
        cancelled,
        first_scan_at=None,
        ship_confirmed_at=None,
        delivered_at=None,
        cancelled_at=local_moment(seller, TODAY, 6),
    )
    early = OrderFactory.build(
        seller=seller, order_id="EARLY", purchased_at=local_moment(seller, dt.date(2026, 11, 20), 9)
    )
    early.promised_delivery_date = dt.date(2026, 11, 22)
    adjusted(seller, early, delivered_at=dt.datetime(2026, 11, 21, 6, tzinfo=z))
    theirs = OrderFactory.build(
        seller=other_seller, order_id="THEIRS", purchased_at=local_moment(other_seller, TODAY, 6)
    )
    adjusted(other_seller, theirs, first_scan_at=None, ship_confirmed_at=None, delivered_at=None)
    make_orders(
        *(OrderFactory.build(seller=seller, order_id=f"OK{i}") for i in range(10)),
        a,
        b,
        c,
        e,
        shipped_and_delivered_late,
        due_yesterday,
        cancelled,
        early,
        theirs,
    )
    daily_run(day=D)
    return seller


def test_orders_at_risk_are_listed_with_deadlines_in_the_sellers_time_zone(at_risk_world):
    at_risk = orders_at_risk(seller=at_risk_world, day=D, window_days=30, snapshots=snapshots_of(at_risk_world))
    la = at_risk_world.zone
    assert at_risk.today == TODAY
    listed = {o.order_id: o for o in at_risk.orders}
    assert set(listed) == {"A", "B", "C", "E"}
    assert (at_risk.count, at_risk.units, at_risk.more) == (4, 7, 0)
    assert listed["A"].kind == RiskKind.SHIPPED_LATE_IN_TRANSIT
    assert listed["A"].deadline == dt.datetime(2026, 11, 22, 23, 59, 59, tzinfo=la)
    assert listed["B"].kind == RiskKind.NOT_SCANNED_SHIP_TODAY
    # Today's carrier pickup, the default 17:00 of a Saturday, in Los Angeles.
    assert listed["B"].deadline == dt.datetime(2026, 11, 21, 17, 0, tzinfo=la) and listed["B"].deadline_is_pickup
    assert listed["C"].kind == RiskKind.DUE_TODAY
    assert listed["C"].deadline == dt.datetime(2026, 11, 21, 23, 59, 59, tzinfo=la)
    assert listed["E"].kind == RiskKind.NOT_SCANNED_OVERDUE
    assert listed["E"].deadline == dt.datetime(2026, 11, 22, 23, 59, 59, tzinfo=la)
    assert listed["C"].metrics == ("on_time_delivery_rate",)
    assert listed["A"].metrics == ("on_time_shipment_rate", "on_time_delivery_rate")


def test_a_deadline_that_has_passed_is_missed_not_open(client, seller_user, at_risk_world, clock):
    la = at_risk_world.zone
    # 18:00 on Saturday in Los Angeles: today's 17:00 pickup has left without B.
    evening = dt.datetime(2026, 11, 21, 18, 0, tzinfo=la)
    at_risk = orders_at_risk(
        seller=at_risk_world, day=D, window_days=30, snapshots=snapshots_of(at_risk_world), now=evening
    )
    assert {o.order_id: o.missed for o in at_risk.orders} == {"A": False, "B": True, "C": False, "E": False}
    clock.move_to(evening)
    client.force_login(seller_user)
    html = client.get(DASHBOARD, {"window": 30}).content.decode()
    (missed,) = [row for row in html.split('<tr class="portal-at-risk-order"')[1:] if "portal-deadline-missed" in row]
    assert "<code>B</code>" in missed and ">missed</span>" in missed


def test_projected_rates_add_the_at_risk_units_to_the_snapshot(at_risk_world):
    snapshots = snapshots_of(at_risk_world)
    shipment, delivery = snapshots["on_time_shipment_rate"], snapshots["on_time_delivery_rate"]
    # As of D: shipped = 10 on time + A 2 + C 3 + LATE 1 + DUEYESTERDAY 1 + EARLY 1 = 18, LATE late.
    assert (shipment.population_units, shipment.defect_units) == (18, 1)
    # Due by D: 10 on time, LATE, DUEYESTERDAY; both late, both on Buy Shipping labels.
    assert (delivery.population_units, delivery.defect_units, delivery.protected_units) == (12, 2, 2)
    projected = orders_at_risk(seller=at_risk_world, day=D, window_days=30, snapshots=snapshots).projected
    # On-time shipment: A, B and E go wrong; A is shipped by D already, B and E join the population.
    ots = projected["on_time_shipment_rate"]
    assert (ots.population, ots.defects, ots.protected) == (20, 5, 0)
    assert ots.rate == Fraction(15, 20) and not ots.passing
    # On-time delivery: all four go wrong; none was due by D; A and C shipped on Buy Shipping labels.
    otd = projected["on_time_delivery_rate"]
    assert (otd.population, otd.defects, otd.protected) == (19, 9, 7)
    # The rate that decides, as the verdict: protected late deliveries excused (9 - 7 counted).
    assert otd.counted == 2 and otd.rate == Fraction(17, 19) and not otd.passing
    # For eligibility 2 of 19 count: 89.47 % < 93.5 %.
    assert not otd.passing
    assert set(projected) == {"on_time_shipment_rate", "on_time_delivery_rate"}


def test_only_the_first_orders_at_risk_are_listed_with_a_count_of_the_rest(at_risk_world):
    at_risk = orders_at_risk(
        seller=at_risk_world, day=D, window_days=30, snapshots=snapshots_of(at_risk_world), limit=2
    )
    # Soonest promised delivery first (C today; A and E on Nov. 22, B on Nov. 23), then ship date.
    assert [o.order_id for o in at_risk.orders] == ["C", "A"]
    assert (len(at_risk.orders), at_risk.count, at_risk.more) == (2, 4, 2)


def test_today_is_the_sellers_local_date(seller, other_seller, make_orders):
    # 23:30 UTC on Nov. 21: still Nov. 21 in Los Angeles, already Nov. 22 in Berlin.
    now = dt.datetime(2026, 11, 21, 23, 30, tzinfo=dt.UTC)

    def due_nov_21(owner, order_id):
        order = OrderFactory.build(
            seller=owner, order_id=order_id, purchased_at=local_moment(owner, dt.date(2026, 11, 20), 9)
        )
        order.promised_delivery_date = dt.date(2026, 11, 21)
        return adjusted(owner, order, delivered_at=None)

    make_orders(due_nov_21(seller, "LA"), due_nov_21(other_seller, "BERLIN"))
    daily_run(day=D)
    here = orders_at_risk(seller=seller, day=D, window_days=7, snapshots=snapshots_of(seller, 7), now=now)
    there = orders_at_risk(seller=other_seller, day=D, window_days=7, snapshots=snapshots_of(other_seller, 7), now=now)
    assert [(o.order_id, o.kind) for o in here.orders] == [("LA", RiskKind.DUE_TODAY)]
    # In Berlin the promised day is over: the order is late already, decided, not at risk.
    assert there.count == 0 and there.today == dt.date(2026, 11, 22)


def test_the_dashboard_lists_orders_at_risk_and_the_projection(client, seller_user, at_risk_world):
    client.force_login(seller_user)
    response = client.get(DASHBOARD, {"window": 30})
    html = response.content.decode()
    assert "4 orders (7 units) are not decided yet and become defects if they go wrong." in html
    assert "Today is Nov. 21, 2026 in your time zone." in html
    assert "carrier pickup, Nov. 21, 2026, 17:00" in html
    assert "end of Nov. 22, 2026" in html
    assert "portal-deadline-missed" not in html  # 07:00: every deadline is still ahead
    assert 'id="projected-on_time_delivery_rate"' in html and "89.47 %" in html  # 17 / 19
    assert "(2 unprotected late deliveries of 19)" in html
    assert "THEIRS" not in html and "CANCELLED" not in html and "DUEYESTERDAY" not in html


# --- Root causes ------------------------------------------------------------------------


def late_shipment(seller, purchased_at, **fields):
    """Scanned two days after the promised ship date and delivered three days late."""
    return OrderFactory.build(seller=seller, purchased_at=purchased_at, late=True, **fields)


def late_delivery(seller, purchased_at, **fields):
    return OrderFactory.build(seller=seller, purchased_at=purchased_at, late_delivery=3, **fields)


def test_root_causes_name_the_largest_contributor_and_the_cutoff_weekday(seller, make_orders):
    friday, wednesday = dt.date(2026, 11, 13), dt.date(2026, 11, 11)
    make_orders(
        late_shipment(seller, local_moment(seller, friday, 15), units=5, carrier="FedEx Home", ship_to_state="TX"),
        late_shipment(seller, local_moment(seller, friday, 10), units=2, ship_to_state="CA"),
        late_shipment(seller, local_moment(seller, wednesday, 16), ship_to_state="CA"),
        *(OrderFactory.build(seller=seller) for _ in range(20)),
    )
    daily_run(day=D)
    summary = root_cause_card(root_cause_summary(seller=seller, day=D, window_days=30, metric="on_time_shipment_rate"))
    assert summary.causes.total_units == 8
    # 7 of 8 units were bought on a Friday: the weekday beats FedEx Home's 5 and Texas's 5.
    assert summary.largest_sentence == "88 % of your units shipped late and delivered late were ordered on a Friday."
    # 5 of 8 bought after Friday's 14:00 cutoff, 1 after Wednesday's.
    assert [(s.label, s.units) for s in summary.cutoff.after_cutoff_by_weekday] == [("Friday", 5), ("Wednesday", 1)]
    assert summary.after_cutoff_sentence == (
        "63 % of your units shipped late and delivered late were ordered after your Friday cutoff."
    )
    assert [(h.hour, h.units, h.after_cutoff_units) for h in summary.cutoff.hours] == [
        (10, 2, 0),
        (15, 5, 5),
        (16, 1, 1),
    ]
    assert sum(h.units for h in summary.cutoff.hours) == summary.causes.total_units


def test_root_causes_name_a_carrier_and_a_day_not_operated(seller, make_orders):
    # 12 late deliveries on 12 consecutive days, 3 to each of 4 states, 7 carried by FedEx Home.
    states = ["TX", "CA", "NY", "WA"]
    make_orders(
        *(
            late_delivery(
                seller,
                local_moment(seller, D - dt.timedelta(days=8 + i), 15),
                carrier="FedEx Home" if i < 7 else "UPS Ground",
                ship_to_state=states[i % 4],
            )
            for i in range(12)
        )
    )
    daily_run(day=D)
    summary = root_cause_card(root_cause_summary(seller=seller, day=D, window_days=30, metric="on_time_delivery_rate"))
    assert summary.largest_sentence == "FedEx Home carried 58 % of your late deliveries."
    # Purchases at 15:00 fall after the weekday cutoffs; Sundays are not operated by default.
    by_weekday = {s.label: s.units for s in summary.cutoff.after_cutoff_by_weekday}
    assert sum(by_weekday.values()) == 12


def test_a_late_shipment_bought_on_a_closed_day_is_named_so(seller, make_orders):
    sunday = dt.date(2026, 11, 15)
    make_orders(
        late_shipment(seller, local_moment(seller, sunday, 9), units=3),
        *(OrderFactory.build(seller=seller) for _ in range(10)),
    )
    daily_run(day=D)
    summary = root_cause_card(root_cause_summary(seller=seller, day=D, window_days=30, metric="on_time_shipment_rate"))
    assert (
        summary.after_cutoff_sentence
        == "100 % of your units shipped late and delivered late were ordered on Sunday, a day you do not ship."
    )


def test_the_dashboard_explains_the_failing_metric(client, seller_user, seller, make_orders):
    friday = dt.date(2026, 11, 13)
    make_orders(
        late_shipment(seller, local_moment(seller, friday, 15), units=5, carrier="FedEx Home", ship_to_state="TX"),
        late_shipment(seller, local_moment(seller, friday, 10), units=2, ship_to_state="CA"),
        late_shipment(seller, local_moment(seller, dt.date(2026, 11, 11), 16), ship_to_state="CA"),
        *(OrderFactory.build(seller=seller) for _ in range(20)),
    )
    daily_run(day=D)
    client.force_login(seller_user)
    response = client.get(DASHBOARD, {"window": 30})
    assert response.context["insights"].root_causes.metric == "on_time_shipment_rate"
    html = response.content.decode()
    assert "63 % of your units shipped late and delivered late were ordered after your Friday cutoff." in html
    assert "88 % of your units shipped late and delivered late were ordered on a Friday." in html


# --- Settings that predict defects ------------------------------------------------------


def test_sound_default_settings_predict_nothing(seller, make_orders):
    make_orders(late_shipment(seller, local_moment(seller, dt.date(2026, 11, 13), 15)))
    assert settings_risks(seller=seller, day=D, window_days=30) == []


def test_a_cutoff_after_the_last_pickup_costs_the_orders_bought_in_between(seller, make_orders):
    friday = dt.date(2026, 11, 13)
    OperatingDay.objects.filter(seller=seller, weekday=Weekday.FRIDAY).update(cutoff=dt.time(16, 0))
    CarrierPickup.objects.filter(carrier_service__seller=seller, weekday=Weekday.FRIDAY).update(
        pickup_time=dt.time(15, 0)
    )
    make_orders(
        late_shipment(seller, local_moment(seller, friday, 15, 30), units=2),  # between pickup and cutoff
        late_shipment(seller, local_moment(seller, friday, 15, 0)),  # at the pickup: missed it too
        late_shipment(seller, local_moment(seller, friday, 14, 30)),  # before the pickup
        late_shipment(seller, local_moment(seller, friday, 16, 30)),  # after the cutoff: promised Monday
        late_shipment(seller, local_moment(seller, dt.date(2026, 11, 12), 15, 30)),  # a Thursday
        OrderFactory.build(seller=seller, purchased_at=local_moment(seller, friday, 15, 40)),  # on time
    )
    [risk] = map(settings_risk_card, settings_risks(seller=seller, day=D, window_days=30))
    assert risk.kind == "cutoff_after_pickup"
    assert (risk.orders, risk.units) == (2, 3)
    assert risk.fix_url == reverse("sellers:fulfilment")
    assert "Friday cutoff is 16:00, but the last carrier pickup is at 15:00" in risk.detail


def test_one_day_regions_no_carrier_reaches_in_one_day_cost_their_late_deliveries(seller, make_orders):
    PrimeRegion.objects.filter(seller=seller, state__in=["CA", "NV"]).update(speed=Speed.ONE_DAY)
    make_orders(
        late_delivery(seller, local_moment(seller, dt.date(2026, 11, 10), 9), ship_to_state="CA", units=2),
        late_delivery(seller, local_moment(seller, dt.date(2026, 11, 10), 9), ship_to_state="TX"),
        OrderFactory.build(seller=seller, ship_to_state="CA"),
    )
    [risk] = map(settings_risk_card, settings_risks(seller=seller, day=D, window_days=30))
    assert risk.kind == "one_day_unreachable" and "CA, NV" in risk.detail
    assert (risk.orders, risk.units) == (1, 2)
    assert risk.fix_url == reverse("sellers:shipping_template")
    # A carrier reaching both in one day removes the risk.
    for state in ("CA", "NV"):
        CarrierZone.objects.filter(carrier_service__seller=seller, state=state).update(transit_days=1)
    assert settings_risks(seller=seller, day=D, window_days=30) == []


def test_a_weekend_day_operated_without_pickup_costs_its_late_shipments(seller, make_orders):
    saturday = dt.date(2026, 11, 14)
    CarrierPickup.objects.filter(carrier_service__seller=seller, weekday=Weekday.SATURDAY).delete()
    make_orders(
        late_shipment(seller, local_moment(seller, saturday, 9), units=4),
        late_shipment(seller, local_moment(seller, dt.date(2026, 11, 13), 9)),  # a Friday
        OrderFactory.build(seller=seller, purchased_at=local_moment(seller, saturday, 8)),
    )
    [risk] = map(settings_risk_card, settings_risks(seller=seller, day=D, window_days=30))
    assert risk.kind == "weekend_without_pickup"
    assert (risk.orders, risk.units) == (1, 4)
    assert risk.fix_url == reverse("sellers:carriers")


def test_the_dashboard_shows_each_settings_risk_with_its_fix(client, seller_user, seller, make_orders):
    CarrierPickup.objects.filter(carrier_service__seller=seller, weekday=Weekday.SATURDAY).delete()
    make_orders(late_shipment(seller, local_moment(seller, dt.date(2026, 11, 14), 9), units=4))
    daily_run(day=D)
    client.force_login(seller_user)
    html = client.get(DASHBOARD).content.decode()
    assert 'data-kind="weekend_without_pickup"' in html
    assert "Late shipments of orders bought on Saturday in the last 30 days: 1 orders, 4 units." in html
    assert f'href="{reverse("sellers:carriers")}">Add a carrier pickup</a>' in html


# --- Reconciliation: the orders behind every population figure --------------------------


@pytest.fixture
def varied(seller, other_seller, make_orders):
    """Orders that fall in and out of every metric's population, and the other seller's."""
    z = seller.zone
    base = dt.date(2026, 11, 10)
    cancelled = OrderFactory.build(seller=seller, purchased_at=local_moment(seller, base, 9))
    cancelled.cancelled_by = CancelledBy.SELLER
    adjusted(
        seller,
        cancelled,
        first_scan_at=None,
        ship_confirmed_at=None,
        delivered_at=None,
        cancelled_at=local_moment(seller, base, 12),
    )
    unconfirmed = adjusted(seller, OrderFactory.build(seller=seller, units=2), ship_confirmed_at=None)
    no_tracking = OrderFactory.build(seller=seller, tracking_id="", units=3)
    slow = OrderFactory.build(seller=seller, purchased_at=local_moment(seller, base, 9), units=2)
    slow.promised_delivery_date = base + dt.timedelta(days=4)
    adjusted(seller, slow, delivered_at=dt.datetime(2026, 11, 13, 9, tzinfo=z))
    not_due = OrderFactory.build(seller=seller, purchased_at=local_moment(seller, D, 9))
    not_due.promised_delivery_date = D + dt.timedelta(days=2)
    adjusted(seller, not_due, first_scan_at=None, ship_confirmed_at=None, delivered_at=None)
    make_orders(
        *(OrderFactory.build(seller=seller, purchased_on=D - dt.timedelta(days=i)) for i in range(1, 9)),
        late_shipment(seller, local_moment(seller, dt.date(2026, 11, 13), 15), units=3),
        late_delivery(seller, local_moment(seller, base, 9), buy_shipping=False),
        cancelled,
        unconfirmed,
        no_tracking,
        slow,
        not_due,
        OrderFactory.build(seller=seller, purchased_on=D - dt.timedelta(days=40)),  # outside both windows
        *(OrderFactory.build(seller=other_seller) for _ in range(3)),
    )
    daily_run(day=D)
    return seller


@pytest.mark.parametrize("window", [7, 30])
def test_population_links_list_exactly_the_cards_population_units(client, seller_user, varied, window):
    client.force_login(seller_user)
    response = client.get(DASHBOARD, {"window": window})
    html = response.content.decode()
    for card in response.context["cards"]:
        snapshot = card.snapshot
        assert card.population_url == f"{POPULATION}?window={window}&metric={card.name}"
        if snapshot.population_units:
            assert f'href="{card.population_url.replace("&", "&amp;")}"' in html
        listed, page_number, defect_units = 0, 1, 0
        while True:
            page = client.get(POPULATION, {"window": window, "metric": card.name, "page": page_number})
            assert page.status_code == 200
            listed += sum(order.units for order in page.context["page"])
            defect_units += sum(order.units for order in page.context["page"] if order.is_defect)
            if not page.context["page"].has_next():
                break
            page_number += 1
        assert page.context["total_units"] == listed == snapshot.population_units, card.name
        assert defect_units == snapshot.defect_units, card.name


def test_population_csv_sums_to_the_population_units(client, seller_user, varied):
    client.force_login(seller_user)
    for metric in METRICS:
        response = client.get(reverse("metrics:population_csv"), {"window": 30, "metric": metric})
        assert response.streaming and response["Content-Type"] == "text/csv; charset=utf-8"
        rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
        snapshot = varied.metric_snapshots.get(day=D, window_days=30, metric=metric)
        assert sum(int(row["units"]) for row in rows) == snapshot.population_units, metric
        assert sum(int(row["units"]) for row in rows if row["defect"] == "X") == snapshot.defect_units, metric


def test_population_page_refuses_a_missing_or_unknown_metric(client, seller_user, varied):
    client.force_login(seller_user)
    missing = client.get(POPULATION, {"window": 30})
    assert missing.status_code == 400 and "Choose a metric" in missing.content.decode()
    unknown = client.get(POPULATION, {"window": 30, "metric": "speed"})
    assert unknown.status_code == 400 and "is not a metric" in unknown.content.decode()
    assert client.get(reverse("metrics:population_csv"), {"window": 9, "metric": METRICS[0]}).status_code == 400


def test_population_page_states_the_time_zone(client, seller_user, varied):
    client.force_login(seller_user)
    html = client.get(POPULATION, {"window": 30, "metric": "on_time_delivery_rate"}).content.decode()
    assert "your time zone, America/Los_Angeles" in html


# --- Isolation --------------------------------------------------------------------------


def test_another_sellers_orders_never_appear(client, other_seller_user, other_seller, at_risk_world, make_orders):
    make_orders(*(OrderFactory.build(seller=other_seller) for _ in range(3)))
    daily_run(day=D)
    client.force_login(other_seller_user)
    response = client.get(DASHBOARD, {"window": 30})
    assert [o.order_id for o in response.context["at_risk"].orders] == ["THEIRS"]
    html = response.content.decode()
    for order_id in ("<code>A</code>", "<code>B</code>", "<code>C</code>", "<code>E</code>"):
        assert order_id not in html
    for metric in METRICS:
        page = client.get(POPULATION, {"window": 30, "metric": metric})
        assert {order.seller_id for order in page.context["page"]} <= {other_seller.pk}
        assert (
            page.context["total_units"]
            == other_seller.metric_snapshots.get(day=D, window_days=30, metric=metric).population_units
        )


def test_population_pages_need_a_seller_login(client, reviewer):
    assert client.get(POPULATION, {"metric": METRICS[0]}).status_code == 302
    client.force_login(reviewer)
    assert client.get(POPULATION, {"metric": METRICS[0]}).status_code == 404


def _order_queries(seller, now) -> list[str]:
    """The queries on orders that the JSON status's insights of D ran (``now`` is the
    patched clock's)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from metrics.api import cached_insights_payload

    snapshots = snapshots_of(seller)
    with CaptureQueriesContext(connection) as queries:
        cached_insights_payload(seller=seller, day=D, window_days=30, snapshots=snapshots)
    return [q["sql"] for q in queries.captured_queries if '"sellers_order"' in q["sql"]]


def test_insights_are_cached_until_a_new_snapshot_a_settings_change_or_five_minutes(
    seller, make_orders, locmem_cache, clock
):
    """The insights read the seller's orders once; repeated calls read the cache, and
    anything the insights show invalidates it: a new daily run, a settings change, time. The
    JSON status's here; the dashboard's, in its content, in test_dashboard_cache.py: both
    are kept in the one cache of a seller's pages (``metrics.presenters.cache``)."""
    from metrics.presenters.cache import SELLER_CACHE_SECONDS
    from metrics.services import daily_run
    from sellers.factories import D

    make_orders(*(OrderFactory.build(seller=seller) for _ in range(3)))
    daily_run(day=D)
    now = dt.datetime(2026, 11, 21, 18, 0, tzinfo=dt.UTC)
    clock.move_to(now)
    assert _order_queries(seller, now)  # computed
    assert _order_queries(seller, now) == []  # from the cache
    daily_run(day=D)  # recomputed: its snapshots carry a new moment (the clock's)
    assert _order_queries(seller, now)
    assert _order_queries(seller, now) == []
    from sellers.models import AuditEntry

    AuditEntry.objects.create(seller=seller, action=AuditEntry.Action.FULFILMENT, summary="")
    assert _order_queries(seller, now)  # a settings change shows at once
    later = now + dt.timedelta(seconds=SELLER_CACHE_SECONDS)
    clock.move_to(later)
    assert _order_queries(seller, later)  # orders at risk are at most five minutes old
