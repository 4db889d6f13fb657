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

from ingest.anchoring import anchor_audit_head, verify_audit_log
from ingest.errors import CatalogNotEmpty
from ingest.models import package_id_for
from ingest.rebuild import NOT_REBUILT, rebuild_catalog
from tests.unit.test_anchoring import truncate_log
from tests.unit.test_replication import PACKAGE, Archive, make_services, open_archive


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
    assert {(f.code, f.path) for f in report.skipped} == {("BAG_UNUSABLE", f"{stranger}/v1/")}
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
