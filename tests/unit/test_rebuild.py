"""Catalog rebuild: packages, versions and files reconstructed from the bags in the
store alone, into an empty database, compared with what ``list`` and ``show``
said before the catalog was lost.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ingest.anchoring import anchor_audit_head, verify_audit_log
from ingest.errors import CatalogNotEmpty
from ingest.models import package_id_for
from ingest.rebuild import NOT_REBUILT, rebuild_catalog
from ingest.reconciliation import reconcile
from tests.unit.test_anchoring import truncate_log
from tests.unit.test_replication import PACKAGE, Archive, make_services, open_archive, record


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    yield from open_archive(tmp_path)


def test_a_bag_under_a_package_id_that_is_not_its_identifiers_is_skipped(
        archive: Archive, tmp_path: Path) -> None:
    archive.ingest()
    stranger = package_id_for("some-other-record")
    for store in archive.services.locations:
        shutil.copytree(archive.folder(store) / PACKAGE,
                        archive.folder(store) / stranger)
        shutil.copytree(archive.folder(store) / "_commits" / PACKAGE,  # recorded as committed
                        archive.folder(store) / "_commits" / stranger)
    (archive.folder(archive.primary) / "notes.txt").write_text("left here by hand")
    fresh = make_services(tmp_path / "fresh", replicas=archive.services.replicas,
                          store=archive.primary)

    report = rebuild_catalog(fresh)

    assert [(v["package_id"], v["version"]) for v in report.versions] == [(PACKAGE, 1)]
    # The copied record names the other package: it vouches for nothing, and the bag
    # under the wrong package id is left out.
    assert {(f.code, f.path) for f in report.skipped} == {
        ("COMMIT_RECORD_UNREADABLE", f"_commits/{stranger}/v1.json")}
    assert [(u["package_id"], u["version"]) for u in report.uncommitted] == [(stranger, 1)]
    assert report.strangers == [{"key": "notes.txt", "location": archive.primary.location}]
    assert fresh.catalog.get_version(PACKAGE, 1).files == archive.services.catalog.get_version(
        PACKAGE, 1).files
    with pytest.raises(CatalogNotEmpty):
        rebuild_catalog(fresh)


def test_a_bag_damaged_in_the_primary_is_taken_from_the_replica_and_noted_damaged(
        archive: Archive, tmp_path: Path) -> None:
    archive.ingest()
    (archive.bag(archive.primary) / "data/transcription/telegram-en.txt").write_bytes(b"rot")
    fresh = make_services(tmp_path / "fresh", replicas=archive.services.replicas,
                          store=archive.primary)

    report = rebuild_catalog(fresh)

    [version] = report.versions
    assert version["location"] == archive.replica.location
    # The copy left out is said, where it is: the rebuild has problems (exit 1).
    assert {(f["code"], f["path"], f["location"]) for f in version["findings"]} == {
        ("FIXITY_MISMATCH", "data/transcription/telegram-en.txt", archive.primary.location),
        ("TAG_MISMATCH", "bag-info.txt", archive.primary.location)}
    assert report.has_problems
    assert version["copies"] == [{"location": archive.primary.location, "state": "damaged"},
                                 {"location": archive.replica.location, "state": "verified"}]
    states = {c.location: c.state for c in fresh.catalog.list_copies(PACKAGE, 1)}
    assert states == {archive.primary.location: "damaged", archive.replica.location: "verified"}
    assert fresh.catalog.get_version(PACKAGE, 1).files == archive.services.catalog.get_version(
        PACKAGE, 1).files


def test_two_copies_each_whole_by_their_manifests_but_different_are_said_not_one_taken_silently(
        archive: Archive, tmp_path: Path) -> None:
    from tests.unit.test_sealed_manifests import rewrite_consistently

    archive.ingest()
    forged = "data/transcription/telegram-en.txt"
    rewrite_consistently(archive.bag(archive.primary), archive.root / "catalog.sqlite3",
                         PACKAGE, 1, forged, b"A forged transcription, manifests and all.\n")
    fresh = make_services(tmp_path / "fresh", replicas=archive.services.replicas,
                          store=archive.primary)

    report = rebuild_catalog(fresh)

    [version] = report.versions
    taken, other = version["location"], archive.replica.location
    assert taken == archive.primary.location  # the first location whose copy is whole
    said = {(f["code"], f["path"], f["location"]) for f in version["findings"]}
    assert ("FIXITY_MISMATCH", forged, other) in said, said
    assert all(f["location"] == other for f in version["findings"])
    assert report.has_problems  # `catalog rebuild` exits 1: a person decides which is genuine
    assert {c.location: c.state for c in fresh.catalog.list_copies(PACKAGE, 1)} == {
        taken: "verified", other: "damaged"}


def test_what_is_not_rebuilt_is_said(archive: Archive, tmp_path: Path) -> None:
    archive.ingest()
    fresh = make_services(tmp_path / "fresh", replicas=archive.services.replicas,
                          store=archive.primary)
    document = rebuild_catalog(fresh).to_dict()
    assert document["not_rebuilt"] == list(NOT_REBUILT)
    assert "audit events" in document["not_rebuilt"]


def test_a_rebuild_elsewhere_does_not_excuse_a_truncated_original_log(
        archive: Archive, tmp_path: Path) -> None:
    archive.ingest()
    seq, _ = archive.services.catalog.audit_head()
    anchor_audit_head(archive.services)
    fresh = make_services(tmp_path / "fresh", replicas=archive.services.replicas,
                          store=archive.primary)
    assert rebuild_catalog(fresh).rebuild_id is not None
    with sqlite3.connect(archive.root / "catalog.sqlite3") as db:
        truncate_log(db, seq - 1)

    report = verify_audit_log(archive.services).anchored

    assert [f.code for f in report.findings] == ["ANCHORED_EVENT_MISSING"]
    rebuilt = verify_audit_log(fresh)
    assert rebuilt.ok and rebuilt.anchored.superseded == 1


def test_a_committed_version_no_location_holds_is_said_lost_not_passed_over(
        archive: Archive, tmp_path: Path) -> None:
    # Before: "1 packages rebuilt", exit 0, and the version named nowhere.
    archive.ingest()
    for store in archive.services.locations:
        shutil.rmtree(archive.folder(store) / PACKAGE)  # the bags gone, the records kept
    fresh = make_services(tmp_path / "fresh", replicas=archive.services.replicas,
                          store=archive.primary)

    report = rebuild_catalog(fresh)

    assert report.versions == []
    assert [(lost["package_id"], lost["version"]) for lost in report.lost] == [(PACKAGE, 1)]
    assert sorted(report.lost[0]["records_in"]) == sorted(
        s.location for s in archive.services.locations)
    assert report.has_problems and report.to_dict()["lost"] == report.lost


def test_a_location_that_lost_a_whole_version_is_said_by_the_rebuild(
        archive: Archive, tmp_path: Path) -> None:
    archive.ingest()
    shutil.rmtree(archive.folder(archive.replica) / PACKAGE)
    fresh = make_services(tmp_path / "fresh", replicas=archive.services.replicas,
                          store=archive.primary)

    report = rebuild_catalog(fresh)

    [version] = report.versions
    assert [(f["code"], f["location"]) for f in version["findings"]] == [
        ("BAG_UNUSABLE", archive.replica.location)]
    assert report.has_problems


def _rebuild_at_the_command_line(archive: Archive, database: Path, *options: str) -> Result:
    """`strongroom catalog rebuild` of the archive's two locations into ``database``."""
    from strongroom.cli import main

    return CliRunner().invoke(main, ["catalog", "rebuild", *options], env={
        "STRONGROOM_DATA_DIR": str(database.parent),
        "STRONGROOM_DATABASE_URL": f"sqlite:///{database}",
        "STRONGROOM_STORAGE_URL": archive.folder(archive.primary).as_uri(),
        "STRONGROOM_REPLICAS": archive.folder(archive.replica).as_uri()})


def _lose_commit_record(archive: Archive, number: int) -> None:
    for store in archive.services.locations:
        (archive.folder(store) / "_commits" / PACKAGE / f"v{number}.json").unlink()


def test_a_rebuild_that_leaves_a_bag_out_as_uncommitted_exits_1_and_says_how_to_decide(
        archive: Archive, tmp_path: Path) -> None:
    # Before: "uncommitted: … (no commit record; left in the store, not taken in)",
    # exit 0, and every later check (verify, fixity report, audit verify) said ok:
    # a committed version whose record was lost vanished without a failing word.
    archive.ingest()
    archive.ingest("corrected", payload={"scan/page-01.txt": b"a page scanned again\n"})
    _lose_commit_record(archive, 2)
    (tmp_path / "rebuilt").mkdir()

    ran = _rebuild_at_the_command_line(archive, tmp_path / "rebuilt" / "catalog.sqlite3")

    assert ran.exit_code == 1, ran.output
    assert f"uncommitted: {PACKAGE} v2" in ran.output
    assert "crashed" in ran.output and "--committed" in ran.output  # how to tell, what to do
    (tmp_path / "decided").mkdir()
    decided = _rebuild_at_the_command_line(archive, tmp_path / "decided" / "catalog.sqlite3",
                                           "--committed", f"{PACKAGE}/v2")
    assert decided.exit_code == 0, decided.output
    assert "2 versions rebuilt" in decided.output and "uncommitted" not in decided.output
    for store in archive.services.locations:  # said committed: now its record says so
        assert (archive.folder(store) / "_commits" / PACKAGE / "v2.json").exists()


def test_a_version_a_later_one_shares_files_with_is_taken_in_though_its_commit_record_was_lost(
        archive: Archive, tmp_path: Path) -> None:
    # Before: the rebuild took version 2 alone, exit 0, though version 2's sealed
    # fetch.txt reads its payload under ../v1/; reconcile then called version 1's
    # tag files INGEST_LEFTOVER, to be cleaned up.
    archive.ingest()
    archive.ingest("corrected", metadata=record(title="Telegram, 21 June 1951 (title corrected)"))
    assert archive.services.catalog.get_version(PACKAGE, 2).payload[0].held_by == 1
    _lose_commit_record(archive, 1)
    fresh = make_services(tmp_path / "fresh", replicas=archive.services.replicas,
                          store=archive.primary)

    report = rebuild_catalog(fresh)

    assert [(v["package_id"], v["version"]) for v in report.versions] == [(PACKAGE, 1), (PACKAGE, 2)]
    assert [(r["package_id"], r["version"], r["referenced_by"]) for r in report.records_lost] == [
        (PACKAGE, 1, [2])]
    assert report.uncommitted == [] and report.has_problems
    assert fresh.catalog.get_version(PACKAGE, 1).files == archive.services.catalog.get_version(
        PACKAGE, 1).files
    for store in archive.services.locations:  # its record written again
        assert (archive.folder(store) / "_commits" / PACKAGE / "v1.json").exists()
    for location in reconcile(fresh.catalog, fresh.locations):
        assert location.findings == () and location.leftovers == ()
    (tmp_path / "rebuilt").mkdir()
    _lose_commit_record(archive, 1)
    said = _rebuild_at_the_command_line(archive, tmp_path / "rebuilt" / "catalog.sqlite3")
    assert said.exit_code == 1, said.output
    assert f"{PACKAGE} v1: committed (referenced by v2) but its commit record is lost" in said.output


def test_reconcile_does_not_call_a_version_a_committed_one_references_a_leftover(
        archive: Archive, tmp_path: Path) -> None:
    # A catalog that lacks version 1 while version 2 reads its payload there (an
    # earlier release's rebuild left it out): its objects are no crash's leftovers.
    archive.ingest()
    archive.ingest("corrected", metadata=record(title="Telegram, 21 June 1951 (title corrected)"))
    _lose_commit_record(archive, 1)
    for store in archive.services.locations:
        (archive.bag(store, 1) / "bag-info.txt").unlink()  # unusable: it cannot be taken in
    fresh = make_services(tmp_path / "fresh", replicas=archive.services.replicas,
                          store=archive.primary)
    report = rebuild_catalog(fresh)
    assert [v["version"] for v in report.versions] == [2] and report.has_problems

    for location in reconcile(fresh.catalog, fresh.locations):
        assert location.leftovers == ()
        assert {f.code for f in location.findings} == {"REFERENCED_VERSION_NOT_IN_CATALOG"}
        assert all("/v1/" in f.path and "version 2" in f.message for f in location.findings)


def test_an_empty_file_under_a_commit_records_name_vouches_for_no_bag(
        archive: Archive, tmp_path: Path) -> None:
    """A bag copied into v3 (never committed) and an empty _commits/…/v3.json made
    the rebuild take v3 in, exit 0, and `audit verify` say ok."""
    archive.ingest()
    for store in archive.services.locations:
        folder = archive.folder(store)
        shutil.copytree(folder / PACKAGE / "v1", folder / PACKAGE / "v3")
        (folder / "_commits" / PACKAGE / "v3.json").write_bytes(b"")
    fresh = make_services(tmp_path / "fresh", replicas=archive.services.replicas,
                          store=archive.primary)

    report = rebuild_catalog(fresh)

    assert [v["version"] for v in report.versions] == [1]
    assert {f.code for f in report.skipped} == {"COMMIT_RECORD_UNREADABLE"}
    assert [u["version"] for u in report.uncommitted] == [3]
    assert report.has_problems
    fresh.catalog.engine.dispose()  # type: ignore[attr-defined]
