"""Catalog rebuild: packages, versions and files reconstructed from the bags in the
store alone, into an empty database, compared with what ``list`` and ``show``
said before the catalog was lost.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ingest.anchoring import anchor_audit_head, verify_audit_log
from ingest.errors import CatalogNotEmpty
from ingest.models import package_id_for
from ingest.rebuild import NOT_REBUILT, rebuild_catalog
from tests.unit.test_anchoring import truncate_log
from tests.unit.test_replication import PACKAGE, Archive, make_services, open_archive

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    yield from open_archive(tmp_path)

#: Keys of ``show --json`` versions a bag cannot give back (see ingest.rebuild).
LOST_VERSION_KEYS = ("item_id", "created_at", "last_fixity")


class Strongroom:
    def __init__(self, data: Path, database: Path | None = None) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("STRONGROOM_")}
        self.env.update(STRONGROOM_DATA_DIR=str(data), STRONGROOM_RETRY_BACKOFF="0")
        if database is not None:
            self.env["STRONGROOM_DATABASE_URL"] = f"sqlite:///{database}"
        self.cwd = data.parent

    def json(self, *args: str, expect: int = 0) -> Any:
        done = subprocess.run([sys.executable, "-m", "strongroom.cli", *args, "--json"],
                              env=self.env, capture_output=True, text=True, cwd=self.cwd)
        assert done.returncode == expect, (done.returncode, done.stdout, done.stderr)
        return json.loads(done.stdout)


def without_lost_fields(show: dict[str, Any]) -> dict[str, Any]:
    return {**show, "versions": [{k: v for k, v in version.items() if k not in LOST_VERSION_KEYS}
                                 for version in show["versions"]]}


def test_list_and_show_are_the_same_after_a_rebuild_into_an_empty_catalog(tmp_path: Path) -> None:
    data = tmp_path / "data"
    before = Strongroom(data)
    batch = tmp_path / "batch"
    shutil.copytree(ROOT / "examples" / "batch", batch)
    shutil.rmtree(batch / "bad-record-missing-title")
    before.json("submit", str(batch))
    # a second version of one package
    (batch / "letter-1952-03-sample" / "scan" / "note.txt").write_text("added later\n")
    before.json("submit", str(batch))
    listed = before.json("list")
    shown = {p["package_id"]: before.json("show", p["package_id"]) for p in listed["packages"]}
    assert max(p["latest_version"] for p in listed["packages"]) == 2

    after = Strongroom(data, database=tmp_path / "rebuilt.sqlite3")
    rebuilt = after.json("catalog", "rebuild")

    assert rebuilt["packages"] == 2 and len(rebuilt["versions"]) == 3
    assert rebuilt["skipped"] == [] and rebuilt["strangers"] == []
    assert all(v["findings"] == [] for v in rebuilt["versions"])
    assert rebuilt["anchors"]  # the lost log's anchors, found and recorded
    assert after.json("list") == listed
    for package_id, document in shown.items():
        again = after.json("show", package_id)
        assert without_lost_fields(again) == without_lost_fields(document)
        assert all(v["item_id"] is None and v["last_fixity"] is None for v in again["versions"])
        assert [v["created_at"][:10] for v in again["versions"]] == [
            v["created_at"][:10] for v in document["versions"]]
    # the new catalog's log starts with the seals of the versions it took in, anchored;
    # the old log's anchors are known as superseded
    verified = after.json("audit", "verify")
    assert verified["ok"] is True and verified["count"] == 3
    assert verified["anchors"]["count"] == 1 and verified["anchors"]["findings"] == []
    assert verified["anchors"]["superseded"] == len(rebuilt["anchors"])
    assert verified["log_id"] != before.json("audit", "verify")["log_id"]
    # the original catalog, were it still about, is held to all its anchors
    original = before.json("audit", "verify")
    assert original["anchors"]["superseded"] == 0
    assert original["anchors"]["count"] == len(rebuilt["anchors"])
    # a rebuild never merges into a catalog that holds anything
    refused = before.json("catalog", "rebuild", expect=2)
    assert refused["error"]["kind"] == "CatalogNotEmpty"


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
    assert version["location"] == archive.replica.location and version["findings"] == []
    states = {c.location: c.state for c in fresh.catalog.list_copies(PACKAGE, 1)}
    assert states == {archive.primary.location: "damaged", archive.replica.location: "verified"}
    assert fresh.catalog.get_version(PACKAGE, 1).files == archive.services.catalog.get_version(
        PACKAGE, 1).files


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
