"""Automatic repair after a scheduled deep check finds damage, when the policy allows it.

A SQLite catalog, a primary and one replica folder, two packages ingested through
the real pipeline, the clock moved by hand past the window so every copy falls
due. Damage is done behind the service's back on the files themselves. With
``auto_repair`` on, the run that finds the damage repairs it from a copy verified
good just before, and the report then counts the copy as deep-verified; with it
off (the default), the damage is only reported; with no good copy, nothing is
written and the failure stays in the report.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ingest.clock import FixedClock
from ingest.fixity_due import run_due
from ingest.fixity_policy import DEEP, FixityPolicy
from ingest.fixity_report import fixity_report
from ingest.models import EventType
from ingest.services import Services
from strongroom.settings import Settings, SettingsError, fixity_policy
from tests.unit.test_fixity_schedule import AT, DAY, IDENTIFIERS, package, stored_twice, write_batch

PAGE = "data/scan/page-01.txt"
WINDOW = timedelta(days=90)
LATER = AT + 91 * DAY  # past the window: every copy is due for a deep check
REPORTING = FixityPolicy(window=WINDOW, shallow_interval=timedelta(0))
REPAIRING = replace(REPORTING, auto_repair=True)


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    batch = write_batch(tmp_path, {"scan/page-01.txt": b"Dear Sir,\n" * 50})
    for identifier in IDENTIFIERS:  # bytes of their own: neither package mends the other's
        (batch / identifier / "scan/page-01.txt").write_bytes(f"Dear Sir ({identifier}),\n".encode() * 50)
    with stored_twice(tmp_path, batch) as services:
        yield replace(services, clock=FixedClock(LATER))


def page(services: Services, location: int, n: int = 0) -> Path:
    """The scanned page of package ``n`` in location 0 (primary) or 1 (replica)."""
    root = Path(services.locations[location].root)  # type: ignore[attr-defined]
    return root / package(n) / "v1" / PAGE


def flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[3] ^= 0x01
    path.write_bytes(bytes(data))


def report(services: Services, tmp_path: Path, auto_repair: bool) -> dict[str, Any]:
    """What ``strongroom fixity report`` says now (each copy's current failures)."""
    settings = Settings(data_dir=tmp_path, database_url="sqlite://",
                        storage_url=services.store.location, fixity_window_days=90,
                        fixity_shallow_interval_days=0, fixity_auto_repair=auto_repair)
    return fixity_report(services, fixity_policy(settings)).to_dict()


def coverage_by_location(doc: dict[str, Any]) -> dict[str, tuple[int, int]]:
    return {loc["location"]: (loc["covered"], loc["versions"])
            for loc in doc["coverage"]["locations"]}


def repair_events(services: Services) -> list[Any]:
    return [e for n in (0, 1) for e in services.catalog.events(package(n))
            if e.event_type == EventType.REPLICATION.value and e.detail.get("reason") == "repair"]


def test_a_flipped_byte_in_the_replica_is_repaired_in_the_same_run_when_the_policy_allows(
        services: Services, tmp_path: Path) -> None:
    good = page(services, 0).read_bytes()
    flip_a_byte(page(services, 1))

    run = run_due(services, REPAIRING)

    (failed,) = [c for c in run.checks if c.findings]
    assert (failed.package_id, failed.location, failed.tier) == (
        package(0), services.replicas[0].location, DEEP)
    assert "FIXITY_MISMATCH" in {f.code for f in failed.findings}
    assert failed.repair is not None and failed.repair.status == "repaired"
    assert len(run.repairs) == 1
    assert run.to_dict()["repaired"] == 1 and run.to_dict()["unrepaired"] == 0
    assert run.to_dict()["checks"][run.checks.index(failed)]["repair"]["status"] == "repaired"
    assert run.failed  # damage was found: still news for whoever reads the run
    assert page(services, 1).read_bytes() == good
    [event] = repair_events(services)
    assert (event.outcome, event.detail["source"]) == ("success", services.store.location)

    doc = report(services, tmp_path, auto_repair=True)
    assert doc["failures"] == []
    assert (doc["coverage"]["covered"], doc["coverage"]["versions"]) == (2, 2)
    assert coverage_by_location(doc)[services.replicas[0].location] == (2, 2)
    assert doc["status"] == "ok"


def test_with_auto_repair_off_damage_is_only_reported(services: Services, tmp_path: Path) -> None:
    damaged = flip_and_keep(page(services, 1))

    run = run_due(services, REPORTING)

    (failed,) = [c for c in run.checks if c.findings]
    assert failed.location == services.replicas[0].location and failed.repair is None
    assert run.repairs == () and run.to_dict()["repaired"] == 0
    assert page(services, 1).read_bytes() == damaged
    assert repair_events(services) == []

    doc = report(services, tmp_path, auto_repair=False)
    assert [(c["package_id"], c["location"], c["tier"]) for c in doc["failures"]] == [
        (package(0), services.replicas[0].location, DEEP)]
    assert "FIXITY_MISMATCH" in {f["code"] for f in doc["failures"][0]["findings"]}
    assert coverage_by_location(doc)[services.replicas[0].location] == (1, 2)
    assert doc["status"] == "failed"


def flip_and_keep(path: Path) -> bytes:
    flip_a_byte(path)
    return path.read_bytes()


def test_with_both_copies_damaged_auto_repair_refuses_and_the_failures_stay_reported(
        services: Services, tmp_path: Path) -> None:
    primary, replica = flip_and_keep(page(services, 0)), flip_and_keep(page(services, 1))

    run = run_due(services, REPAIRING)

    assert {c.location for c in run.checks if c.findings} == {
        services.store.location, services.replicas[0].location}
    # one repair attempt for the version, though both of its copies failed
    (refused,) = run.repairs
    assert refused.status == "refused" and refused.has_problems
    assert run.to_dict()["unrepaired"] == 1 and run.to_dict()["repaired"] == 0
    assert (page(services, 0).read_bytes(), page(services, 1).read_bytes()) == (primary, replica)
    assert repair_events(services) == []

    doc = report(services, tmp_path, auto_repair=True)
    assert sorted((c["package_id"], c["location"]) for c in doc["failures"]) == sorted([
        (package(0), services.store.location), (package(0), services.replicas[0].location)])
    assert (doc["coverage"]["covered"], doc["coverage"]["versions"]) == (1, 2)
    assert doc["status"] == "failed"


def test_the_fixity_queue_task_repairs_when_the_worker_policy_allows(
        services: Services, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from workers.celery_app import create_app
    from workers.reliability import TASK_CHECK_COPY, WorkerSettings

    good = page(services, 0).read_bytes()
    flip_a_byte(page(services, 1))
    results = {}
    for name, policy in (("reporting", REPORTING), ("repairing", REPAIRING)):
        app = create_app(WorkerSettings(broker_url="redis://127.0.0.1:1/13", fixity_policy=policy),
                         services_factory=lambda: services)
        task = app.tasks[TASK_CHECK_COPY]
        task.push_request(id="task-id", retries=0, called_directly=False)
        try:
            results[name] = task.run(package(0), 1, services.replicas[0].location, DEEP)
        finally:
            task.pop_request()
            app.close()
    assert results == {"reporting": "failed", "repairing": "repaired"}
    assert page(services, 1).read_bytes() == good
    assert report(services, tmp_path, auto_repair=True)["failures"] == []


def test_auto_repair_is_off_unless_the_setting_says_1(tmp_path: Path) -> None:
    env = {"STRONGROOM_DATA_DIR": str(tmp_path)}
    assert Settings.from_env(env).fixity_auto_repair is False
    assert FixityPolicy().auto_repair is False
    on = Settings.from_env({**env, "STRONGROOM_FIXITY_AUTO_REPAIR": "1"})
    assert on.fixity_auto_repair is True
    assert Settings.from_env({**env, "STRONGROOM_FIXITY_AUTO_REPAIR": "0"}).fixity_auto_repair is False
    with pytest.raises(SettingsError, match="STRONGROOM_FIXITY_AUTO_REPAIR"):
        Settings.from_env({**env, "STRONGROOM_FIXITY_AUTO_REPAIR": "yes"})
