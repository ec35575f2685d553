"""Helpers of the tests that hold a metric rule's SQL half against its Python half: the
figures hypothesis draws, and the SQL expression evaluated on them by PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

from django.db import connection
from hypothesis import strategies as st

from metrics.definitions import METRIC_DEFINITIONS


@st.composite
def counts_and_threshold(draw) -> dict:
    """The figures of one (window, metric), as the keyword arguments of the Python halves:
    defects within the population, protected and excused units together within the defects
    (no unit is both), a threshold with at most five decimals."""
    population = draw(st.integers(min_value=0, max_value=10**7))
    defects = draw(st.integers(min_value=0, max_value=population))
    protected = draw(st.integers(min_value=0, max_value=defects))
    excused = draw(st.integers(min_value=0, max_value=defects - protected))
    threshold = Decimal(draw(st.integers(min_value=0, max_value=100_000))) / 100_000
    return {"population": population, "defects": defects, "protected": protected, "excused": excused,
            "threshold": threshold}  # fmt: skip


def sql_value(
    template: str, metric: str, *, population: int, defects: int, protected: int, threshold: Decimal, excused: int = 0
):
    """A rule's SQL expression (``PASSES_SQL``, ``AT_RISK_SQL``) evaluated on the figures."""
    expression = template.format(
        population="%(p)s::bigint",
        defects="%(d)s::bigint",
        protected="%(x)s::bigint",
        excused="%(e)s::bigint",
        threshold="%(t)s::numeric",
        higher_is_better="%(h)s",
    )
    parameters = {
        "p": population,
        "d": defects,
        "x": protected,
        "e": excused,
        "t": threshold,
        "h": METRIC_DEFINITIONS[metric].higher_is_better,
    }
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {expression}", parameters)
        return cursor.fetchone()[0]
