"""The geometry of the checks-per-day chart, drawn by the template as SVG.

Presentation only: where each day's bars go, from the figures of
``ingest.fixity_activity.checks_per_day``. No script draws it; the page shows
the same figures as a table beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingest.fixity_activity import ChecksPerDay, DayOfChecks

#: the drawing's own units (it scales to the width it is given)
WIDTH, HEIGHT = 720, 200
LEFT, BOTTOM, TOP = 40, 24, 8


@dataclass(frozen=True)
class Bar:
    day: DayOfChecks
    x: float
    width: float
    #: the passed checks' bar (from the axis up) and the failed checks' (on top)
    ok_y: float
    ok_height: float
    failed_y: float
    failed_height: float


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    top: int
    axis_y: int
    most: int
    bars: tuple[Bar, ...]
    #: (x, text, anchor) of the day labels under the axis: the first, the middle and
    #: today, each anchored so that it stays inside the drawing
    labels: tuple[tuple[float, str, str], ...]


def chart_of(figures: ChecksPerDay) -> Chart:
    """Bars for every day of ``figures``, scaled so that the busiest day fills the height."""
    days = figures.days
    plot_width = WIDTH - LEFT
    plot_height = HEIGHT - BOTTOM - TOP
    axis_y = HEIGHT - BOTTOM
    step = plot_width / max(1, len(days))
    most = max(1, figures.most)
    bars = []
    for n, day in enumerate(days):
        ok = day.deep_ok + day.shallow_ok
        ok_height = plot_height * ok / most
        failed_height = plot_height * day.failed / most
        bars.append(Bar(day=day, x=round(LEFT + n * step + step * 0.1, 2),
                        width=round(max(step * 0.8, 0.5), 2),
                        ok_y=round(axis_y - ok_height, 2), ok_height=round(ok_height, 2),
                        failed_y=round(axis_y - ok_height - failed_height, 2),
                        failed_height=round(failed_height, 2)))
    labels = []
    if days:
        labels.append((float(LEFT), days[0].day.isoformat(), "start"))
        if len(days) > 2:
            middle = len(days) // 2
            labels.append((round(LEFT + middle * step + step / 2, 2), days[middle].day.isoformat(), "middle"))
        if len(days) > 1:
            labels.append((float(WIDTH), days[-1].day.isoformat(), "end"))
    return Chart(width=WIDTH, height=HEIGHT, left=LEFT, top=TOP, axis_y=axis_y,
                 most=figures.most, bars=tuple(bars), labels=tuple(labels))
