"""Scheduled fixity checks of every copy, on a SQLite catalog and filesystem stores.

Two locations (a primary and a replica folder), packages ingested through the
real pipeline, the clock moved by hand. Damage is done behind the service's
back, on the files themselves, and each kind must be caught by the right tier
with the right code, naming the damaged copy only.
"""

from __future__ import annotations

import json
import os
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ingest.clock import FixedClock
from ingest.fixity_audit import shallow_check, verify_packages, verify_version
from ingest.fixity_due import enqueue_due, run_due
from ingest.fixity_policy import DEEP, SHALLOW, FixityPolicy
from ingest.models import EventType, package_id_for
from ingest.pipeline import ingest_item
from ingest.record_schema import SchemaSet
from ingest.services import Services
from ingest.submission import submit_batch
from storage.catalog import SqlCatalog
from storage.filesystem import FilesystemObjectStore
from tests.fakes import MemoryObjectStore
from tests.sqlite_services import sqlite_services

AT = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
POLICY = FixityPolicy(window=timedelta(days=90), shallow_interval=timedelta(days=7))
IDENTIFIERS = ("letter-1", "letter-2")


def write_batch(root: Path, payloads: dict[str, bytes]) -> Path:
    batch = root / "batch"
    for identifier in IDENTIFIERS:
        item = batch / identifier
        item.mkdir(parents=True)
        (item / "metadata.json").write_text(json.dumps(
            {"identifier": identifier, "title": f"Letter {identifier}", "date": "1952-03"}))
        for path, data in payloads.items():
            (item / path).parent.mkdir(parents=True, exist_ok=True)
            (item / path).write_bytes(data)
    return batch


@contextmanager
def stored_twice(tmp_path: Path, batch: Path) -> Iterator[Services]:
    """Services at AT on a fresh SQLite catalog, a primary folder and a replica
    folder, with every item of ``batch`` stored in both."""
    with sqlite_services(tmp_path, FilesystemObjectStore(tmp_path / "primary"), at=AT,
                         replicas=(FilesystemObjectStore(tmp_path / "replica"),)) as services:
        for item in submit_batch(batch, services).items:
            assert ingest_item(item.item_id, services).outcome == "done"
        yield services


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    with stored_twice(tmp_path, write_batch(tmp_path, {"scan/page-01.txt": b"Dear Sir,\n" * 50})) as services:
        yield services


def at(services: Services, moment: datetime) -> Services:
    return replace(services, clock=FixedClock(moment))


def package(n: int = 0) -> str:
    return package_id_for(IDENTIFIERS[n])


def object_path(services: Services, store_index: int, key: str) -> Path:
    return Path(services.locations[store_index].root) / key  # type: ignore[attr-defined]


def only(findings: tuple) -> list[tuple[str, str | None, str | None]]:
    return [(f.code, f.path, f.location) for f in findings]


# --------------------------------------------------------------------------- scheduling


def test_every_copy_in_every_location_is_checked_when_due_and_each_check_is_an_event(
        services: Services) -> None:
    assert run_due(at(services, AT + DAY), POLICY).checks == ()  # nothing due yet
    run = run_due(at(services, AT + 91 * DAY), POLICY)
    copies = {(c.package_id, c.version, c.location, c.tier) for c in run.checks}
    assert copies == {(package(n), 1, store.location, DEEP)
                      for n in (0, 1) for store in services.locations}
    assert not run.failed
    events = [e for e in services.catalog.events() if e.event_type == EventType.FIXITY_CHECK.value]
    assert {(e.package_id, e.detail["location"], e.detail["tier"], e.outcome) for e in events} == {
        (package(n), store.location, DEEP, "success") for n in (0, 1) for store in services.locations}
    assert all(e.detail["digests"]["algorithms"] == ["sha256", "sha512"] for e in events)
    # the version's last fixity result, which `show` prints, is kept too
    assert services.catalog.get_version(package(0), 1).last_fixity_outcome == "ok"

    # a week later: shallow checks only, the deep ones are not due again
    week = run_due(at(services, AT + 99 * DAY), POLICY)
    assert {c.tier for c in week.checks} == {SHALLOW} and len(week.checks) == 4


def test_a_copy_queued_once_is_not_queued_again_until_done_or_lost(services: Services) -> None:
    later = AT + 91 * DAY
    first = enqueue_due(services, POLICY, later)
    assert len(first) == 4
    assert enqueue_due(services, POLICY, later + timedelta(hours=1)) == []
    # a crash left them queued: after requeue_after they are due again
    again = enqueue_due(services, POLICY, later + POLICY.requeue_after + timedelta(minutes=1))
    assert {(p.package_id, p.location) for p in again} == {(p.package_id, p.location) for p in first}
    # once recorded, a copy is no longer queued (and no longer due)
    for planned in again:
        verify_version(at(services, later), planned.package_id, planned.number, planned.location)
    assert enqueue_due(services, POLICY, later + DAY) == []


# --------------------------------------------------------------------------- the two tiers


def test_a_deleted_object_is_file_missing_to_the_shallow_tier_in_that_copy_only(
        services: Services) -> None:
    object_path(services, 1, f"{package()}/v1/data/scan/page-01.txt").unlink()
    replica = services.replicas[0].location
    assert only(shallow_check(services, package(), 1, replica).findings) == [
        ("FILE_MISSING", "data/scan/page-01.txt", replica)]
    assert shallow_check(services, package(), 1).findings == ()  # the primary is whole


def test_a_truncated_object_is_size_mismatch_to_the_shallow_tier(services: Services) -> None:
    path = object_path(services, 0, f"{package()}/v1/data/scan/page-01.txt")
    os.truncate(path, 10)
    check = shallow_check(services, package(), 1)
    assert only(check.findings) == [
        ("SIZE_MISMATCH", "data/scan/page-01.txt", services.store.location)]
    assert (check.findings[0].expected, check.findings[0].found) == (500, 10)


def test_a_stray_object_in_a_version_is_unexpected_file_to_the_shallow_tier(
        services: Services) -> None:
    stray = object_path(services, 0, f"{package()}/v1/data/stray.txt")
    stray.write_bytes(b"not ours")
    assert only(shallow_check(services, package(), 1).findings) == [
        ("UNEXPECTED_FILE", "data/stray.txt", services.store.location)]


def test_a_flipped_byte_passes_the_shallow_tier_and_is_caught_by_the_deep_one(
        services: Services) -> None:
    path = object_path(services, 1, f"{package()}/v1/data/scan/page-01.txt")
    data = bytearray(path.read_bytes())
    data[3] ^= 0x01
    path.write_bytes(bytes(data))
    replica = services.replicas[0].location
    # a filesystem keeps no checksum of its own: same size, nothing to compare
    assert shallow_check(services, package(), 1, replica).findings == ()
    deep = verify_version(services, package(), 1, replica)
    assert sorted(only(deep.findings)) == [("FIXITY_MISMATCH", "data/scan/page-01.txt", replica)]
    assert deep.findings[0].params["algorithms"] == ["sha256", "sha512"]
    assert services.catalog.get_version(package(), 1).last_fixity_outcome == "failed"
    failures = services.catalog.fixity_checks(failed_only=True)
    assert [(c.location, c.tier) for c in failures] == [(replica, DEEP)]
    # `verify` checks every copy and names each
    results = verify_packages(services, [IDENTIFIERS[0]])
    assert [(r.location, r.status) for r in results] == [
        (services.store.location, "ok"), (replica, "failed")]


def test_the_shallow_tier_compares_the_stores_own_sha256_where_it_keeps_one(
        services: Services, tmp_path: Path) -> None:
    # The memory store reports a SHA-256 of what it holds, as S3 does.
    memory = MemoryObjectStore("memory://replica")
    for path in Path(services.store.root).rglob("*"):  # type: ignore[attr-defined]
        if path.is_file():
            memory.objects[path.relative_to(services.store.root).as_posix()] = path.read_bytes()  # type: ignore[attr-defined]
    key = f"{package()}/v1/data/scan/page-01.txt"
    memory.objects[key] = memory.objects[key].replace(b"Dear", b"Deer", 1)
    with_memory = replace(services, replicas=(memory,))
    assert only(shallow_check(with_memory, package(), 1, "memory://replica").findings) == [
        ("FIXITY_MISMATCH", "data/scan/page-01.txt", "memory://replica")]


def test_a_deep_check_streams_a_large_object_with_flat_memory(tmp_path: Path) -> None:
    catalog = SqlCatalog.from_url("sqlite:///" + str(tmp_path / "catalog.sqlite"))
    memory = MemoryObjectStore()
    services = Services(catalog=catalog, store=memory, clock=FixedClock(AT),
                        schemas=SchemaSet.default())
    big = 64 * 1024 * 1024
    batch = tmp_path / "batch"
    item = batch / "big"
    item.mkdir(parents=True)
    (item / "metadata.json").write_text(json.dumps(
        {"identifier": "big", "title": "Big", "date": "1952"}))
    with open(item / "reel.bin", "wb") as out:
        block = os.urandom(1024 * 1024)
        out.writelines(block for _ in range(big // len(block)))
    (submitted,) = submit_batch(batch, services).items
    assert ingest_item(submitted.item_id, services).outcome == "done"
    tracemalloc.start()
    try:
        check = verify_version(services, package_id_for("big"), 1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        catalog.engine.dispose()
    assert check.findings == ()
    assert peak < big / 8, peak


# --------------------------------------------------------------------------- Celery beat


def test_beat_plans_due_checks_and_sends_each_copy_once_to_the_fixity_queue(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    from workers.celery_app import create_app
    from workers.reliability import (
        TASK_CHECK_COPY,
        TASK_ENQUEUE_DUE_FIXITY,
        WorkerSettings,
    )

    later = at(services, AT + 91 * DAY)
    app = create_app(WorkerSettings(broker_url="redis://127.0.0.1:1/13", fixity_policy=POLICY),
                     services_factory=lambda: later)
    sent: list[tuple[str, list, str]] = []
    monkeypatch.setattr(app, "send_task",
                        lambda name, args, queue, **_: sent.append((name, args, queue)))

    def run(name: str, *args: object) -> object:
        task = app.tasks[name]
        task.push_request(id="task-id", retries=0, called_directly=False)
        try:
            return task.run(*args)
        finally:
            task.pop_request()

    try:
        entry = app.conf.beat_schedule["enqueue-due-fixity"]
        assert entry["task"] == TASK_ENQUEUE_DUE_FIXITY
        assert run(TASK_ENQUEUE_DUE_FIXITY) == 4
        assert run(TASK_ENQUEUE_DUE_FIXITY) == 0  # queued already: not sent twice
        assert {(name, queue) for name, _, queue in sent} == {(TASK_CHECK_COPY, "fixity")}
        assert {tuple(args) for _, args, _ in sent} == {
            (package(n), 1, store.location, DEEP) for n in (0, 1) for store in services.locations}
        # a worker runs each message: the check is recorded for that copy
        assert [run(TASK_CHECK_COPY, *args) for _, args, _ in sent] == ["ok"] * 4
        assert run(TASK_CHECK_COPY, package(), 1, "file:///nowhere", DEEP) == "unknown"
        assert run(TASK_CHECK_COPY, package(), 1, services.store.location, "medium") == "refused"
        assert len(services.catalog.fixity_checks()) == 4
    finally:
        app.close()


class UnreadableStore:
    """A location that answers nothing (its server down); every other call passes."""

    def __init__(self, inner: FilesystemObjectStore) -> None:
        self.inner, self.location, self.root = inner, inner.location, inner.root

    def _down(self, *_: object, **__: object) -> object:
        from ingest.errors import StorageUnavailable

        raise StorageUnavailable(f"{self.location} is down")

    open = stat = list = _down

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def test_a_run_that_could_not_make_a_due_check_has_failed_not_found_nothing(
        services: Services) -> None:
    # Before: every check of the location left "unreachable", and `run.failed` False:
    # `fixity run-due` exited 0, "0 checked, 0 failed", to cron a clean night.
    down = replace(services, replicas=(UnreadableStore(services.replicas[0]),))  # type: ignore[arg-type]
    run = run_due(at(down, AT + 91 * DAY), POLICY)
    assert run.unreachable and {p.location for p in run.unreachable} == {
        services.replicas[0].location}
    assert run.failed
