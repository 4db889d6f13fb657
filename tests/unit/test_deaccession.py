"""Governed deaccession: two people decide, every location is rid of the objects,
a tombstone stays in the catalog and in the store, and nothing brings it back.

Runs the real pipeline on a SQLite catalog with a primary and a replica folder
(``tests.unit.test_replication.Archive``); a location out of reach is a wrapped
store that refuses to delete.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from ingest.deaccession import (
    approve_deaccession,
    list_deaccessions,
    reject_deaccession,
    request_deaccession,
    resume_deaccession,
)
from ingest.errors import Deaccessioned, DeaccessionRefused, StorageUnavailable
from ingest.fixity_audit import verify_packages
from ingest.fixity_due import enqueue_due
from ingest.fixity_policy import FixityPolicy
from ingest.local_targets import fetch_to_folder
from ingest.models import Actor, EventType
from ingest.ports import ObjectStore
from ingest.rebuild import rebuild_catalog
from ingest.reconciliation import reconcile
from ingest.services import Services
from ingest.tombstones import DEACCESSIONED, DELETING, REJECTED, tombstone_key
from strongroom.reports import package_report
from tests.unit.test_replication import (
    AT,
    IDENTIFIER,
    PACKAGE,
    PAYLOAD,
    Archive,
    make_services,
    open_archive,
    record,
)

ALICE = Actor("alice", kind="person", role="admin")
BOB = Actor("bob", kind="person", role="admin")
REASON = "deposit agreement ended; the depositor asked for removal"


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    yield from open_archive(tmp_path)


def as_(services: Services, actor: Actor) -> Services:
    return replace(services, actor=actor)


def keys(store: ObjectStore, prefix: str = "") -> set[str]:
    return {info.key for info in store.list(prefix)}


def two_versions(archive: Archive) -> None:
    archive.ingest()
    archive.ingest("corrected", payload={**PAYLOAD, "scan/page-02.txt": b"page two\n"},
                   metadata=record(title="Telegram, 21 June 1951 (corrected)"))


def test_deaccession_by_one_admin_alone_is_refused(archive: Archive) -> None:
    archive.ingest()
    request = request_deaccession(as_(archive.services, ALICE), IDENTIFIER, None, REASON)

    with pytest.raises(DeaccessionRefused) as refused:
        approve_deaccession(as_(archive.services, Actor("Alice", kind="person")),
                            request.request_id)

    assert refused.value.finding.code == "DEACCESSION_SAME_PERSON"
    assert "two people" in str(refused.value)
    assert archive.services.catalog.get_deaccession_request(request.request_id).state == "requested"
    assert archive.services.catalog.get_version(PACKAGE, 1).number == 1
    assert keys(archive.primary, f"{PACKAGE}/v1/") and keys(archive.replica, f"{PACKAGE}/v1/")


def test_after_approval_the_package_answers_deaccessioned_with_reason_and_its_objects_are_gone(
        archive: Archive) -> None:
    two_versions(archive)
    request = request_deaccession(as_(archive.services, ALICE), PACKAGE, None, REASON)

    outcome = approve_deaccession(as_(archive.services, BOB), request.request_id)

    assert outcome.finished and outcome.request.state == DEACCESSIONED
    catalog = archive.services.catalog
    for ask in (lambda: catalog.resolve_package(IDENTIFIER), lambda: catalog.get_version(PACKAGE, 2),
                lambda: catalog.list_versions(PACKAGE)):
        with pytest.raises(Deaccessioned) as gone:
            ask()
        assert REASON in str(gone.value) and AT.date().isoformat() in str(gone.value)
    assert all(p.identifier != IDENTIFIER for p in catalog.list_packages())
    for store in archive.services.locations:
        assert keys(store) & {k for k in keys(store) if k.startswith((PACKAGE, f"_commits/{PACKAGE}"))} \
            == set()
        assert {tombstone_key(PACKAGE, 1), tombstone_key(PACKAGE, 2)} <= keys(store)
    [tombstone] = catalog.tombstones()
    assert tombstone.requested_by.name == "alice" and tombstone.decided_by is not None
    assert tombstone.decided_by.name == "bob"
    assert [v.number for v in tombstone.versions] == [1, 2]
    assert {f.path for f in tombstone.versions[0].files} >= {"data/scan/page-01.txt", "bagit.txt"}
    events = [e for e in catalog.events(PACKAGE) if e.event_type in ("deaccession", "deletion")]
    assert [(e.event_type, e.detail.get("stage"), e.actor.name if e.actor else None)
            for e in events] == [
        ("deaccession", "requested", "alice"), ("deaccession", "approved", "bob"),
        ("deletion", None, "bob"), ("deletion", None, "bob"),
        ("deaccession", "completed", "bob"), ("deaccession", "completed", "bob")]
    body = json.loads(archive.primary.open(tombstone_key(PACKAGE, 2)).read())
    assert body["reason"] == REASON and body["identifier"] == IDENTIFIER
    assert body["decided_by"]["name"] == "bob" and [v["number"] for v in body["versions"]] == [2]


def test_a_version_only_deaccession_keeps_the_other_version_fetchable_and_valid(
        archive: Archive, tmp_path: Path) -> None:
    two_versions(archive)
    request = request_deaccession(as_(archive.services, ALICE), IDENTIFIER, 1, "wrong scan")
    approve_deaccession(as_(archive.services, BOB), request.request_id)

    catalog = archive.services.catalog
    with pytest.raises(Deaccessioned, match="wrong scan"):
        catalog.get_version(PACKAGE, 1)
    assert [v.number for v in catalog.list_versions(PACKAGE)] == [2]
    assert catalog.resolve_package(IDENTIFIER) == PACKAGE
    shown = package_report(catalog, PACKAGE)  # `show` and GET /packages/{id} say what went
    assert [v["version"] for v in shown["versions"]] == [2]
    assert [(d["version"], d["reason"], d["state"]) for d in shown["deaccessioned"]] == [
        (1, "wrong scan", DEACCESSIONED)]
    # Version 2 shares version 1's unchanged files: those objects stay, nothing else of v1.
    shared = {f"{PACKAGE}/v1/{f.path}" for f in catalog.get_version(PACKAGE, 2).files
              if f.held_by == 1}
    assert shared and keys(archive.primary, f"{PACKAGE}/v1/") == shared
    assert keys(archive.replica, f"{PACKAGE}/v1/") == shared
    assert keys(archive.replica, f"{PACKAGE}/v2/")
    version, findings = fetch_to_folder(archive.services, PACKAGE, 2, tmp_path / "fetched")
    assert findings == [] and version.number == 2
    valid = subprocess.run([sys.executable, "-m", "bagit", "--validate", str(tmp_path / "fetched")],
                           capture_output=True, text=True)
    assert valid.returncode == 0, valid.stderr
    # the withdrawn number is never given again
    archive.ingest("again", payload={**PAYLOAD, "scan/page-03.txt": b"three\n"})
    assert [v.number for v in catalog.list_versions(PACKAGE)] == [2, 3]


class NoDeleteStore:
    """A location that answers listings but is out of reach for writes and deletes."""

    def __init__(self, inner: ObjectStore) -> None:
        self.inner = inner
        self.location = inner.location

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def put_bytes(self, key: str, data: bytes, sha256: str) -> object:
        raise StorageUnavailable(f"{self.location} is out of reach")

    def delete(self, key: str) -> None:
        raise StorageUnavailable(f"{self.location} is out of reach")


def test_a_location_out_of_reach_leaves_the_request_deleting_until_resumed(
        archive: Archive) -> None:
    archive.ingest()
    request = request_deaccession(as_(archive.services, ALICE), IDENTIFIER, None, REASON)
    broken = replace(archive.services, actor=BOB,
                     replicas=(NoDeleteStore(archive.replica),))  # type: ignore[arg-type]

    outcome = approve_deaccession(broken, request.request_id)

    assert not outcome.finished and outcome.request.state == DELETING
    assert [loc.error is not None for loc in outcome.locations] == [False, True]
    catalog = archive.services.catalog
    assert catalog.get_deaccession_request(request.request_id).completed_at is None
    with pytest.raises(Deaccessioned):  # withdrawn already: no reader sees it
        catalog.resolve_package(IDENTIFIER)
    assert keys(archive.replica, f"{PACKAGE}/v1/")  # not deleted, and not claimed to be
    failed = [e for e in catalog.events(PACKAGE) if e.event_type == "deletion"]
    assert [(e.outcome, e.detail["location"]) for e in failed] == [
        ("failure", archive.replica.location)]

    done = resume_deaccession(as_(archive.services, Actor("carol")), request.request_id)

    assert done.finished and not keys(archive.replica, f"{PACKAGE}/v1/")
    assert tombstone_key(PACKAGE, 1) in keys(archive.replica)


def test_a_tombstoned_package_is_not_resurrected_by_a_rebuild_from_a_replica_that_kept_it(
        archive: Archive, tmp_path: Path) -> None:
    archive.ingest()
    request = request_deaccession(as_(archive.services, ALICE), IDENTIFIER, None, REASON)
    # the replica is not configured while the deletion runs: it keeps every object
    alone = replace(archive.services, actor=BOB, replicas=())
    assert approve_deaccession(alone, request.request_id).finished
    assert keys(archive.replica, f"{PACKAGE}/v1/")
    fresh = make_services(tmp_path / "fresh", replicas=archive.services.replicas,
                          store=archive.primary)

    report = rebuild_catalog(fresh)

    assert report.versions == []
    assert report.deaccessioned == [{"package_id": PACKAGE, "version": 1,
                                     "request_id": request.request_id,
                                     "locations": [archive.replica.location]}]
    assert report.has_problems  # a deletion left unfinished is said (exit 1)
    with pytest.raises(Deaccessioned, match="deposit agreement ended"):
        fresh.catalog.resolve_package(IDENTIFIER)
    # the rebuilt catalog reports the replica's leftovers, and removes them when asked
    [primary, replica] = reconcile(fresh.catalog, fresh.locations)
    assert primary.findings == () and replica.tombstones_missing == 1
    assert {f.code for f in replica.findings} == {"DEACCESSIONED_LEFTOVER"}
    fresh.catalog.engine.dispose()  # type: ignore[attr-defined]


def test_a_tombstone_copied_in_from_another_archive_does_not_drop_a_committed_package_in_silence(
        archive: Archive, tmp_path: Path) -> None:
    """A tombstone from another archive, put in this store, withdrew a committed
    package whose bag and commit record were still there, and the rebuild exited 0
    without a word in its human output."""
    archive.ingest()
    request = request_deaccession(as_(archive.services, ALICE), IDENTIFIER, None, REASON)
    assert approve_deaccession(as_(archive.services, BOB), request.request_id).finished
    tombstone = archive.primary.open(tombstone_key(PACKAGE, 1)).read()
    other = next(open_archive(tmp_path / "other"))
    other.ingest()  # the same record, committed in this archive
    other.primary.put_bytes(tombstone_key(PACKAGE, 1), tombstone,
                            hashlib.sha256(tombstone).hexdigest())
    fresh = make_services(tmp_path / "fresh", replicas=(), store=other.primary)

    report = rebuild_catalog(fresh)

    assert report.has_problems
    [withdrawn] = report.deaccessioned
    assert withdrawn["locations"] == [other.primary.location]
    fresh.catalog.engine.dispose()  # type: ignore[attr-defined]


def test_reconcile_reports_and_removes_leftovers_of_a_deaccessioned_version(
        archive: Archive, tmp_path: Path) -> None:
    archive.ingest()
    request = request_deaccession(as_(archive.services, ALICE), IDENTIFIER, None, REASON)
    approve_deaccession(replace(archive.services, actor=BOB, replicas=()), request.request_id)

    [primary, replica] = reconcile(archive.services.catalog, archive.services.locations)

    assert primary.status == "ok" and primary.tombstones_missing == 0
    leftovers = {f.path for f in replica.findings if f.code == "DEACCESSIONED_LEFTOVER"}
    assert leftovers == {k for k in keys(archive.replica)
                         if k.startswith((f"{PACKAGE}/", f"_commits/{PACKAGE}/"))}
    assert leftovers and replica.tombstones_missing == 1
    assert request.request_id in replica.findings[0].message

    [_, removed] = reconcile(archive.services.catalog, archive.services.locations,
                             remove_deaccessioned_as=as_(archive.services, ALICE))

    assert removed.deaccessioned_removed == len(leftovers) and removed.tombstones_written == 1
    assert keys(archive.replica) & leftovers == set()
    assert tombstone_key(PACKAGE, 1) in keys(archive.replica)
    assert all(r.status == "ok" for r in reconcile(archive.services.catalog,
                                                   archive.services.locations))


def test_removing_what_a_location_kept_of_a_deaccessioned_version_is_recorded_in_the_audit_log(
        archive: Archive, tmp_path: Path) -> None:
    """Before, `fixity reconcile --remove-deaccessioned` deleted the objects a
    replica had kept of a deaccessioned version, said how many, and left the
    audit log as it was: nothing said who deleted what, where."""
    from click.testing import CliRunner

    from strongroom.cli import main

    archive.ingest()
    request = request_deaccession(as_(archive.services, ALICE), IDENTIFIER, None, REASON)
    approve_deaccession(replace(archive.services, actor=BOB, replicas=()), request.request_id)
    kept = {k for k in keys(archive.replica) if k.startswith((f"{PACKAGE}/", f"_commits/{PACKAGE}/"))}
    assert kept
    before = len(list(archive.services.catalog.events()))  # type: ignore[attr-defined]

    ran = CliRunner().invoke(main, ["--agent", "carol", "fixity", "reconcile", "--remove-deaccessioned"],
                             env={"STRONGROOM_DATA_DIR": str(tmp_path),
                                  "STRONGROOM_DATABASE_URL": f"sqlite:///{tmp_path / 'catalog.sqlite3'}",
                                  "STRONGROOM_STORAGE_URL": (tmp_path / "primary").as_uri(),
                                  "STRONGROOM_REPLICAS": (tmp_path / "replica").as_uri()})

    assert ran.exit_code == 0, ran.output
    assert f"{len(kept)} object(s) of deaccessioned versions removed" in ran.output
    assert keys(archive.replica) & kept == set()
    events = list(archive.services.catalog.events())[before:]  # type: ignore[attr-defined]
    [deletion] = [e for e in events if e.event_type == EventType.DELETION.value]
    assert deletion.actor is not None and deletion.actor.name == "carol"
    assert (deletion.package_id, deletion.version) == (PACKAGE, 1)
    assert deletion.outcome == "success"
    assert deletion.detail["location"] == archive.replica.location
    assert deletion.detail["request_id"] == request.request_id
    assert deletion.detail["deleted"] == len(kept) and sorted(deletion.detail["keys"]) == sorted(kept)
    assert deletion.detail["during"] == "reconciliation"


def test_fixity_no_longer_plans_or_verifies_a_deaccessioned_version(archive: Archive) -> None:
    two_versions(archive)
    policy = FixityPolicy(window=timedelta(days=90), shallow_interval=timedelta(days=7))
    request = request_deaccession(as_(archive.services, ALICE), IDENTIFIER, 1, REASON)
    approve_deaccession(as_(archive.services, BOB), request.request_id)

    planned = enqueue_due(archive.services, policy, AT + timedelta(days=91))

    assert {(p.package_id, p.number) for p in planned} == {(PACKAGE, 2)}
    assert {(c.package_id, c.version) for c in verify_packages(archive.services)} == {(PACKAGE, 2)}
    tally = archive.services.catalog.fixity_tally(
        [s.location for s in archive.services.locations], AT, AT + timedelta(days=91))
    assert tally.versions == 1  # v2 alone
    assert {copies for _, copies in tally.per_location.values()} == {1}


def test_a_rejected_request_deletes_nothing_and_cannot_be_approved(archive: Archive) -> None:
    archive.ingest()
    request = request_deaccession(as_(archive.services, ALICE), IDENTIFIER, None, REASON)
    with pytest.raises(DeaccessionRefused) as twice:
        request_deaccession(as_(archive.services, Actor("dora")), IDENTIFIER, None, "again")
    assert twice.value.finding.code == "DEACCESSION_PENDING"

    rejected = reject_deaccession(as_(archive.services, BOB), request.request_id, "keep it")

    assert rejected.state == REJECTED and rejected.decision_note == "keep it"
    with pytest.raises(DeaccessionRefused) as late:
        approve_deaccession(as_(archive.services, BOB), request.request_id)
    assert late.value.finding.code == "DEACCESSION_DECIDED"
    assert archive.services.catalog.get_version(PACKAGE, 1).number == 1
    assert [r.state for r in list_deaccessions(archive.services)] == [REJECTED]
    [event] = [e for e in archive.services.catalog.events(PACKAGE)
               if e.event_type == EventType.DEACCESSION.value and e.outcome == "failure"]
    assert event.actor == BOB and event.detail["note"] == "keep it"


def test_a_request_needs_a_reason(archive: Archive) -> None:
    archive.ingest()
    with pytest.raises(DeaccessionRefused) as refused:
        request_deaccession(as_(archive.services, ALICE), IDENTIFIER, None, "   ")
    assert refused.value.finding.code == "DEACCESSION_REASON_MISSING"
