"""Helpers of the tests that hold a metric rule's SQL half against its Python half: the
figures hypothesis draws, and the SQL expression evaluated on them by PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

from django.db import connection
from hypothesis import strategies as st

from metrics.definitions import METRIC_DEFINITIONS


@st.composite
def counts_and_threshold(draw):
    """(population, defects, protected, threshold): defects within the population, protected
    within the defects, a threshold with at most five decimals."""
    population = draw(st.integers(min_value=0, max_value=10**7))
    defects = draw(st.integers(min_value=0, max_value=population))
    protected = draw(st.integers(min_value=0, max_value=defects))
    threshold = Decimal(draw(st.integers(min_value=0, max_value=100_000))) / 100_000
    return population, defects, protected, threshold


def sql_value(template: str, metric: str, population: int, defects: int, protected: int, threshold: Decimal):
    """A rule's SQL expression (``PASSES_SQL``, ``AT_RISK_SQL``) evaluated on the figures."""
    expression = template.format(
        population="%(p)s::bigint",
        defects="%(d)s::bigint",
        protected="%(x)s::bigint",
        threshold="%(t)s::numeric",
        higher_is_better="%(h)s",
    )
    parameters = {
        "p": population,
        "d": defects,
        "x": protected,
        "t": threshold,
        "h": METRIC_DEFINITIONS[metric].higher_is_better,
    }
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {expression}", parameters)
        return cursor.fetchone()[0]
