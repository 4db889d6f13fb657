"""Commit records: a catalog rebuild tells committed versions from what a crash left.

A crash just before the catalog commit leaves a complete, valid bag in the
store that no catalog ever committed (``fixity reconcile`` lists it as a
leftover). A rebuild from the store alone must not take it for a committed
version. Each version the catalog commits is recorded in every location
(``_commits/{package_id}/v{N}.json``); a rebuild imports recorded versions only.
Driven through the real CLI on a filesystem store, with a replica.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.verification import verify_bag
from storage.filesystem import FilesystemObjectStore
from tests.in_process_cli import InProcessCli

ROOT = Path(__file__).resolve().parents[2]
LETTER = ROOT / "examples" / "batch" / "letter-1952-03-sample"

#: Submits a batch in a process that dies (exit 137, no clean-up) right where
#: the catalog would commit the version: every object is stored and checked.
CRASH_BEFORE_COMMIT = """
import os, sys
from storage.catalog import SqlCatalog
SqlCatalog.commit_version = lambda *args, **kwargs: os._exit(137)
from strongroom.cli import main
main(["submit", sys.argv[1]])
"""


class Strongroom(InProcessCli):
    """The CLI against one data folder and a replica beside it."""

    def __init__(self, data: Path, database: Path | None = None) -> None:
        self.data = data
        self.replica = data.parent / "replica"
        self.env = {"STRONGROOM_DATA_DIR": str(data), "STRONGROOM_RETRY_BACKOFF": "0",
                    "STRONGROOM_REPLICAS": self.replica.as_uri()}
        if database is not None:
            self.env["STRONGROOM_DATABASE_URL"] = f"sqlite:///{database}"

    def elsewhere(self, name: str) -> Strongroom:
        """The same stores, with an empty catalog database of its own."""
        return Strongroom(self.data, database=self.data.parent / f"{name}.sqlite3")

    def crash_before_commit(self, batch: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("STRONGROOM_")}
        env.update(self.env)
        done = subprocess.run([sys.executable, "-c", CRASH_BEFORE_COMMIT, str(batch)], env=env,
                              capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert done.returncode == 137, (done.returncode, done.stdout, done.stderr)

    def objects(self) -> Path:
        return self.data / "objects"


@pytest.fixture(autouse=True)
def _only_our_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("STRONGROOM_") and not name.startswith("STRONGROOM_TEST_"):
            monkeypatch.delenv(name)


def make_batch(tmp_path: Path) -> Path:
    batch = tmp_path / "batch"
    shutil.copytree(LETTER, batch / "letter")
    (batch / "batch.json").write_text(json.dumps({"submitter": "Reading Room",
                                                  "schema": "archival-record/v1"}))
    return batch


@pytest.fixture
def never_committed_bag(tmp_path: Path) -> tuple[Strongroom, str]:
    """Version 1 committed; version 2 stored whole in both locations (its unchanged
    files shared with version 1), never committed."""
    sr = Strongroom(tmp_path / "data")
    batch = make_batch(tmp_path)
    (item,) = sr.json("submit", str(batch))["items"]
    assert (item["status"], item["version"]) == ("stored", 1)
    (batch / "letter" / "scan" / "page-02.txt").write_text("a page added later\n")
    sr.crash_before_commit(batch)
    package_id = str(item["package_id"])
    for root in (sr.objects(), sr.replica):
        # valid, its shared files read where version 1 holds them; never committed
        assert verify_bag(FilesystemObjectStore(root), f"{package_id}/v2/") == []
    return sr, package_id


def test_never_committed_bag_is_not_imported_by_rebuild(
        never_committed_bag: tuple[Strongroom, str]) -> None:
    sr, package_id = never_committed_bag
    (location, _replica) = sr.json("fixity", "reconcile")["locations"]
    assert {f["path"].split("/")[1] for f in location["leftovers"]} == {"v2"}
    shown = sr.json("show", package_id)
    assert shown["latest_version"] == 1

    rebuilt_sr = sr.elsewhere("rebuilt")
    rebuilt = rebuilt_sr.json("catalog", "rebuild", expect=1)  # a person decides
    assert [(v["package_id"], v["version"]) for v in rebuilt["versions"]] == [(package_id, 1)]
    assert [(u["package_id"], u["version"]) for u in rebuilt["uncommitted"]] == [(package_id, 2)]
    again = rebuilt_sr.json("show", package_id)
    assert again["latest_version"] == 1
    assert [v["files"] for v in again["versions"]] == [v["files"] for v in shown["versions"]]
    human = sr.elsewhere("rebuilt-human").run("catalog", "rebuild", expect=1).stdout
    assert f"uncommitted: {package_id} v2" in human
    # the leftover stays where it was, still a leftover to the rebuilt catalog
    (location, _) = rebuilt_sr.json("fixity", "reconcile")["locations"]
    assert location["findings"] == []
    assert {f["path"].split("/")[1] for f in location["leftovers"]} == {"v2"}


def test_commit_records_are_in_every_location_and_not_untracked(
        never_committed_bag: tuple[Strongroom, str]) -> None:
    sr, package_id = never_committed_bag
    for root in (sr.objects(), sr.replica):
        assert sorted(p.name for p in (root / "_commits" / package_id).iterdir()) == ["v1.json"]
        record = json.loads((root / "_commits" / package_id / "v1.json").read_text())
        assert (record["package_id"], record["version"]) == (package_id, 1)
    report = sr.json("fixity", "report")
    assert all(r["findings"] == [] for r in report["reconciliation"])
    assert sr.json("verify", "--all")["results"]


def test_store_without_commit_records_is_refused_by_rebuild_unless_trusted(
        never_committed_bag: tuple[Strongroom, str]) -> None:
    sr, _package_id = never_committed_bag
    for root in (sr.objects(), sr.replica):
        shutil.rmtree(root / "_commits")  # a store written before commit records existed

    refused = sr.elsewhere("refused").run("catalog", "rebuild", expect=2)
    assert "commit record" in refused.stderr and "--trust-unmarked" in refused.stderr
    refused_json = sr.elsewhere("refused-json").json("catalog", "rebuild", expect=2)
    assert refused_json["error"]["kind"] == "CommitRecordsMissing"

    trusted = sr.elsewhere("trusted").json("catalog", "rebuild", "--trust-unmarked")
    assert sorted(v["version"] for v in trusted["versions"]) == [1, 2]  # as it was told


def test_reconcile_backfills_commit_records_for_committed_versions_only(
        never_committed_bag: tuple[Strongroom, str]) -> None:
    sr, package_id = never_committed_bag
    for root in (sr.objects(), sr.replica):
        shutil.rmtree(root / "_commits")

    reconciled = sr.json("fixity", "reconcile")
    assert [r["commit_records_written"] for r in reconciled["locations"]] == [1, 1]
    for root in (sr.objects(), sr.replica):
        assert sorted(p.name for p in (root / "_commits" / package_id).iterdir()) == ["v1.json"]
    assert [r["commit_records_written"] for r in sr.json("fixity", "reconcile")["locations"]] \
        == [0, 0]
    rebuilt = sr.elsewhere("rebuilt").json("catalog", "rebuild", expect=1)  # v2 is for a person
    assert [v["version"] for v in rebuilt["versions"]] == [1]
    assert [u["version"] for u in rebuilt["uncommitted"]] == [2]


def test_repair_restores_a_lost_commit_record(
        never_committed_bag: tuple[Strongroom, str]) -> None:
    sr, package_id = never_committed_bag
    shutil.rmtree(sr.replica / package_id / "v1")
    shutil.rmtree(sr.replica / "_commits")
    repaired = sr.json("repair", package_id, "--version", "1")
    assert [r["status"] for r in repaired["results"]] == ["repaired"]
    assert (sr.replica / "_commits" / package_id / "v1.json").read_bytes() == \
        (sr.objects() / "_commits" / package_id / "v1.json").read_bytes()


def test_commit_record_of_a_version_the_catalog_lacks_is_untracked(
        never_committed_bag: tuple[Strongroom, str]) -> None:
    sr, package_id = never_committed_bag
    forged = sr.objects() / "_commits" / package_id / "v2.json"
    forged.write_text("{}")  # says the leftover v2 was committed: the catalog says not
    (sr.objects() / "_commits" / "notes.txt").write_text("left here by hand")
    (location, replica) = sr.json("fixity", "reconcile", expect=1)["locations"]
    assert [(f["code"], f["path"]) for f in location["findings"]] == [
        ("UNTRACKED_OBJECT", f"_commits/{package_id}/v2.json"),
        ("UNTRACKED_OBJECT", "_commits/notes.txt")]
    assert replica["findings"] == []
