"""Damage once found stays said: in `show`, in `fixity report` and its exit code,
whichever copy was checked last and whichever way the damage was found (a
check, or a delivery that refused it); and a check of a copy that is not there
writes nothing into its location that says it is.

The CLI in this process, on the embedded filesystem store with a filesystem
replica, as an officer would run it from cron or by hand."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ingest.commit_records import commit_record_key
from strongroom.cli import main
from tests.in_process_cli import InProcessCli

ROOT = Path(__file__).resolve().parents[2]
TELEGRAM = ROOT / "examples" / "batch" / "telegram-1951-06-21-mao-to-filippov"
PAGE = "data/transcription/telegram-en.txt"


class Officer(InProcessCli):
    """The CLI against one data folder and one replica folder."""

    def __init__(self, root: Path, *replicas: Path) -> None:
        self.root = root
        self.env = {"STRONGROOM_DATA_DIR": str(root / "data"), "STRONGROOM_RETRY_BACKOFF": "0",
                    "STRONGROOM_REPLICAS": ",".join(f"file://{r}" for r in replicas)}



@pytest.fixture
def stored(tmp_path: Path) -> tuple[Officer, str]:
    officer = Officer(tmp_path, tmp_path / "replica")
    batch = tmp_path / "batch"
    shutil.copytree(TELEGRAM, batch / TELEGRAM.name)
    [item] = officer.json("submit", str(batch))["items"]
    assert item["status"] == "stored"
    return officer, item["package_id"]


def flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[10] ^= 1
    path.write_bytes(bytes(data))


def last_fixity(officer: Officer, package_id: str) -> dict[str, Any]:
    return officer.json("show", package_id)["versions"][0]["last_fixity"]


def test_a_version_with_a_damaged_copy_reads_failed_though_a_good_copy_was_checked_after_it(
        stored: tuple[Officer, str]) -> None:
    officer, package_id = stored
    officer.run("verify", package_id)  # whole, every copy: covered
    flip(officer.root / "replica" / package_id / "v1" / PAGE)
    officer.run("verify", package_id, expect=1)
    # The primary alone checked again, whole: the replica's copy is still damaged.
    primary_only = dict(officer.env, STRONGROOM_REPLICAS="")
    assert CliRunner().invoke(main, ["verify", package_id], env=primary_only).exit_code == 0
    assert last_fixity(officer, package_id)["outcome"] == "failed"
    report = officer.json("fixity", "report", expect=1)
    # Not "found whole by a deep check": the replica's last one found it damaged.
    assert (report["coverage"]["covered"], report["coverage"]["versions"]) == (0, 1)
    replica = {loc["location"]: loc for loc in report["coverage"]["locations"]}[
        f"file://{officer.root / 'replica'}"]
    assert (replica["covered"], replica["versions"]) == (0, 1)
    # Mended, every copy checked whole again: ok once more.
    officer.run("repair", package_id)
    officer.run("verify", package_id)
    assert last_fixity(officer, package_id)["outcome"] == "ok"
    officer.run("fixity", "report")


def test_damage_found_on_delivery_fails_the_fixity_report_until_repaired(
        stored: tuple[Officer, str]) -> None:
    officer, package_id = stored
    flip(officer.root / "data/objects" / package_id / "v1" / PAGE)
    officer.run("fetch", package_id, "--to", str(officer.root / "out"), expect=1)
    report = officer.json("fixity", "report", expect=1)
    assert [(f["package_id"], f["outcome"]) for f in report["failures"]] == [
        (package_id, "failed")], report["failures"]
    assert last_fixity(officer, package_id)["outcome"] == "failed"
    officer.run("repair", package_id)
    officer.run("fixity", "report")


def test_a_check_of_a_copy_that_is_not_there_writes_no_commit_record_there(
        stored: tuple[Officer, str]) -> None:
    officer, package_id = stored
    empty = officer.root / "replica2"
    empty.mkdir()
    officer.env["STRONGROOM_REPLICAS"] += f",file://{empty}"
    checked = officer.json("verify", "--all", expect=1)["results"]
    there = [r for r in checked if r["location"] == f"file://{empty}"]
    assert there and {f["code"] for f in there[0]["findings"]} >= {"FILE_MISSING",
                                                                    "COMMIT_RECORD_MISSING"}
    assert not (empty / commit_record_key(package_id, 1)).exists()
    reconciled = officer.json("fixity", "reconcile", expect=1)["locations"]
    assert not (empty / commit_record_key(package_id, 1)).exists(), reconciled
    # The copy written whole, its record comes with it.
    officer.run("repair", package_id)
    assert (empty / commit_record_key(package_id, 1)).exists()


def test_copies_in_a_location_dropped_from_the_settings_are_said_not_counted_as_ok(
        stored: tuple[Officer, str]) -> None:
    officer, package_id = stored
    replica = f"file://{officer.root / 'replica'}"
    flip(officer.root / "replica" / package_id / "v1" / PAGE)
    officer.run("verify", package_id, expect=1)
    # A cron job that lost STRONGROOM_REPLICAS: the damaged copy is out of sight.
    officer.env["STRONGROOM_REPLICAS"] = ""
    report = officer.json("fixity", "report", expect=1)
    assert report["status"] == "failed"
    assert report["unconfigured_locations"] == [{"location": replica, "copies": 1, "damaged": 1}]
    said = officer.run("fixity", "report", expect=1).output
    assert f"not configured {replica}: the catalog notes 1 copy there" in said
    assert "unconfigured" in officer.run("fixity", "report", "--csv", expect=1).output
    checked = officer.json("verify", "--all", expect=1)
    assert [r["status"] for r in checked["results"]] == ["ok"]  # the primary, whole
    assert checked["unconfigured_locations"] == report["unconfigured_locations"]


def test_a_location_whose_folder_is_gone_is_not_made_again_by_repair_but_said_how_to(
        stored: tuple[Officer, str]) -> None:
    officer, package_id = stored
    replica = officer.root / "replica"
    shutil.rmtree(replica)  # or a disk not mounted: an empty mount point
    refused = officer.json("repair", package_id, expect=1)["results"][0]
    [copy] = [c for c in refused["copies"] if c["location"] == f"file://{replica}"]
    assert "is gone (a disk not mounted?)" in copy["detail"] and "create it" in copy["detail"]
    assert not replica.exists()
    replica.mkdir()
    officer.run("repair", package_id)
    assert (replica / commit_record_key(package_id, 1)).exists()
    officer.run("verify", package_id)


def test_a_lost_commit_record_is_not_written_back_beside_a_copy_known_damaged(
        stored: tuple[Officer, str]) -> None:
    # Before: reconcile (every object listed) and a shallow check (every object
    # present, at its size) wrote it beside a copy whose last deep check failed.
    officer, package_id = stored
    flip(officer.root / "data/objects" / package_id / "v1" / PAGE)
    officer.run("verify", package_id, expect=1)
    record = officer.root / "data/objects" / commit_record_key(package_id, 1)
    record.unlink()
    reconciled = officer.json("fixity", "reconcile", expect=None)
    assert not record.exists(), reconciled
    officer.run("verify", "--shallow", package_id, expect=1)
    assert not record.exists()
    officer.run("repair", package_id)  # the copy mended, its record comes with it
    assert record.exists()
