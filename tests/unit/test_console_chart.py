"""The checks-per-day chart's geometry (strongroom.web.chart): the busiest day
fills the height, failures sit on top of the passed checks, labels stay inside."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from ingest.fixity_activity import ChecksPerDay, DayOfChecks
from strongroom.web.chart import HEIGHT, WIDTH, chart_of

FIRST = date(2026, 1, 1)


def test_the_busiest_day_fills_the_height_and_failures_sit_on_top() -> None:
    days = tuple(DayOfChecks(FIRST + timedelta(days=n)) for n in range(30))
    days = (*days[:10], DayOfChecks(days[10].day, deep_ok=6, deep_failed=2), *days[11:28],
            DayOfChecks(days[28].day, shallow_ok=4), days[29])
    chart = chart_of(ChecksPerDay(datetime(2026, 1, 30, tzinfo=UTC), days))
    busiest, other = chart.bars[10], chart.bars[28]
    full = chart.axis_y - chart.top
    assert busiest.ok_height + busiest.failed_height == full  # 8 of 8
    assert busiest.failed_y + busiest.failed_height == busiest.ok_y  # stacked, not overlapping
    assert other.ok_height == full / 2 and other.failed_height == 0
    assert all(b.ok_height == b.failed_height == 0 for n, b in enumerate(chart.bars) if n not in (10, 28))
    assert [b.x for b in chart.bars] == sorted(b.x for b in chart.bars)
    assert all(b.x >= 0 and b.x + b.width <= WIDTH for b in chart.bars)
    assert [(text, anchor) for _, text, anchor in chart.labels] == [
        ("2026-01-01", "start"), ("2026-01-16", "middle"), ("2026-01-30", "end")]
    assert chart.height == HEIGHT


def test_a_window_without_checks_draws_no_bar() -> None:
    days = tuple(DayOfChecks(FIRST + timedelta(days=n)) for n in range(3))
    chart = chart_of(ChecksPerDay(datetime(2026, 1, 3, tzinfo=UTC), days))
    assert chart.most == 0
    assert all(b.ok_height == 0 and b.failed_height == 0 for b in chart.bars)
