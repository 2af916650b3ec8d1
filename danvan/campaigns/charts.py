"""Horizontal bar charts laid out for server-rendered SVG (no JavaScript, no inline style).

Each group is a label (wrapped on several lines) and one bar per year; every bar carries its
number and year in text, so the chart reads without colour; the page repeats it as a table.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from danvan.oversight import ComparisonRow
from danvan.text import format_number

WIDTH = 360
FONT = 14
LINE = 18  # height of a label line
BAR = 14
BAR_GAP = 4
GROUP_GAP = 10
TOP = 4
VALUE_ROOM = 120  # room right of the longest bar for "2023: 12.345"
WRAP = 46  # characters per label line at this width and font size


@dataclass(frozen=True)
class Bar:
    y: int
    width: float
    text_x: float
    text: str
    previous: bool  # last year's bar: hatched


@dataclass(frozen=True)
class Group:
    lines: tuple[tuple[int, str], ...]  # (baseline y, text)
    bars: tuple[Bar, ...]


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    height: int
    groups: tuple[Group, ...]
    width: int = WIDTH
    font: int = FONT
    bar: int = BAR


def bar_chart(
    key: str,
    title: str,
    rows: list[ComparisonRow],
    metric: str,
    year: int,
    previous_year: int | None,
) -> Chart:
    """Lay out one chart of ``metric`` per row: this year's bar, then last year's."""

    def value(figures):
        return getattr(figures, metric) if figures is not None else None

    values = [v for r in rows for v in (value(r.current), value(r.previous)) if v is not None]
    top = max(values, default=0) or 1
    scale = (WIDTH - VALUE_ROOM) / top
    y = TOP
    groups = []
    for row in rows:
        lines = []
        for text in textwrap.wrap(row.label, WRAP) or [""]:
            y += LINE
            lines.append((y - 4, text))
        y += 2
        bars = []
        years = [(year, row.current, False)]
        if previous_year is not None:
            years.append((previous_year, row.previous, True))
        for label_year, figures, is_previous in years:
            number = value(figures)
            width = round(number * scale, 1) if number else 0
            shown = format_number(number) if number is not None else "—"
            bars.append(Bar(y, width, width + 4, f"{label_year}: {shown}", is_previous))
            y += BAR + BAR_GAP
        y += GROUP_GAP
        groups.append(Group(tuple(lines), tuple(bars)))
    return Chart(key, title, y, tuple(groups))
