"""Server-drawn bar charts (kernel/charts.py): round axes, day labels that fit, a value on every bar."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from kernel.charts import bar_chart, daily_bar_chart, nice_ceiling


def days(n: int, start: date = date(2026, 9, 3), value=lambda i: i % 3):
    return [(start + timedelta(days=i), value(i)) for i in range(n)]


@pytest.mark.parametrize(("value", "ceiling"), [(0, 1), (1, 1), (3, 5), (7, 10), (10, 10), (11, 20), (480, 500), (2_001, 5_000)])
def test_the_value_axis_ends_on_a_round_number(value, ceiling):
    assert nice_ceiling(value) == ceiling


def test_bars_are_proportional_to_the_axis_and_say_their_value():
    chart = daily_bar_chart([(date(2026, 11, 2), 10), (date(2026, 11, 3), 0), (date(2026, 11, 4), 5)], title="Events")
    plot = chart.bottom - chart.top
    assert [b.h for b in chart.bars] == [plot, plot / 2], "no bar for an empty day; heights against the 0-10 axis"
    assert chart.bars[0].label == "Mon 2 Nov: 10 events"
    assert [t.label for t in chart.y_ticks] == ["0", "5", "10"]
    assert [t.label for t in chart.x_ticks] == ["2 Nov", "3 Nov", "4 Nov"], "every day labelled up to two weeks"
    assert chart.total == 15 and chart.peak == 10 and chart.rows[0] == ("Mon 2 Nov 2026", 10) and len(chart.rows) == 3
    assert chart.summary == "Events: 15 events in all; the largest bar 10 events."
    assert all(chart.left <= b.x and b.x + b.w <= chart.width for b in chart.bars)


def test_a_month_is_labelled_by_week_and_a_quarter_by_month():
    month = daily_bar_chart(days(30), title="x")
    assert all(label.endswith(("Sep", "Oct")) for label in (t.label for t in month.x_ticks)) and len(month.x_ticks) in (4, 5)
    quarter = daily_bar_chart(days(90), title="x")
    assert [t.label for t in quarter.x_ticks] == ["3 Sep", "1 Oct", "1 Nov", "1 Dec"]
    near = daily_bar_chart(days(90, start=date(2026, 9, 27)), title="x")
    assert near.x_ticks[0].label == "1 Oct", "the start is dropped when the next month's label would overlap it"


def test_large_numbers_are_short_on_the_axis_and_grouped_in_titles():
    chart = daily_bar_chart([(date(2026, 11, 2), 12_345)], title="Events")
    assert [t.label for t in chart.y_ticks] == ["0", "10k", "20k"]
    assert chart.bars[0].label == "Mon 2 Nov: 12,345 events"


def test_an_empty_chart_has_an_axis_and_no_bars():
    chart = daily_bar_chart(days(7, value=lambda i: 0), title="Events")
    assert chart.bars == [] and [t.label for t in chart.y_ticks] == ["0", "0.5", "1"] and len(chart.x_ticks) == 7


def test_a_chart_of_categories_labels_them_all_or_evenly():
    few = bar_chart([("0-10", 4), ("10-20", 0), ("20-30", 2)], title="Values", unit="customer")
    assert [t.label for t in few.x_ticks] == ["0-10", "10-20", "20-30"] and few.bars[1].label == "20-30: 2 customers"
    many = bar_chart([(str(n), n) for n in range(40)], title="Values", unit="customer")
    assert 4 <= len(many.x_ticks) <= 8 and many.rows[-1] == ("39", 39) and many.category == "Value"
