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

from metrics import presenters

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
    # The thresholds of the days of the lowest, highest and latest values: each value is
    # shown against its own day's threshold, never rounded across it (SPEC section 3).
    minimum_threshold: Fraction | None
    maximum_threshold: Fraction | None
    latest_threshold: Fraction | None
    first_day: dt.date
    last_day: dt.date
    days_with_value: int
    higher_is_better: bool = True

    def _rate_percent(self, value: Fraction | None, threshold: Fraction | None) -> str | None:
        if value is None or threshold is None:
            return None
        return presenters.rate_percent(value, threshold, higher_is_better=self.higher_is_better)

    @property
    def minimum_percent(self) -> str | None:
        return self._rate_percent(self.minimum, self.minimum_threshold)

    @property
    def maximum_percent(self) -> str | None:
        return self._rate_percent(self.maximum, self.maximum_threshold)

    @property
    def latest_percent(self) -> str | None:
        return self._rate_percent(self.latest, self.latest_threshold)

    @property
    def low_percent(self) -> str:
        return presenters.percent(self.low)

    @property
    def high_percent(self) -> str:
        return presenters.percent(self.high)


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
    higher_is_better: bool = True,
) -> TrendChart:
    """The chart of ``points`` over the days ``first_day``..``last_day``: a day without a
    point or without a value leaves a gap, the threshold is drawn as its own line.
    ``higher_is_better`` is the metric's direction, for the figures shown in words."""
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
    # Of equal values, the latest day's (and so its threshold) is the one shown.
    newest_first = sorted(values, reverse=True)
    minimum_day = min(newest_first, key=values.__getitem__, default=None)
    maximum_day = max(newest_first, key=values.__getitem__, default=None)
    return TrendChart(
        width=width,
        height=height,
        value_path=value_path,
        threshold_path=threshold_path,
        low=low,
        high=high,
        minimum=values[minimum_day] if minimum_day else None,
        maximum=values[maximum_day] if maximum_day else None,
        latest=values[latest_day] if latest_day else None,
        minimum_threshold=thresholds[minimum_day] if minimum_day else None,
        maximum_threshold=thresholds[maximum_day] if maximum_day else None,
        latest_threshold=thresholds[latest_day] if latest_day else None,
        first_day=first_day,
        last_day=last_day,
        days_with_value=len(values),
        higher_is_better=higher_is_better,
    )
