"""Headroom (SPEC section 8): how many more defect units a metric's window can absorb and
still pass, from the stored snapshot alone, in exact integer arithmetic."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from metrics.definitions import MetricDefinition
from metrics.models import MetricSnapshot


def headroom_units(
    *, definition: MetricDefinition, population: int, defects: int, protected: int, threshold: Decimal
) -> int | None:
    """The defect units the window can still absorb: ``MetricDefinition.headroom``, the one
    formula (SPEC section 8), which the dashboard, the JSON and the at-risk rule share."""
    return definition.headroom(population=population, defects=defects, protected=protected, threshold=threshold)


@dataclass(frozen=True)
class Headroom:
    """One metric's headroom in one window on D, from its stored snapshot."""

    metric: str
    window_days: int
    units: int | None
    population: int
    allowance: int = 0
    # Passing with a population, and its headroom below max(1, ceil(allowance / 4)).
    at_risk: bool = False

    @property
    def passing(self) -> bool:
        return self.units is None or self.units >= 0

    @property
    def relative(self) -> Fraction | None:
        """Headroom per unit of population: how close to the threshold, comparable across metrics."""
        return None if self.units is None else Fraction(self.units, self.population)


def snapshot_headroom(snapshot: MetricSnapshot) -> Headroom:
    return Headroom(
        metric=snapshot.metric,
        window_days=snapshot.window_days,
        units=snapshot.headroom,
        population=snapshot.population_units,
        allowance=snapshot.allowance,
        at_risk=snapshot.at_risk,
    )


def weakest_metric(headrooms: Mapping[str, Headroom]) -> str | None:
    """The failing metric furthest below its threshold, else the passing one closest to
    it: the smallest headroom relative to the population (ties: the dashboard's order)."""
    candidates = [
        (headroom.relative, index, name)
        for index, (name, headroom) in enumerate(headrooms.items())
        if headroom.relative is not None
    ]
    return min(candidates)[2] if candidates else None
