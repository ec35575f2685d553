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
    """The defect units the window can still absorb among the orders already in it and
    pass (SPEC section 3); negative when failing (the defect units too many); None when the
    population is 0 (no value, passes).

    ``floor((1 - threshold) * population) - counted`` for the rates that must stay high,
    ``floor(threshold * population) - counted`` for the cancellation rate, where *counted*
    is the defect units less the protected ones, as eligibility counts them (only a metric
    with Buy Shipping protection has protected units).

    Exact integer arithmetic on the threshold's ratio n/d, never floats, so headroom >= 0
    exactly when ``MetricDefinition.passes``: passing means counted * d <= (d - n) * population
    (or n * population), and for an integer *counted* that is counted <= floor(... / d).
    """
    if population == 0:
        return None
    numerator, denominator = threshold.as_integer_ratio()
    allowed_share = denominator - numerator if definition.higher_is_better else numerator
    return allowed_share * population // denominator - (defects - protected)


@dataclass(frozen=True)
class Headroom:
    """One metric's headroom in one window on D, from its stored snapshot."""

    metric: str
    window_days: int
    units: int | None
    population: int

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
        units=headroom_units(
            definition=snapshot.definition,
            population=snapshot.population_units,
            defects=snapshot.defect_units,
            protected=snapshot.protected_units,
            threshold=snapshot.threshold,
        ),
        population=snapshot.population_units,
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
