"""Charts drawn on the server as SVG: the geometry is worked out here, ``templates/analytics/_charts.html``
draws it. Every mark carries its label and its raw value (``data-label``, ``data-value``) beside the formatted
text, so a screen reader, a test or a script reads the same numbers the eye sees; a table of the same figures
always sits under the chart.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from xuyen.ui.formatting import number

WIDTH = 640
BAR_HEIGHT = 22
BAR_GAP = 8
LABEL_WIDTH = 160
VALUE_WIDTH = 110
LINE_HEIGHT = 220
PLOT_TOP = 12
PLOT_BOTTOM = 28
PALETTE = ("#2563eb", "#16a34a", "#d97706", "#db2777", "#7c3aed", "#0891b2", "#65a30d", "#dc2626")


@dataclass(frozen=True)
class Bar:
    """One bar: where it is drawn, and what it stands for."""

    label: str
    value: float
    text: str
    y: float
    width: float
    colour: str


@dataclass(frozen=True)
class BarChart:
    """Horizontal bars, one per label, longest for the largest value."""

    title: str
    key: str
    bars: list[Bar]
    width: int
    height: int
    label_width: int
    plot_width: int


def bar_chart(*, title: str, key: str, items: Sequence[tuple[str, float, str]]) -> BarChart:
    """Bars for ``items`` of (label, value, the value as shown); ``key`` names the chart for tests and links."""
    plot = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    top = max((value for _, value, _ in items), default=0) or 1
    bars = [Bar(label=label, value=value, text=text, y=index * (BAR_HEIGHT + BAR_GAP),
                width=max(0.0, value) / top * plot, colour=PALETTE[index % len(PALETTE)])
            for index, (label, value, text) in enumerate(items)]
    height = max(1, len(bars)) * (BAR_HEIGHT + BAR_GAP)
    return BarChart(title=title, key=key, bars=bars, width=WIDTH, height=height, label_width=LABEL_WIDTH,
                    plot_width=plot)


@dataclass(frozen=True)
class Point:
    """One point of a line: its place and what it stands for."""

    label: str
    value: float
    text: str
    x: float
    y: float


@dataclass(frozen=True)
class Line:
    """One series of a line chart."""

    name: str
    colour: str
    points: list[Point]

    @property
    def path(self) -> str:
        """The SVG path through the points."""
        return " ".join(f"{'M' if index == 0 else 'L'}{point.x:.1f},{point.y:.1f}"
                        for index, point in enumerate(self.points))


@dataclass(frozen=True)
class Tick:
    """A labelled mark on an axis."""

    text: str
    at: float


@dataclass(frozen=True)
class LineChart:
    """One or more series over the same labels (days, weeks, hours…)."""

    title: str
    key: str
    lines: list[Line]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    width: int
    height: int
    left: int


def whole_number(value: float) -> str:
    """``value`` rounded to a whole number, written the way the page's language writes numbers."""
    return number(round(value))


def line_chart(*, title: str, key: str, labels: Sequence[str],
               series: Sequence[tuple[str, Sequence[float], Sequence[str]]],
               y_text: Callable[[float], str] = whole_number, max_ticks: int = 8) -> LineChart:
    """Lines for ``series`` of (name, values, values as shown), one value per label; ``y_text`` writes the
    vertical axis' numbers."""
    left, right = 64, 12
    plot_width, plot_height = WIDTH - left - right, LINE_HEIGHT - PLOT_TOP - PLOT_BOTTOM
    top = max((value for _, values, _ in series for value in values), default=0) or 1
    step = plot_width / max(1, len(labels) - 1)

    def x_at(index: int) -> float:
        return left + (index * step if len(labels) > 1 else plot_width / 2)

    def y_at(value: float) -> float:
        return PLOT_TOP + plot_height - max(0.0, value) / top * plot_height

    lines = [Line(name=name, colour=PALETTE[number % len(PALETTE)],
                  points=[Point(label=labels[index], value=value, text=texts[index], x=x_at(index), y=y_at(value))
                          for index, value in enumerate(values)])
             for number, (name, values, texts) in enumerate(series)]
    every = max(1, -(-len(labels) // max_ticks))
    x_ticks = [Tick(text=label, at=x_at(index)) for index, label in enumerate(labels) if index % every == 0]
    y_ticks = [Tick(text=y_text(top * share), at=y_at(top * share)) for share in (0, 0.5, 1)]
    return LineChart(title=title, key=key, lines=lines, x_ticks=x_ticks, y_ticks=y_ticks, width=WIDTH,
                     height=LINE_HEIGHT, left=left)


@dataclass(frozen=True)
class Cell:
    """One cell of a heat map: darker for a larger share of the largest value."""

    row: str
    column: str
    value: float | None
    text: str
    x: float
    y: float
    opacity: float


@dataclass(frozen=True)
class HeatMap:
    """A grid of values, rows by columns (cohorts by months since their first purchase, days by hours…)."""

    title: str
    key: str
    rows: list[str]
    columns: list[str]
    cells: list[Cell]
    cell_width: float
    cell_height: int
    left: int
    top: int
    width: int
    height: int


def heat_map(*, title: str, key: str, rows: Sequence[str], columns: Sequence[str],
             values: Sequence[Sequence[float | None]], texts: Sequence[Sequence[str]]) -> HeatMap:
    """A heat map of ``values[row][column]`` (None: no value, drawn empty), shown as ``texts``."""
    left, top, cell_height = 110, 22, 24
    cell_width = (WIDTH - left) / max(1, len(columns))
    largest = max((value for row in values for value in row if value is not None), default=0) or 1
    cells = [Cell(row=rows[r], column=columns[c], value=value, text=texts[r][c], x=left + c * cell_width,
                  y=top + r * cell_height, opacity=0.0 if value is None else 0.12 + 0.88 * max(0.0, value) / largest)
             for r, row in enumerate(values) for c, value in enumerate(row)]
    return HeatMap(title=title, key=key, rows=list(rows), columns=list(columns), cells=cells, cell_width=cell_width,
                   cell_height=cell_height, left=left, top=top, width=WIDTH, height=top + len(rows) * cell_height)
