"""Trend charts for the dashboard as inline SVG, drawn on the server.

Pure functions from (day, share) points to SVG path data and the figures a reader needs
without seeing the chart (lowest, highest, latest). No JavaScript, no library: the page
stays readable without scripts and the drawing is testable as text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

Share = Fraction | Decimal | float

# The narrowest value range drawn, as a share: 1 percentage point, so a flat line near 99 %
# does not turn rounding noise into a cliff.
MIN_SPAN = Fraction(1, 100)


@dataclass(frozen=True)
class TrendPoint:
    day: dt.date
    value: Share | None  # None: no value that day (population 0)
    threshold: Share


@dataclass(frozen=True)
class TrendChart:
    width: int
    height: int
    value_path: str
    threshold_path: str
    low: Fraction  # the bottom and top of the drawn range, as shares
    high: Fraction
    minimum: Fraction | None
    maximum: Fraction | None
    latest: Fraction | None
    first_day: dt.date
    last_day: dt.date
    days_with_value: int

    @property
    def minimum_percent(self) -> Decimal | None:
        return as_percent(self.minimum)

    @property
    def maximum_percent(self) -> Decimal | None:
        return as_percent(self.maximum)

    @property
    def latest_percent(self) -> Decimal | None:
        return as_percent(self.latest)

    @property
    def low_percent(self) -> Decimal:
        return as_percent(self.low)

    @property
    def high_percent(self) -> Decimal:
        return as_percent(self.high)


def as_percent(share: Share | None) -> Decimal | None:
    """A share as a percentage, exactly (a Decimal with enough digits for ``floatformat``)."""
    if share is None:
        return None
    share = Fraction(share)
    return Decimal(share.numerator * 100) / Decimal(share.denominator)


def _number(value: float) -> str:
    text = f"{value:.1f}"
    return "0.0" if text == "-0.0" else text


def svg_path(coordinates: Iterable[tuple[float, float] | None]) -> str:
    """SVG path data through the coordinates; ``None`` breaks the line, and a point alone
    between breaks is drawn as a zero-length segment (a dot with round caps)."""
    commands: list[str] = []
    run: list[tuple[float, float]] = []

    def flush() -> None:
        if not run:
            return
        (x, y), rest = run[0], run[1:]
        commands.append(f"M{_number(x)} {_number(y)}")
        if rest:
            commands.extend(f"L{_number(px)} {_number(py)}" for px, py in rest)
        else:
            commands.append("l0 0")
        run.clear()

    for coordinate in coordinates:
        if coordinate is None:
            flush()
        else:
            run.append(coordinate)
    flush()
    return " ".join(commands)


def _value_range(shares: Sequence[Fraction]) -> tuple[Fraction, Fraction]:
    low, high = min(shares), max(shares)
    span = high - low
    if span < MIN_SPAN:
        middle = (low + high) / 2
        low, high, span = middle - MIN_SPAN / 2, middle + MIN_SPAN / 2, MIN_SPAN
    low, high = low - span / 10, high + span / 10  # a margin so lines do not touch the frame
    if low < 0:
        low, high = Fraction(0), high - low
    if high > 1:
        low, high = max(Fraction(0), low - (high - 1)), Fraction(1)
    return low, high


def trend_chart(
    points: Sequence[TrendPoint],
    *,
    first_day: dt.date,
    last_day: dt.date,
    width: int = 320,
    height: int = 90,
    padding: int = 4,
) -> TrendChart:
    """The chart of ``points`` over the days ``first_day``..``last_day``: a day without a
    point or without a value leaves a gap, the threshold is drawn as its own line."""
    by_day = {point.day: point for point in points if first_day <= point.day <= last_day}
    days = (last_day - first_day).days
    values = {day: Fraction(p.value) for day, p in by_day.items() if p.value is not None}
    thresholds = {day: Fraction(p.threshold) for day, p in by_day.items()}
    low, high = _value_range([*values.values(), *thresholds.values()] or [Fraction(0), Fraction(1)])

    def x(day: dt.date) -> float:
        return padding + (width - 2 * padding) * ((day - first_day).days / days if days else 0.5)

    def y(share: Fraction) -> float:
        return padding + (height - 2 * padding) * float((high - share) / (high - low))

    calendar = [first_day + dt.timedelta(days=n) for n in range(days + 1)]
    value_path = svg_path((x(day), y(values[day])) if day in values else None for day in calendar)
    threshold_path = svg_path((x(day), y(thresholds[day])) if day in thresholds else None for day in calendar)
    latest_day = max(values, default=None)
    return TrendChart(
        width=width,
        height=height,
        value_path=value_path,
        threshold_path=threshold_path,
        low=low,
        high=high,
        minimum=min(values.values(), default=None),
        maximum=max(values.values(), default=None),
        latest=values[latest_day] if latest_day else None,
        first_day=first_day,
        last_day=last_day,
        days_with_value=len(values),
    )
