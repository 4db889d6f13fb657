"""Fixity checks per day over the policy's window (ingest.fixity_activity), on a real
SQLite catalog: the figures behind the preservation page's chart."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from ingest.clock import FixedClock
from ingest.fixity_activity import checks_per_day
from ingest.fixity_due import run_due
from ingest.fixity_policy import FixityPolicy
from ingest.fixity_report import CSV_FIELDS, fixity_report, report_csv
from ingest.services import Services
from tests.unit.test_fixity_schedule import AT, DAY, stored_twice, write_batch

POLICY = FixityPolicy(window=timedelta(days=30), shallow_interval=timedelta(0))


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    with stored_twice(tmp_path, write_batch(tmp_path, {"scan/page-01.txt": b"Dear Sir,\n" * 50})) as services:
        yield services


def test_every_day_of_the_window_is_there_oldest_first_ending_today(services: Services) -> None:
    figures = checks_per_day(services.catalog, POLICY, AT)
    assert len(figures.days) == 30
    assert figures.days[-1].day == AT.date()
    assert figures.days[0].day == AT.date() - timedelta(days=29)
    assert figures.total == 0 and figures.most == 0  # nothing was checked yet


def test_the_due_checks_of_a_day_are_counted_on_that_day_and_older_ones_fall_out(
        services: Services) -> None:
    later = replace(services, clock=FixedClock(AT + 31 * DAY))
    run = run_due(later, POLICY)
    assert len(run.checks) == 4  # two versions, two locations, one deep check each
    figures = checks_per_day(services.catalog, POLICY, AT + 31 * DAY)
    today = figures.days[-1]
    assert (today.deep_ok, today.deep_failed, today.total) == (4, 0, 4)
    assert figures.total == 4 and figures.most == 4
    # 30 days on, the day of those checks is out of the window
    assert checks_per_day(services.catalog, POLICY, AT + 61 * DAY).total == 0


def test_the_report_as_csv_has_a_row_per_location_and_per_overdue_copy(services: Services) -> None:
    later = replace(services, clock=FixedClock(AT + 31 * DAY))
    rows = list(csv.DictReader(io.StringIO(report_csv(fixity_report(later, POLICY).to_dict()))))
    assert tuple(rows[0]) == CSV_FIELDS
    kinds = [r["kind"] for r in rows]
    assert kinds.count("coverage") == 3  # overall and one per location
    assert kinds.count("overdue") == 4
