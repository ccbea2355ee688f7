"""Bar charts drawn as server-side SVG: geometry only, rendered by `partials/bar_chart.html`.

Why SVG from the server rather than a chart library: the console runs under a strict content
security policy (no inline scripts or styles), charts must read without JavaScript, and every bar
carries its value in a `<title>` (shown on hover and read by screen readers). A table of the same
figures goes with each chart, for copying and for people who do not read charts.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date

from django.utils.formats import number_format


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    w: float
    h: float
    value: float
    label: str  # "Mon 3 Nov: 12 events", for the hover title


@dataclass(frozen=True)
class Tick:
    at: float  # x or y position in the plot's coordinates
    label: str


@dataclass(frozen=True)
class BarChart:
    title: str
    width: int
    height: int
    left: int  # the plot area: x from left to width, y from top to bottom
    top: int
    bottom: int
    bars: list[Bar]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    total: float
    peak: float
    unit: str
    category: str  # what the table's first column is: "Day", "Value"
    rows: list[tuple[str, float]]  # every point, empty ones included, for the table view

    @property
    def summary(self) -> str:
        """What a screen reader says for the whole chart."""
        return f"{self.title}: {_count(self.total, self.unit)} in all; the largest bar {_count(self.peak, self.unit)}."


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 x 10^k at or above `value` (so axis labels are round numbers)."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def bar_chart(points: list[tuple[str, float]], *, title: str, unit: str, category: str = "Value", hover: list[str] | None = None,
              ticks: list[int] | None = None, width: int = 600, height: int = 150) -> BarChart:
    """A bar per point (label, value), with a value axis from 0 to a round maximum. `ticks` are
    the indexes of the points whose label goes under the axis (default: all up to 14, else
    evenly spaced); `hover` the bars' titles (default: "label: N units")."""
    left, top, bottom = 44, 8, height - 22
    plot_w, plot_h = width - left - 4, bottom - top
    peak = max((v for _, v in points), default=0)
    ceiling = nice_ceiling(peak)
    slot = plot_w / max(len(points), 1)
    bar_w = max(slot * 0.8, 1)
    bars = []
    for i, (label, value) in enumerate(points):
        if value:
            h = max(plot_h * value / ceiling, 1)
            bars.append(Bar(x=round(left + i * slot + (slot - bar_w) / 2, 2), y=round(bottom - h, 2), w=round(bar_w, 2),
                            h=round(h, 2), value=value, label=hover[i] if hover else f"{label}: {_count(value, unit)}"))
    if ticks is None:
        ticks = list(range(len(points))) if len(points) <= 14 else list(range(0, len(points), math.ceil(len(points) / 8)))
    y_ticks = [Tick(at=round(bottom - plot_h * f, 2), label=_short(ceiling * f)) for f in (0, 0.5, 1)]
    return BarChart(title=title, width=width, height=height, left=left, top=top, bottom=bottom, bars=bars,
                    x_ticks=[Tick(at=round(left + i * slot + slot / 2, 2), label=points[i][0]) for i in ticks],
                    y_ticks=y_ticks, total=sum(v for _, v in points), peak=peak, unit=unit, category=category,
                    rows=list(points))


def daily_bar_chart(points: list[tuple[date, float]], *, title: str, unit: str = "event",
                    width: int = 600, height: int = 150) -> BarChart:
    """A bar per day (oldest first, empty days included), day labels spaced to fit: every day up
    to two weeks, then weekly, then monthly."""
    chart = bar_chart([(f"{d.day} {d:%b}", v) for d, v in points], title=title, unit=unit, category="Day",
                      hover=[f"{d:%a} {d.day} {d:%b}: {_count(v, unit)}" for d, v in points],
                      ticks=_day_ticks([d for d, _ in points]), width=width, height=height)
    return replace(chart, rows=[(f"{d:%a} {d.day} {d:%b} {d.year}", v) for d, v in points])


def _day_ticks(days: list[date]) -> list[int]:
    if len(days) <= 14:
        chosen = list(enumerate(days))
    elif len(days) <= 45:
        chosen = [(i, d) for i, d in enumerate(days) if d.weekday() == 0]  # Mondays
    else:
        chosen = [(i, d) for i, d in enumerate(days) if d.day == 1 or i == 0]  # months (and where it starts)
        if len(chosen) > 1 and chosen[1][0] - chosen[0][0] < 8:
            chosen.pop(0)  # the start too close to the next month's label
    return [i for i, _ in chosen]


def _short(value: float) -> str:
    """Axis labels: 0, 50, 1.5k, 2M."""
    for size, suffix in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
        if value >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.3g}"


def _count(value: float, unit: str) -> str:
    number = number_format(value, decimal_pos=0 if float(value).is_integer() else 1, use_l10n=True, force_grouping=True)
    return f"{number} {unit}{'' if value == 1 else 's'}"
