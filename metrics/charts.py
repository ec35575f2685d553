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
from metrics.definitions import TREND_DAYS

Share = Fraction | Decimal | float

# The narrowest value range drawn, as a share: 1 percentage point, so a flat line near 99 %
# does not turn rounding noise into a cliff.
MIN_SPAN = Fraction(1, 100)

# The days a dashboard trend spans: the days that have snapshots, at most TREND_MAX_DAYS
# (the trend selector's reach) and at least TREND_MIN_DAYS, so a young seller's short
# history shows against a month rather than stretched across the chart.
TREND_MIN_DAYS = 30
TREND_MAX_DAYS = TREND_DAYS

# The dashboard's chart, in SVG user units: room on the left for the value axis's labels
# and at the bottom for the dates.
CHART_WIDTH = 360
CHART_HEIGHT = 150
AXIS_LEFT = 46
AXIS_BOTTOM = 18
# Steps between the value axis's ticks, in percentage points: the smallest that leaves at
# most Y_TICKS_MAX ticks is used.
Y_STEPS = tuple(
    Fraction(points, 100)
    for points in (
        Fraction(1, 100), Fraction(2, 100), Fraction(5, 100), Fraction(1, 10), Fraction(1, 5), Fraction(1, 4),
        Fraction(1, 2), 1, 2, 5, 10, 20, 25, 50,
    )
)  # fmt: skip
Y_TICKS_MAX = 4
# Days between the date axis's ticks: a week, or whole weeks so that at most X_TICKS_MAX fit.
X_TICKS_MAX = 6


@dataclass(frozen=True)
class TrendPoint:
    day: dt.date
    value: Share | None  # None: no value that day (population 0)
    threshold: Share


@dataclass(frozen=True)
class DayTick:
    """A date on the chart's x axis, at ``x``."""

    x: float
    day: dt.date


@dataclass(frozen=True)
class ValueTick:
    """A value on the chart's y axis, at ``y``."""

    y: float
    share: Fraction

    @property
    def label(self) -> str:
        decimals = 0 if (self.share * 100).denominator == 1 else 2
        return presenters.percent(self.share, decimals=decimals)


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
    # The plot area (inside the axes) and the axes' ticks; empty ticks draw no axis.
    plot_left: float = 0
    plot_top: float = 0
    plot_right: float = 0
    plot_bottom: float = 0
    day_ticks: tuple[DayTick, ...] = ()
    value_ticks: tuple[ValueTick, ...] = ()
    # The threshold of the last day, where its line ends, for its label.
    threshold_y: float | None = None

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
    def days(self) -> int:
        """The days the chart spans."""
        return (self.last_day - self.first_day).days + 1

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


def trend_first_day(*, last_day: dt.date, earliest: dt.date) -> dt.date:
    """The first day a dashboard trend shows: the earliest snapshot's, within
    ``TREND_MIN_DAYS``..``TREND_MAX_DAYS`` days ending on ``last_day``."""
    longest = last_day - dt.timedelta(days=TREND_MAX_DAYS - 1)
    shortest = last_day - dt.timedelta(days=TREND_MIN_DAYS - 1)
    return max(longest, min(earliest, shortest))


def value_ticks(low: Fraction, high: Fraction) -> list[Fraction]:
    """Round values between ``low`` and ``high`` for the y axis: multiples of the smallest
    step of ``Y_STEPS`` that gives at most ``Y_TICKS_MAX`` of them."""
    for step in Y_STEPS:
        first = -(-low // step)  # ceil
        last = high // step
        if last - first + 1 <= Y_TICKS_MAX:
            return [step * n for n in range(first, last + 1)]
    return [low, high]


def day_ticks(first_day: dt.date, last_day: dt.date) -> list[dt.date]:
    """Dates for the x axis: ``last_day`` and every week (or whole number of weeks) before
    it down to ``first_day``, at most ``X_TICKS_MAX``."""
    days = (last_day - first_day).days
    weeks = max(1, -(-days // (7 * (X_TICKS_MAX - 1))))
    step = 7 * weeks
    return [last_day - dt.timedelta(days=n) for n in range(days // step * step, -1, -step)]


def trend_chart(
    points: Sequence[TrendPoint],
    *,
    first_day: dt.date,
    last_day: dt.date,
    width: int = 320,
    height: int = 90,
    padding: int = 4,
    higher_is_better: bool = True,
    axis_left: int = 0,
    axis_bottom: int = 0,
) -> TrendChart:
    """The chart of ``points`` over the days ``first_day``..``last_day``: a day without a
    point or without a value leaves a gap, the threshold is drawn as its own line.
    ``higher_is_better`` is the metric's direction, for the figures shown in words.
    With ``axis_left`` and ``axis_bottom`` (room for labels), the chart has a value axis and
    a date axis with their ticks."""
    by_day = {point.day: point for point in points if first_day <= point.day <= last_day}
    days = (last_day - first_day).days
    values = {day: Fraction(p.value) for day, p in by_day.items() if p.value is not None}
    thresholds = {day: Fraction(p.threshold) for day, p in by_day.items()}
    low, high = _value_range([*values.values(), *thresholds.values()] or [Fraction(0), Fraction(1)])

    left, top = axis_left + padding, padding
    right, bottom = width - padding, height - axis_bottom - padding

    def x(day: dt.date) -> float:
        return left + (right - left) * ((day - first_day).days / days if days else 0.5)

    def y(share: Fraction) -> float:
        return top + (bottom - top) * float((high - share) / (high - low))

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
        plot_left=left,
        plot_top=top,
        plot_right=right,
        plot_bottom=bottom,
        day_ticks=tuple(DayTick(x(day), day) for day in day_ticks(first_day, last_day)) if axis_bottom else (),
        value_ticks=tuple(ValueTick(y(share), share) for share in value_ticks(low, high)) if axis_left else (),
        threshold_y=y(thresholds[last_day]) if last_day in thresholds else None,
    )


def dashboard_trend_chart(
    points: Sequence[TrendPoint], *, last_day: dt.date, earliest: dt.date, higher_is_better: bool
) -> TrendChart:
    """A metric's trend as the dashboard draws it: ``trend_first_day``..``last_day``, with
    a date axis, a value axis and the threshold."""
    return trend_chart(
        points,
        first_day=trend_first_day(last_day=last_day, earliest=earliest),
        last_day=last_day,
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
        higher_is_better=higher_is_better,
        axis_left=AXIS_LEFT,
        axis_bottom=AXIS_BOTTOM,
    )
