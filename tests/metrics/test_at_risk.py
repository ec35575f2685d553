"""At-risk (SPEC section 8): the rule on one metric against hand-worked cases, its SQL half
against its Python half, the JSON ``at_risk`` fields, and the daily run's entry (an email
once per entry, not daily)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from metrics import sql as statements
from metrics.definitions import AT_RISK_SQL, METRIC_DEFINITIONS, METRICS, at_risk_bound, seller_at_risk
from metrics.models import DailySnapshot, MetricSnapshot, SellerAtRisk
from metrics.services import daily_run, sellers_entered_at_risk
from sellers.choices import ProgrammeStatus
from sellers.factories import D, OrderFactory
from sellers.services import seller_user_create
from tests.metrics.sql_rules import counts_and_threshold, sql_value

OTS = METRIC_DEFINITIONS["on_time_shipment_rate"]  # >= 99 %
OTD = METRIC_DEFINITIONS["on_time_delivery_rate"]  # >= 93.5 %, Buy Shipping protection
CANCELLATION = METRIC_DEFINITIONS["cancellation_rate"]  # <= 0.5 %
P99, P935, P05 = Decimal("0.99"), Decimal("0.935"), Decimal("0.005")


# --- The rule, by hand ------------------------------------------------------------------


@pytest.mark.parametrize(("allowance", "bound"), [(0, 1), (1, 1), (3, 1), (4, 1), (5, 2), (8, 2), (9, 3), (40, 10)])
def test_the_bound_is_max_of_one_and_a_quarter_of_the_allowance_rounded_up(allowance, bound):
    assert at_risk_bound(allowance) == bound


@pytest.mark.parametrize(
    ("population", "defects", "allowance", "headroom", "at_risk"),
    [
        # Allowance 0 (floor(1 % of 50)): no defect allowed, headroom 0 < max(1, 0): at risk.
        (50, 0, 0, 0, True),
        (50, 1, 0, -1, False),  # failing is not "at risk"
        # Allowance 3 (300 units), bound max(1, ceil(3/4)) = 1.
        (300, 2, 3, 1, False),  # exactly at the bound
        (300, 3, 3, 0, True),
        (300, 4, 3, -1, False),
        # Allowance 4 (400 units), bound 1.
        (400, 3, 4, 1, False),
        (400, 4, 4, 0, True),
        # Allowance 5 (500 units), bound ceil(5/4) = 2.
        (500, 3, 5, 2, False),  # exactly at the bound
        (500, 4, 5, 1, True),
        # Allowance 8 (800 units), bound 2.
        (800, 6, 8, 2, False),
        (800, 7, 8, 1, True),
        (800, 8, 8, 0, True),
        # floor(1 % of 202) = 2: the floor, not 2.02.
        (202, 2, 2, 0, True),
        (202, 1, 2, 1, False),
    ],
)
def test_on_time_shipment_at_risk_by_hand(population, defects, allowance, headroom, at_risk):
    figures = {"population": population, "defects": defects, "protected": 0, "threshold": P99}
    assert OTS.allowance(population=population, threshold=P99) == allowance
    assert OTS.headroom(**figures) == headroom
    assert OTS.at_risk(**figures) is at_risk
    assert OTS.passes(**figures) is (headroom >= 0)


def test_population_zero_is_not_at_risk():
    assert OTS.headroom(population=0, defects=0, protected=0, threshold=P99) is None
    assert OTS.at_risk(population=0, defects=0, protected=0, threshold=P99) is False
    assert CANCELLATION.at_risk(population=0, defects=0, protected=0, threshold=P05) is False


@pytest.mark.parametrize(
    ("population", "defects", "headroom", "at_risk"),
    [
        # Allowance floor(0.5 % of 1000) = 5, bound 2.
        (1000, 3, 2, False),
        (1000, 4, 1, True),
        (1000, 5, 0, True),
        (1000, 6, -1, False),
        # Allowance floor(0.5 % of 199) = 0: no cancellation allowed at all.
        (199, 0, 0, True),
        # Allowance floor(0.5 % of 200) = 1, bound 1.
        (200, 0, 1, False),
    ],
)
def test_cancellation_rate_allowance_is_the_threshold_share(population, defects, headroom, at_risk):
    figures = {"population": population, "defects": defects, "protected": 0, "threshold": P05}
    assert CANCELLATION.headroom(**figures) == headroom
    assert CANCELLATION.at_risk(**figures) is at_risk


@pytest.mark.parametrize(
    ("defects", "protected", "headroom", "at_risk"),
    [
        # Allowance floor(6.5 % of 100) = 6, bound 2; protected units are not counted.
        (10, 5, 1, True),
        (10, 6, 2, False),
        (6, 0, 0, True),
        (8, 0, -2, False),
    ],
)
def test_protected_units_are_not_counted(defects, protected, headroom, at_risk):
    figures = {"population": 100, "defects": defects, "protected": protected, "threshold": P935}
    assert OTD.allowance(population=100, threshold=P935) == 6
    assert OTD.headroom(**figures) == headroom
    assert OTD.at_risk(**figures) is at_risk


def test_a_seller_is_at_risk_only_when_eligible():
    assert seller_at_risk(eligible=True, metrics_at_risk=[False, True]) is True
    assert seller_at_risk(eligible=True, metrics_at_risk=[False, False]) is False
    assert seller_at_risk(eligible=False, metrics_at_risk=[True]) is False


# --- The SQL half against the Python half -----------------------------------------------


def _sql_at_risk(
    metric: str, population: int, defects: int, protected: int, threshold: Decimal, excused: int = 0
) -> bool:
    return sql_value(
        AT_RISK_SQL,
        metric,
        population=population,
        defects=defects,
        protected=protected,
        excused=excused,
        threshold=threshold,
    )


@pytest.mark.django_db
@settings(max_examples=200, deadline=None)
@given(figures=counts_and_threshold(), metric=st.sampled_from(METRICS))
def test_sql_at_risk_equals_python_at_risk(figures, metric):
    definition = METRIC_DEFINITIONS[metric]
    assert _sql_at_risk(metric, **figures) == definition.at_risk(**figures)
    headroom = definition.headroom(**figures)
    assert definition.passes(**figures) is (headroom is None or headroom >= 0)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("metric", "population", "defects", "protected", "threshold"),
    [
        ("on_time_shipment_rate", 500, 3, 0, P99),
        ("on_time_shipment_rate", 500, 4, 0, P99),
        ("on_time_shipment_rate", 50, 0, 0, P99),
        ("on_time_shipment_rate", 0, 0, 0, P99),
        ("cancellation_rate", 1000, 4, 0, P05),
        ("cancellation_rate", 1000, 6, 0, P05),
        ("on_time_delivery_rate", 100, 10, 5, P935),
    ],
)
def test_sql_at_risk_on_the_hand_worked_boundaries(metric, population, defects, protected, threshold):
    expected = METRIC_DEFINITIONS[metric].at_risk(
        population=population, defects=defects, protected=protected, threshold=threshold
    )
    assert _sql_at_risk(metric, population, defects, protected, threshold) is expected


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("metric", "defects", "protected", "excused", "headroom", "at_risk"),
    [
        # 500 shipped at >= 99 %: allowance 5, bound 2. 5 defects, 1 excused: headroom 1, at risk;
        # 3 excused: headroom 3, not; 10 defects, 5 excused: headroom 0, at risk; 4 excused: failing.
        ("on_time_shipment_rate", 5, 0, 1, 1, True),
        ("on_time_shipment_rate", 5, 0, 3, 3, False),
        ("on_time_shipment_rate", 10, 0, 5, 0, True),
        ("on_time_shipment_rate", 10, 0, 4, -1, False),
        # 500 due at >= 93.5 %: allowance 32, bound 8. 50 late, 10 protected, 10 excused: headroom 2.
        ("on_time_delivery_rate", 50, 10, 10, 2, True),
        ("on_time_delivery_rate", 50, 10, 18, 10, False),
    ],
)
def test_excused_units_are_not_counted_at_risk_in_either_half(metric, defects, protected, excused, headroom, at_risk):
    definition = METRIC_DEFINITIONS[metric]
    figures = {"population": 500, "defects": defects, "protected": protected, "excused": excused}
    threshold = definition.default_threshold
    assert definition.headroom(**figures, threshold=threshold) == headroom
    assert definition.at_risk(**figures, threshold=threshold) is at_risk
    assert _sql_at_risk(metric, **figures, threshold=threshold) is at_risk


# --- A seller at risk in the 7-day window only ------------------------------------------
#
# 7 days: 202 shipped units, 2 of them shipped late and delivered late (on Buy Shipping
# labels: protected for on-time delivery, not for on-time shipment). On-time shipment:
# allowance floor(2.02) = 2, headroom 0, bound 1: at risk. Cancellation: allowance
# floor(1.01) = 1, headroom 1, bound 1: not. On-time delivery: 2 late, 2 protected: headroom 13.
# 30 days: 800 more units bought 20 days before D: 1002 shipped units, allowance 10,
# headroom 8, bound 3: not at risk; cancellation allowance 5, headroom 5: not.


def at_risk_orders(seller, *, purchased_on=D - dt.timedelta(days=5)):
    return [
        OrderFactory.build(seller=seller, units=100, purchased_on=purchased_on),
        OrderFactory.build(seller=seller, units=100, purchased_on=purchased_on),
        OrderFactory.build(seller=seller, units=2, purchased_on=purchased_on, late=True),
        *(OrderFactory.build(seller=seller, units=100, purchased_on=D - dt.timedelta(days=20)) for _ in range(8)),
    ]


@pytest.fixture
def at_risk_seller(seller, seller_user, make_orders):
    seller_user.email = "ops@seller.example"
    seller_user.save()
    make_orders(*at_risk_orders(seller))
    return seller


def test_figures_of_the_at_risk_seller_are_as_worked_by_hand(at_risk_seller):
    daily_run(day=D)
    rows = {(s.window_days, s.metric): s for s in MetricSnapshot.objects.filter(seller=at_risk_seller, day=D)}
    ots7, ots30 = rows[(7, "on_time_shipment_rate")], rows[(30, "on_time_shipment_rate")]
    assert (ots7.population_units, ots7.defect_units, ots7.allowance, ots7.headroom) == (202, 2, 2, 0)
    assert (ots30.population_units, ots30.defect_units, ots30.allowance, ots30.headroom) == (1002, 2, 10, 8)
    assert [key for key, s in rows.items() if s.at_risk] == [(7, "on_time_shipment_rate")]
    at_risk_seller.refresh_from_db()
    assert at_risk_seller.status == ProgrammeStatus.ELIGIBLE


@pytest.mark.parametrize("window", [7, 30])
def test_json_document_is_at_risk_whichever_window_is_asked(client, seller_user, at_risk_seller, window):
    daily_run(day=D)
    client.force_login(seller_user)
    body = client.get("/api/performance/", {"window": window}).json()
    assert body["at_risk"] is True
    assert {name: m["at_risk"] for name, m in body["metrics"].items()} == {
        name: (window == 7 and name == "on_time_shipment_rate") for name in METRICS
    }
    assert body["insights"]["headroom"]["on_time_shipment_rate"] == (0 if window == 7 else 8)


def test_json_document_of_a_seller_not_eligible_is_not_at_risk(client, seller_user, at_risk_seller):
    daily_run(day=D)
    at_risk_seller.status = ProgrammeStatus.NOT_ELIGIBLE
    at_risk_seller.save()
    client.force_login(seller_user)
    body = client.get("/api/performance/", {"window": 7}).json()
    assert body["metrics"]["on_time_shipment_rate"]["at_risk"] is True  # the metric's own fact
    assert body["at_risk"] is False


def test_json_document_with_room_everywhere_is_not_at_risk(client, seller, seller_user, make_orders):
    # 7 days: 300 units, none late: on-time shipment allowance 3, headroom 3; cancellation
    # allowance floor(1.5) = 1, headroom 1, bound 1: nothing at risk.
    make_orders(*(OrderFactory.build(seller=seller, units=100) for _ in range(3)))
    daily_run(day=D)
    client.force_login(seller_user)
    body = client.get("/api/performance/", {"window": 7}).json()
    assert body["at_risk"] is False
    assert not any(m["at_risk"] for m in body["metrics"].values())


# --- Entering at-risk: once per entry ---------------------------------------------------


def test_entering_at_risk_emails_the_users_once(
    at_risk_seller, other_seller, django_capture_on_commit_callbacks, settings
):
    settings.PORTAL_URL = "https://portal.example.com"
    with django_capture_on_commit_callbacks(execute=True):
        result = daily_run(day=D)
    assert result.entered_at_risk == [at_risk_seller.pk]
    assert SellerAtRisk.objects.get().since == D
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ops@seller.example"]
    assert message.subject == "Prime eligibility at risk for SELLER01"
    assert "1 more unit shipped late and delivered late in the 7-day window and you lose Prime." in message.body
    assert "On-time shipment rate over 7 days: 99.00 % against at least 99.00 %" in message.body
    assert "\nhttps://portal.example.com/performance/\n" in message.body
    # Recomputing the day (a rerun, a retry) sends nothing again.
    with django_capture_on_commit_callbacks(execute=True):
        assert daily_run(day=D).entered_at_risk == []
        assert sellers_entered_at_risk(day=D, seller_ids=[at_risk_seller.pk]) == []
    assert len(mail.outbox) == 1


def test_the_email_is_in_each_users_language(at_risk_seller, django_capture_on_commit_callbacks):
    german = seller_user_create(seller=at_risk_seller, username="seller1de", password="correct horse battery 3")
    german.email, german.language = "de@seller.example", "de"
    german.save()
    with django_capture_on_commit_callbacks(execute=True):
        daily_run(day=D)
    by_recipient = {message.to[0]: message for message in mail.outbox}
    assert sorted(message.to[0] for message in mail.outbox) == ["de@seller.example", "ops@seller.example"]  # once each
    assert by_recipient["de@seller.example"].subject == "Prime-Berechtigung gefährdet für SELLER01"
    assert "Sie" in by_recipient["de@seller.example"].body
    assert by_recipient["ops@seller.example"].subject == "Prime eligibility at risk for SELLER01"


def test_leaving_and_entering_again_sends_again(at_risk_seller, make_orders, django_capture_on_commit_callbacks):
    daily_run(day=D)
    assert SellerAtRisk.objects.filter(seller=at_risk_seller).exists()
    # 100 good units bought on D: 302 shipped units in 7 days, allowance 3, headroom 1: room again.
    make_orders(OrderFactory.build(seller=at_risk_seller, units=100, purchased_on=D))
    assert daily_run(day=D).entered_at_risk == []
    assert not SellerAtRisk.objects.exists()
    # One more late unit: headroom 0 again, a new entry.
    make_orders(OrderFactory.build(seller=at_risk_seller, units=1, purchased_on=D - dt.timedelta(days=2), late=True))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert daily_run(day=D).entered_at_risk == [at_risk_seller.pk]
    assert len(mail.outbox) == 1


def test_recomputing_an_earlier_day_changes_nothing(at_risk_seller, make_orders):
    # D-1 is at risk (the orders bought on D are not in its window), D is not.
    make_orders(OrderFactory.build(seller=at_risk_seller, units=100, purchased_on=D))
    assert daily_run(day=D).entered_at_risk == []
    assert daily_run(day=D - dt.timedelta(days=1)).entered_at_risk == []
    assert not SellerAtRisk.objects.exists()
    day_before = MetricSnapshot.objects.get(
        seller=at_risk_seller, day=D - dt.timedelta(days=1), window_days=7, metric="on_time_shipment_rate"
    )
    assert day_before.at_risk


def test_a_revoked_seller_leaves_at_risk_and_is_not_emailed(at_risk_seller, make_orders):
    daily_run(day=D)
    assert SellerAtRisk.objects.exists()
    # One more late unit: 3 counted of 203, allowance 2: failing, revoked, not "at risk".
    make_orders(OrderFactory.build(seller=at_risk_seller, units=1, purchased_on=D - dt.timedelta(days=2), late=True))
    result = daily_run(day=D + dt.timedelta(days=0))
    assert result.revoked == [at_risk_seller.pk] and result.entered_at_risk == []
    assert not SellerAtRisk.objects.exists()


def test_entry_matches_the_python_rule_over_the_snapshot_rows(at_risk_seller, other_seller, make_orders):
    """The set-based entry (SQL) and ``seller_at_risk`` over the same rows agree, seller by seller."""
    make_orders(*(OrderFactory.build(seller=other_seller, units=100) for _ in range(3)))
    daily_run(day=D)
    for seller in (at_risk_seller, other_seller):
        seller.refresh_from_db()
        rows = MetricSnapshot.objects.filter(seller=seller, day=D)
        expected = seller_at_risk(eligible=seller.is_eligible, metrics_at_risk=(s.at_risk for s in rows))
        assert SellerAtRisk.objects.filter(seller=seller).exists() is expected
    assert SellerAtRisk.objects.filter(seller=at_risk_seller).exists()


def test_a_user_who_turned_at_risk_emails_off_gets_none(
    at_risk_seller, seller_user, django_capture_on_commit_callbacks
):
    from sellers.choices import EmailKind

    seller_user.email_opt_outs = [EmailKind.AT_RISK]
    seller_user.save()
    with django_capture_on_commit_callbacks(execute=True):
        assert daily_run(day=D).entered_at_risk == [at_risk_seller.pk]
    assert mail.outbox == []


def test_a_seller_nobody_would_be_told_about_costs_one_query(at_risk_seller, seller_user, django_assert_num_queries):
    from metrics.notifications import at_risk_emails_send
    from sellers.choices import EmailKind

    daily_run(day=D)
    seller_user.email_opt_outs = [EmailKind.AT_RISK]
    seller_user.save()
    with django_assert_num_queries(1):  # the sellers with someone to tell: none, so no snapshots read
        assert at_risk_emails_send(seller_ids=[at_risk_seller.pk], day=D) == 0
    seller_user.email_opt_outs = []
    seller_user.save()
    assert at_risk_emails_send(seller_ids=[at_risk_seller.pk], day=D) == 1


def test_figures_from_before_a_reinstatement_are_not_at_risk_anywhere(
    client, seller_user, at_risk_seller, django_capture_on_commit_callbacks
):
    """D's figures were answered by a reinstatement after D: the dashboard says eligible, so
    the JSON and the daily run's entry (email, webhook) say the same; the metric's own fact stays."""
    from metrics.services import seller_reinstate
    from sellers.factories import local_moment

    seller_reinstate(
        seller=at_risk_seller,
        reviewer=None,
        reason=None,
        moment=local_moment(at_risk_seller, D + dt.timedelta(days=1), 9),
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert daily_run(day=D).entered_at_risk == []
    assert not SellerAtRisk.objects.exists() and mail.outbox == []
    client.force_login(seller_user)
    body = client.get("/api/performance/", {"window": 7, "date": D.isoformat()}).json()
    assert body["metrics"]["on_time_shipment_rate"]["at_risk"] is True
    assert body["at_risk"] is False
    assert "Eligible for Prime, but at risk" not in client.get("/performance/").content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("statement", [statements.at_risk_leave, statements.at_risk_enter])
def test_the_sellers_with_a_later_day_are_read_once_not_once_a_row(statement):
    """With the snapshot table's statistics saying it is empty, as on the day its first rows
    are written, a correlated ``NOT EXISTS`` checked each row of the day against the whole
    unique index (60 s for 10,000 sellers): the later days are one hashed set, no anti-join."""
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {DailySnapshot._meta.db_table}")
        query = statement(some_sellers=False).as_string(cursor.cursor.connection)
        cursor.execute(f"EXPLAIN (FORMAT JSON) {query}", {"day": D, "now": timezone.now(), "sellers": None})
        (plan,) = cursor.fetchone()
    plan = json.loads(plan) if isinstance(plan, str) else plan

    def nodes(node: dict) -> list[dict]:
        return [node, *(n for child in node.get("Plans", []) for n in nodes(child))]

    every = nodes(plan[0]["Plan"])
    assert not [n for n in every if n.get("Join Type") == "Anti"], plan
    assert [n for n in every if "NOT (hashed SubPlan" in n.get("Filter", "")], plan
