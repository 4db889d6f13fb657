"""The fixity report use case (ingest.fixity_report), on a real SQLite catalog and
two filesystem stores: what ``strongroom fixity report`` shows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from ingest.clock import FixedClock
from ingest.fixity_due import run_due
from ingest.fixity_policy import FixityPolicy
from ingest.fixity_report import fixity_report
from ingest.services import Services
from tests.unit.test_fixity_schedule import AT, DAY, package, stored_twice, write_batch

POLICY = FixityPolicy(window=timedelta(days=90), shallow_interval=timedelta(0))
LATER = AT + 91 * DAY  # past the window: no copy is deep-verified inside it


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    with stored_twice(tmp_path, write_batch(tmp_path, {"scan/page-01.txt": b"Dear Sir,\n" * 50})) as services:
        yield replace(services, clock=FixedClock(LATER))


def test_a_report_past_the_window_lists_every_copy_overdue_and_fails(services: Services) -> None:
    doc = fixity_report(services, POLICY).to_dict()
    assert doc["as_of"] == LATER.isoformat()
    assert doc["policy"] == {"window_days": 90, "bytes_per_day": 0,
                             "shallow_interval_days": 0, "auto_repair": False}
    assert (doc["coverage"]["covered"], doc["coverage"]["versions"]) == (0, 2)
    assert doc["overdue_total"] == 4  # two versions, two locations each
    assert {(o["package_id"], o["location"]) for o in doc["overdue"]} == {
        (package(n), store.location) for n in (0, 1) for store in services.locations}
    assert doc["failures"] == [] and doc["stuck_items"] == []
    assert doc["status"] == "failed"


def test_after_the_due_checks_ran_the_report_shows_full_coverage_and_is_ok(
        services: Services) -> None:
    assert not run_due(services, POLICY).failed
    report = fixity_report(services, POLICY)
    doc = report.to_dict()
    assert (doc["coverage"]["covered"], doc["coverage"]["versions"]) == (2, 2)
    assert doc["overdue"] == [] and doc["overdue_total"] == 0
    assert [r["status"] for r in doc["reconciliation"]] == ["ok", "ok"]
    assert not report.failed and doc["status"] == "ok"


def test_the_limit_shortens_the_lists_but_not_the_totals(services: Services) -> None:
    doc = fixity_report(services, POLICY, limit=1, reconcile_stores=False).to_dict()
    assert len(doc["overdue"]) == 1 and doc["overdue_total"] == 4
    assert doc["reconciliation"] == []
