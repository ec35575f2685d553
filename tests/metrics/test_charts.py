"""The dashboard's trend charts: SVG path data and the figures shown beside them."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from metrics.charts import TrendPoint, svg_path, trend_chart

D = dt.date(2026, 11, 20)


def test_a_path_moves_to_the_first_point_and_draws_lines_to_the_rest():
    assert svg_path([(0, 10), (5.25, 2.5), (10, 0)]) == "M0.0 10.0 L5.2 2.5 L10.0 0.0"


def test_a_gap_breaks_the_line_and_a_lone_point_is_a_dot():
    assert svg_path([(0, 1), (1, 1), None, (3, 2), None, None, (6, 4), (7, 5)]) == (
        "M0.0 1.0 L1.0 1.0 M3.0 2.0 l0 0 M6.0 4.0 L7.0 5.0"
    )
    assert svg_path([None, None]) == ""
    assert svg_path([]) == ""


def test_chart_spans_the_days_and_scales_values_between_its_range():
    points = [
        TrendPoint(D - dt.timedelta(days=2), Fraction(98, 100), Decimal("0.99")),
        TrendPoint(D - dt.timedelta(days=1), Fraction(99, 100), Decimal("0.99")),
        TrendPoint(D, Fraction(1), Decimal("0.99")),
    ]
    chart = trend_chart(points, first_day=D - dt.timedelta(days=2), last_day=D, width=104, height=24, padding=2)
    # Values 98 %..100 %, a tenth of the span as margin on each side, shifted down to end at 100 %.
    assert (chart.low, chart.high) == (Fraction(976, 1000), Fraction(1))
    assert chart.value_path == "M2.0 18.7 L52.0 10.3 L102.0 2.0"
    assert chart.threshold_path == "M2.0 10.3 L52.0 10.3 L102.0 10.3"
    assert (chart.minimum_percent, chart.maximum_percent, chart.latest_percent) == ("98.00 %", "100.00 %", "100.00 %")
    assert (chart.low_percent, chart.high_percent) == ("97.60 %", "100.00 %")
    assert chart.days_with_value == 3


def test_days_without_a_value_or_snapshot_leave_gaps_and_do_not_count():
    points = [
        TrendPoint(D - dt.timedelta(days=4), Fraction(1, 2), Decimal("0.5")),
        TrendPoint(D - dt.timedelta(days=3), None, Decimal("0.5")),  # population 0
        TrendPoint(D - dt.timedelta(days=1), Fraction(3, 4), Decimal("0.5")),
        TrendPoint(D, Fraction(1, 4), Decimal("0.5")),
    ]
    chart = trend_chart(points, first_day=D - dt.timedelta(days=4), last_day=D)
    assert chart.value_path.count("M") == 2 and "l0 0" in chart.value_path
    assert chart.threshold_path.count("M") == 2  # no snapshot on D-2
    assert chart.days_with_value == 3
    assert (chart.minimum, chart.maximum, chart.latest) == (Fraction(1, 4), Fraction(3, 4), Fraction(1, 4))


def test_a_flat_line_is_drawn_in_the_middle_of_a_one_point_range():
    points = [TrendPoint(D - dt.timedelta(days=n), Fraction(1, 2), Decimal("0.5")) for n in range(5)]
    chart = trend_chart(points, first_day=D - dt.timedelta(days=4), last_day=D, height=90, padding=4)
    assert chart.high - chart.low == Fraction(12, 1000)  # 1 point widened by a tenth each side
    assert {segment.split()[1] for segment in chart.value_path.split("L")} == {"45.0"}


def test_points_outside_the_days_are_left_out():
    points = [TrendPoint(D - dt.timedelta(days=100), Fraction(0), Decimal("0.99")), TrendPoint(D, Fraction(1), 1)]
    chart = trend_chart(points, first_day=D - dt.timedelta(days=89), last_day=D)
    assert chart.days_with_value == 1 and chart.minimum == 1


def test_a_chart_without_values_has_no_line_and_no_figures():
    chart = trend_chart([], first_day=D - dt.timedelta(days=89), last_day=D)
    assert chart.value_path == "" and chart.threshold_path == ""
    assert chart.latest is None and chart.latest_percent is None and chart.days_with_value == 0


def test_each_figure_is_shown_against_its_own_days_threshold_towards_failing():
    points = [
        TrendPoint(D - dt.timedelta(days=2), Fraction(934_565, 1_000_000), Decimal("0.93456")),  # passing
        TrendPoint(D - dt.timedelta(days=1), Fraction(98_995, 100_000), Decimal("0.99")),  # failing
        TrendPoint(D, Fraction(98_995, 100_000), Decimal("0.935")),  # passing, latest of the two highest
    ]
    chart = trend_chart(points, first_day=D - dt.timedelta(days=2), last_day=D)
    assert (chart.minimum_percent, chart.maximum_percent, chart.latest_percent) == ("93.456 %", "98.99 %", "98.99 %")
    assert chart.maximum_threshold == Fraction(935, 1000)
    lower = [TrendPoint(D, Fraction(1001, 200_000), Decimal("0.005"))]
    chart = trend_chart(lower, first_day=D - dt.timedelta(days=2), last_day=D, higher_is_better=False)
    assert chart.latest_percent == "0.51 %"


shares = st.fractions(min_value=0, max_value=1, max_denominator=1000)


@given(
    values=st.lists(st.one_of(st.none(), shares), min_size=1, max_size=90),
    threshold=shares,
)
def test_every_drawn_point_stays_inside_the_frame(values, threshold):
    first_day = D - dt.timedelta(days=len(values) - 1)
    points = [TrendPoint(first_day + dt.timedelta(days=n), value, threshold) for n, value in enumerate(values)]
    chart = trend_chart(points, first_day=first_day, last_day=D, width=320, height=90, padding=4)
    assert 0 <= chart.low < chart.high <= 1
    for path in (chart.value_path, chart.threshold_path):
        numbers = [float(n) for n in path.replace("M", " ").replace("L", " ").replace("l", " ").split()]
        xs, ys = numbers[0::2], numbers[1::2]
        assert all(0 <= x <= 320 for x in xs) and all(0 <= y <= 90 for y in ys)
    present = [v for v in values if v is not None]
    assert chart.days_with_value == len(present)
    assert chart.latest == (present[-1] if present else None)


def test_the_dashboard_trend_spans_30_to_90_days():
    from metrics.charts import TREND_MAX_DAYS, trend_first_day
    from metrics.selectors import TREND_DAYS

    assert TREND_MAX_DAYS == TREND_DAYS  # the chart shows no more than the selector reads
    assert trend_first_day(last_day=D, earliest=D) == D - dt.timedelta(days=29)
    assert trend_first_day(last_day=D, earliest=D - dt.timedelta(days=45)) == D - dt.timedelta(days=45)
    assert trend_first_day(last_day=D, earliest=D - dt.timedelta(days=400)) == D - dt.timedelta(days=89)


def test_date_ticks_are_a_week_apart_ending_on_the_last_day_and_at_most_six():
    from metrics.charts import day_ticks

    month = day_ticks(D - dt.timedelta(days=29), D)
    assert month == [D - dt.timedelta(days=n) for n in (28, 21, 14, 7, 0)]
    quarter = day_ticks(D - dt.timedelta(days=89), D)
    assert len(quarter) <= 6 and quarter[-1] == D and {(b - a).days for a, b in itertools.pairwise(quarter)} == {21}


def test_value_ticks_are_round_percentages_inside_the_range():
    from metrics.charts import value_ticks

    assert value_ticks(Fraction(976, 1000), Fraction(1)) == [Fraction(98, 100), Fraction(99, 100), Fraction(1)]
    assert value_ticks(Fraction(0), Fraction(1)) == [Fraction(0), Fraction(1, 2), Fraction(1)]  # 25 % steps: 5 ticks
    assert value_ticks(Fraction(2935, 10000), Fraction(3065, 10000)) == [
        Fraction(295, 1000),
        Fraction(3, 10),
        Fraction(305, 1000),
    ]


def test_a_chart_with_axes_places_its_ticks_inside_the_plot_and_labels_them():
    from metrics.charts import dashboard_trend_chart

    points = [TrendPoint(D - dt.timedelta(days=n), Fraction(99 - n % 3, 100), Decimal("0.99")) for n in range(30)]
    chart = dashboard_trend_chart(points, last_day=D, earliest=D - dt.timedelta(days=29), higher_is_better=True)
    assert chart.days == 30 and chart.first_day == D - dt.timedelta(days=29)
    assert chart.plot_left > 40 and chart.plot_bottom < chart.height - 15  # room for the labels
    assert all(chart.plot_left <= tick.x <= chart.plot_right for tick in chart.day_ticks)
    assert all(chart.plot_top <= tick.y <= chart.plot_bottom for tick in chart.value_ticks)
    assert [tick.label for tick in chart.value_ticks] == [f"{tick.share * 100} %" for tick in chart.value_ticks]
    assert chart.threshold_y is not None and chart.plot_top <= chart.threshold_y <= chart.plot_bottom
