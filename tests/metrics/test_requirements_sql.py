"""The programme requirements are judged twice from one statement's facts
(``sellers.sql.requirement_facts``): in Python by each record's ``check`` (the settings and
review pages, ``requirements_for_sellers``) and in SQL by its ``check_sql`` (the daily run's
revocation). Over random settings the two halves give the same verdicts, and the facts are
those the settings say."""

from __future__ import annotations

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql

from sellers import sql as statements
from sellers.requirements import REQUIREMENTS
from sellers.selectors import requirements_for_sellers
from tests.metrics.requirement_settings import expected_facts, seller_settings, settings_save

pytestmark = pytest.mark.django_db


def requirement_verdicts(*, sellers: sql.Composable | None) -> sql.Composed:
    """Each seller's (of the query ``sellers``, all when None) verdict on every requirement,
    as ``seller_id`` and a column per requirement name (true: passing), judged in SQL by the
    checks the daily run's revocation uses."""
    return sql.SQL("SELECT f.seller_id, {checks} FROM ({facts}) f ORDER BY f.seller_id").format(
        checks=sql.SQL(", ").join(
            sql.SQL("{check} AS {name}").format(check=check, name=sql.Identifier(name))
            for name, check in statements.requirement_checks("f").items()
        ),
        facts=statements.requirement_facts(sellers=sellers),
    )


def sql_verdicts(seller_ids: list[int] | None) -> dict[int, dict[str, bool]]:
    of_sellers = None if seller_ids is None else statements.sellers_of()
    with connection.cursor() as cursor:
        cursor.execute(requirement_verdicts(sellers=of_sellers), {"sellers": seller_ids})
        names = [column.name for column in cursor.description]
        return {row[0]: dict(zip(names[1:], row[1:], strict=True)) for row in cursor.fetchall()}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=seller_settings(), second=seller_settings(), some=st.booleans())
def test_sql_verdicts_equal_the_python_checks_over_random_settings(seller, other_seller, first, second, some):
    settings_save(seller, first)
    settings_save(other_seller, second)
    ids = [seller.pk, other_seller.pk] if some else None

    checks = requirements_for_sellers(seller_ids=ids)
    verdicts = sql_verdicts(ids)

    assert set(checks) == set(verdicts) == {seller.pk, other_seller.pk}
    for pk, drawn in ((seller.pk, first), (other_seller.pk, second)):
        facts = checks[pk]
        assert {
            "weekend_delivery": facts.weekend_delivery,
            "covered_regions": facts.covered_regions,
            "one_day_regions": facts.one_day_regions,
            "two_day_regions": facts.two_day_regions,
            "days_operated": facts.days_operated,
            "early_cutoffs": facts.early_cutoffs,
            "days_without_pickup": facts.days_without_pickup,
        } == expected_facts(drawn)
        assert list(verdicts[pk]) == list(REQUIREMENTS)
        assert verdicts[pk] == facts.passing


def test_a_seller_without_settings_rows_fails_in_both_halves(seller):
    """No template, no operating days, no carrier: the outer joins give empty facts, not NULLs."""
    seller.prime_regions.all().delete()
    seller.operating_days.all().delete()
    seller.carrier_services.all().delete()
    checks = requirements_for_sellers(seller_ids=[seller.pk])[seller.pk]
    verdicts = sql_verdicts([seller.pk])[seller.pk]
    assert verdicts == checks.passing
    assert checks.covered_regions == 0 and checks.days_operated == frozenset()
    assert checks.failing == ["nationwide_coverage", "weekend_operations"]
    # No day operated: no cutoff is early and no day lacks a pickup.
    assert verdicts["weekday_cutoff"] and verdicts["carrier_pickups"]
