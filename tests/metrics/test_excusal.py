"""Approved incidents in the metrics engine (SPEC section 7): the daily run stores the units
they excuse as of D and judges without them, and the JSON, the dashboard, the defect list,
the population page and the Create POA page say what is excused and by which incident.

The world, worked by hand: in the 7-day window 204 shipped units, 200 on time and two late
orders of 2 units, "A" and "B" (shipped late and delivered late, on Buy Shipping labels:
protected for on-time delivery, not for on-time shipment). On-time shipment (>= 99 %):
allowance floor(2.04) = 2, 4 defect units: failing by 2. With A excused, 2 counted:
headroom 0, below max(1, ceil(2 / 4)) = 1: at risk. With both excused: headroom 2, passing
with room. The 30-day window adds 800 on-time units: allowance 10, never failing.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest
from django.urls import reverse

from metrics.definitions import snapshot_column
from metrics.insights.at_risk import Projection
from metrics.models import DailySnapshot, Incident, MetricSnapshot, SellerAtRisk
from metrics.reasons import MetricReason, revocation_reasons_from_json
from metrics.selectors import excused_units_by_incident, metric_count_rows
from metrics.services import daily_run
from sellers.choices import ProgrammeStatus
from sellers.factories import D, OrderFactory, local_moment
from sellers.models import SellerEvent, day_end
from tests.metrics.test_defect_report import HEADER_LINE

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

OTS = "on_time_shipment_rate"
CARRIER = "UPS Ground"


def world_orders(seller, late=("A", "B")):
    return [
        OrderFactory.build(seller=seller, units=100),
        OrderFactory.build(seller=seller, units=100),
        *(OrderFactory.build(seller=seller, order_id=order_id, units=2, late=True) for order_id in late),
        *(OrderFactory.build(seller=seller, units=100, purchased_on=D - dt.timedelta(days=20)) for _ in range(8)),
    ]


@pytest.fixture
def world(seller, make_orders):
    make_orders(*world_orders(seller))
    return seller


def approve(seller, *, order_ids=(), carrier="", metrics=(OTS,), decided_at=None) -> Incident:
    """An incident approved (by default the day before D) for ``metrics``, over the week to D."""
    decided_at = decided_at or local_moment(seller, D - dt.timedelta(days=1), 15)
    return Incident.objects.create(
        seller=seller,
        kind=Incident.Kind.CARRIER,
        carrier=carrier,
        start_date=D - dt.timedelta(days=6),
        end_date=D,
        description="The carrier's hub was closed by a flood for two days.",
        order_ids=list(order_ids),
        status=Incident.Status.APPROVED,
        submitted_at=decided_at - dt.timedelta(days=1),
        decided_at=decided_at,
        excused_metrics=list(metrics),
    )


def snapshot(seller, window_days=7, metric=OTS, day=D) -> MetricSnapshot:
    return MetricSnapshot.objects.get(seller=seller, day=day, window_days=window_days, metric=metric)


# --- The daily run ----------------------------------------------------------------------


def test_without_incidents_the_late_units_revoke_the_seller(world):
    daily_run(day=D)
    world.refresh_from_db()
    assert world.status == ProgrammeStatus.NOT_ELIGIBLE
    assert (snapshot(world).defect_units, snapshot(world).excused_units, snapshot(world).passing) == (4, 0, False)


def test_a_seller_whose_only_failing_units_are_excused_is_not_revoked(world):
    approve(world, order_ids=["A", "B"])
    daily_run(day=D)
    world.refresh_from_db()
    assert world.status == ProgrammeStatus.ELIGIBLE
    assert not SellerEvent.objects.filter(seller=world, kind=SellerEvent.Kind.REVOKED).exists()
    ots = snapshot(world)
    # The rate shown counts every defect; the verdict does not count the excused ones.
    assert (ots.defect_units, ots.protected_units, ots.excused_units) == (4, 0, 4)
    assert ots.rate == pytest.approx(200 / 204) and ots.eligibility_rate == 1.0
    assert ots.passing and ots.headroom == 2 and not ots.at_risk
    # The late deliveries are protected by Buy Shipping, so not excused too.
    otd = snapshot(world, metric="on_time_delivery_rate")
    assert (otd.defect_units, otd.protected_units, otd.excused_units) == (4, 4, 0)


def test_an_incident_approved_after_d_counts_from_the_next_day_on(world, clock):
    approve(world, order_ids=["A", "B"], decided_at=day_end(D, world.timezone))  # the first moment of D+1
    daily_run(day=D)
    first = DailySnapshot.objects.get(seller=world, day=D)
    assert getattr(first, snapshot_column(OTS, 7, "excused")) == 0
    world.refresh_from_db()
    assert world.status == ProgrammeStatus.NOT_ELIGIBLE
    # Recomputing D later changes nothing: the approval came after its end.
    daily_run(day=D)
    again = DailySnapshot.objects.get(seller=world, day=D)
    assert getattr(again, snapshot_column(OTS, 7, "excused")) == 0
    assert not getattr(again, snapshot_column(OTS, 7, "passing"))
    clock.move_to(local_moment(world, D + dt.timedelta(days=2), 7))
    daily_run(day=D + dt.timedelta(days=1))
    assert snapshot(world, day=D + dt.timedelta(days=1)).excused_units == 4


def test_an_incident_approved_in_the_last_minute_of_d_counts_for_d(world):
    approve(world, order_ids=["A", "B"], decided_at=day_end(D, world.timezone) - dt.timedelta(minutes=1))
    daily_run(day=D)
    assert snapshot(world).excused_units == 4
    world.refresh_from_db()
    assert world.status == ProgrammeStatus.ELIGIBLE


def test_excused_units_leave_a_metric_at_risk_and_the_entry_says_so(world, client, seller_user):
    approve(world, order_ids=["A"])
    daily_run(day=D)
    ots = snapshot(world)
    assert (ots.excused_units, ots.headroom, ots.passing, ots.at_risk) == (2, 0, True, True)
    assert SellerAtRisk.objects.filter(seller=world).exists()  # the SQL half of the entry agrees
    client.force_login(seller_user)
    body = client.get("/api/performance/", {"window": 30}).json()
    assert body["at_risk"] is True
    assert body["insights"]["headroom"][OTS] == 10 - 2  # the 30-day window: 4 defects, 2 excused


def test_another_sellers_incident_excuses_nothing_here(world, other_seller, make_orders):
    make_orders(*world_orders(other_seller))  # the same order ids, A and B
    approve(world, order_ids=["A", "B"])
    daily_run(day=D)
    assert snapshot(world).excused_units == 4
    assert snapshot(other_seller).excused_units == 0
    other_seller.refresh_from_db()
    assert other_seller.status == ProgrammeStatus.NOT_ELIGIBLE


def test_a_day_without_incidents_counts_with_the_query_it_always_ran(world, other_seller):
    """The daily run pays for incidents only when some counts: without one, the counts are
    the same statement, without an excused column or the incidents' table."""
    without = str(metric_count_rows(day=D, seller_ids=[world.pk]).query)
    assert "excused" not in without and Incident._meta.db_table not in without
    approve(other_seller, order_ids=["A"])  # another seller's, not asked for
    approve(world, order_ids=["A"], decided_at=day_end(D, world.timezone))  # counts from D+1 on
    Incident.objects.create(  # still under review
        seller=world,
        kind=Incident.Kind.WEATHER,
        start_date=D - dt.timedelta(days=2),
        end_date=D,
        description="A snow storm closed the roads for two days.",
        submitted_at=local_moment(world, D, 9),
        excused_metrics=[OTS],
    )
    assert str(metric_count_rows(day=D, seller_ids=[world.pk]).query) == without
    approve(world, order_ids=["A"])
    with_incident = metric_count_rows(day=D, seller_ids=[world.pk])
    excused_columns = {name for name in with_incident.query.annotations if name.startswith("excused_")}
    assert excused_columns == {
        snapshot_column(name, window, "excused")
        for window in (7, 30)
        for name in ("on_time_shipment_rate", "on_time_delivery_rate", "valid_tracking_rate", "cancellation_rate")
    }


# --- Which incident excuses what ---------------------------------------------------------


@pytest.fixture
def two_incidents(world, other_seller, make_orders):
    """Incident 1 lists A; incident 2 covers every UPS Ground order of the week, A and B: A's
    units are the lower id's."""
    make_orders(*world_orders(other_seller))
    first = approve(world, order_ids=["A"])
    second = approve(world, carrier=CARRIER)
    daily_run(day=D)
    return first, second


def test_each_excused_unit_is_attributed_to_the_lowest_covering_incident(world, two_incidents):
    first, second = two_incidents
    for window_days in (7, 30):
        assert excused_units_by_incident(seller=world, day=D, window_days=window_days) == {
            OTS: [(first, 2), (second, 2)]
        }


def test_json_says_what_is_excused_and_by_which_incident(client, seller_user, world, two_incidents):
    first, second = two_incidents
    client.force_login(seller_user)
    metrics = client.get("/api/performance/", {"window": 7}).json()["metrics"]
    ots = metrics[OTS]
    assert (ots["defect_units"], ots["excused_units"], ots["passing"]) == (4, 4, True)
    assert ots["excused_by"] == [{"incident": first.pk, "units": 2}, {"incident": second.pk, "units": 2}]
    assert ots["rate"] == pytest.approx(200 / 204) and ots["eligibility_rate"] == 1.0
    assert "protected_units" not in ots
    # Nothing excused, nothing judged apart: no eligibility rate.
    assert metrics["buy_shipping_rate"]["excused_units"] == 0 and metrics["buy_shipping_rate"]["excused_by"] == []
    assert "eligibility_rate" not in metrics["buy_shipping_rate"]
    otd = metrics["on_time_delivery_rate"]
    assert (otd["protected_units"], otd["excused_units"], otd["excused_by"]) == (4, 0, [])


def test_the_dashboard_card_names_each_excusing_incident_with_its_link(client, seller_user, world, two_incidents):
    first, second = two_incidents
    client.force_login(seller_user)
    response = client.get(reverse("metrics:dashboard"), {"window": 7})
    card = next(c for c in response.context["cards"] if c.name == OTS)
    assert card.excused_by == [(first, 2), (second, 2)]
    assert card.judged_apart and card.eligibility_percent == "100.00 %"
    html = response.content.decode()
    for incident in (first, second):
        url = reverse("metrics:incident_detail", args=[incident.pk])
        assert f'2 units excused by <a href="{url}">incident #{incident.pk}</a>' in html
    # The glance table leads with the rate judged and shows the rate with every defect beside it.
    row = next(r for r in response.context["metric_rows"] if r.name == OTS)
    cell = row.cells[0]
    assert (cell.state, cell.lead, cell.shown) == ("passing", "100.00 %", "98.03 %")


def test_the_dashboard_in_german_says_entschuldigt(client, seller_user, world, two_incidents):
    first, _second = two_incidents
    client.force_login(seller_user)
    html = client.get(reverse("metrics:dashboard"), {"window": 7}, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    url = reverse("metrics:incident_detail", args=[first.pk])
    assert f'2 Einheiten entschuldigt durch <a href="{url}">Störung #{first.pk}</a>' in html


def test_the_defect_list_marks_each_excused_order_with_its_incident(client, seller_user, world, two_incidents):
    first, second = two_incidents
    client.force_login(seller_user)
    response = client.get(reverse("metrics:defects"), {"window": 7})
    excusals = {row.order.order_id: row.excusals for row in response.context["rows"]}
    assert [(tag.incident, tag.label) for tag in excusals["A"]] == [
        (first.pk, f"Excused: On-time shipment rate, incident #{first.pk}")
    ]
    assert [tag.incident for tag in excusals["B"]] == [second.pk]
    html = response.content.decode()
    assert f'href="{reverse("metrics:incident_detail", args=[second.pk])}"' in html
    # The CSV keeps its columns and still flags the orders.
    lines = b"".join(client.get(reverse("metrics:defects_csv"), {"window": 7}).streaming_content).decode()
    header, *rows = lines.splitlines()
    assert header == HEADER_LINE
    assert sorted(row.split(",")[0] for row in rows) == ["A", "B"]


def test_the_population_page_does_not_count_excused_defects(client, seller_user, world, two_incidents):
    client.force_login(seller_user)
    response = client.get(reverse("metrics:population"), {"window": 7, "metric": OTS})
    assert response.context["defect_units"] == 0
    assert response.content.decode().count("excused by an approved incident") == 2


# --- A revocation for which some units were excused ---------------------------------------


@pytest.fixture
def revoked_with_excused(seller, make_orders):
    """A third late order, C: 6 defect units, A's 2 excused, 4 counted: failing by 2."""
    make_orders(*world_orders(seller, late=("A", "B", "C")))
    approve(seller, order_ids=["A"])
    daily_run(day=D)
    seller.refresh_from_db()
    return seller


def test_the_revocation_reason_records_and_says_the_excused_units(revoked_with_excused):
    assert revoked_with_excused.status == ProgrammeStatus.NOT_ELIGIBLE
    revocation = SellerEvent.objects.get(seller=revoked_with_excused, kind=SellerEvent.Kind.REVOKED)
    [reason] = revocation_reasons_from_json(revocation.reasons)
    assert isinstance(reason, MetricReason)
    assert (reason.window_days, reason.metric, reason.defect_units, reason.excused_units) == (7, OTS, 6, 2)
    assert reason.eligibility_rate == pytest.approx(1 - 4 / 206)


def test_create_poa_shows_the_excused_units_of_each_failing_item(client, seller_user, revoked_with_excused):
    client.force_login(seller_user)
    html = client.get(reverse("metrics:poa_create")).content.decode()
    assert "(4 of 206 shipped units were defects). 2 more defect units were excused by approved incidents" in html


# --- The projection of orders at risk -----------------------------------------------------


def test_the_projection_does_not_count_the_excused_units_of_d():
    projection = Projection(metric=OTS, population=300, defects=5, protected=0, excused=2, threshold=Decimal("0.99"))
    assert projection.counted == 3 and projection.passing and projection.rate == Fraction(297, 300)
